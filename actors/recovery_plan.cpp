#include "actors/recovery_plan.hpp"

#include <unordered_set>

#include <boost/json.hpp>

#include "actors/lifecycle.hpp"

namespace jobrt {

namespace {

std::vector<std::string> decode_paused_types(const std::string& value) {
  std::vector<std::string> names;
  boost::json::error_code ec;
  auto parsed = boost::json::parse(value, ec);
  if (ec || !parsed.is_array())
    return names;
  for (const auto& n : parsed.get_array())
    if (n.is_string())
      names.emplace_back(n.get_string());
  return names;
}

} // namespace

recovery_plan plan_recovery(const storage::job_store& store,
                            const std::function<void(const storage::job_summary&)>& each_job) {
  recovery_plan plan;
  plan.last_id = store.last_id();
  std::unordered_set<job_id> waiting;
  auto r = store.for_each_unfinished(
    [&](const storage::job_summary& s) {
      each_job(s);
      if (s.status == job_status::running)
        plan.interrupted.push_back(s.id);
      else if (s.status == job_status::waiting)
        waiting.insert(s.id);
    },
    [&](job_id id, const std::string& reason) {
      plan.problems.push_back("job " + std::to_string(id) + " quarantined: " + reason);
      plan.fixes.quarantine(id, reason);
      ++plan.quarantined;
    });
  if (!r)
    plan.problems.push_back("recovery could not read the store: " + r.error().message);
  // A run that was cut short goes back to the queue; it resumes from its last
  // checkpoint when it starts again.
  for (auto id : plan.interrupted) {
    auto rec = store.get(id);
    if (!rec || !lifecycle::requeue(*rec))
      continue;
    plan.fixes.put_record(*rec, job_status::running);
  }
  // A job that waits for a signal with one stored for it (the process ended
  // between the signal's commit and the wake's) wakes at once.
  if (auto signalled = store.jobs_with_signals()) {
    for (auto id : *signalled) {
      if (waiting.count(id) == 0)
        continue;
      if (auto rec = store.get(id); rec && lifecycle::waits_for(*rec, lifecycle::wait_reason::signal))
        plan.wake_now.push_back(id);
    }
  } else {
    plan.problems.push_back("recovery could not read the stored signals: "
                            + signalled.error().message);
  }
  if (auto saved = store.get_setting(paused_types_setting); saved && *saved)
    plan.paused_types = decode_paused_types(**saved);
  return plan;
}

std::string encode_paused_types(const std::vector<std::string>& names) {
  boost::json::array out;
  for (const auto& n : names)
    out.emplace_back(n);
  return boost::json::serialize(out);
}

} // namespace jobrt
