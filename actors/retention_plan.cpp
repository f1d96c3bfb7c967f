#include "actors/retention_plan.hpp"

#include "jobrt/clock.hpp"

namespace jobrt {

erase_plan plan_erase(const storage::job_store& store,
                      const std::function<bool(const storage::job_summary&)>& wanted,
                      const std::function<bool(job_id)>& busy, std::size_t limit) {
  erase_plan plan;
  auto r = store.for_each_finished([&](const storage::job_summary& s) {
    if (plan.ids.size() < limit && !busy(s.id) && wanted(s))
      plan.ids.push_back(s.id);
  });
  if (!r)
    plan.problem = "cannot list finished jobs: " + r.error().message;
  for (auto id : plan.ids)
    add_erase(store, plan.writes, id);
  return plan;
}

bool past_retention(const retention_periods& periods, const storage::job_summary& s,
                    millis now) {
  auto r = periods.find(s.status);
  return r != periods.end() && r->second.count() > 0
         && saturating_add(s.finished_at, r->second.count()) <= now;
}

void add_erase(const storage::job_store& store, storage::write_batch& batch, job_id id) {
  batch.erase_job(id);
  if (auto rec = store.get(id); rec && !rec->idempotency_key.empty())
    batch.erase_unique_key(rec->owner, rec->idempotency_key);
}

} // namespace jobrt
