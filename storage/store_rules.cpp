/// What both stores share: the list filter, record summaries, committing a
/// batch in segments, the checks every batch passes before it is written, and
/// the refusal of a write whose expected status does not match.

#include <algorithm>
#include <string>

#include "jobrt/fields.hpp" // has_non_finite
#include "storage/codec.hpp"
#include "storage/job_store.hpp"
#include "storage/store_errors.hpp"

namespace jobrt::storage {

bool matches(const list_query& q, const job_summary& s) {
  if (!q.statuses.empty()
      && std::find(q.statuses.begin(), q.statuses.end(), s.status) == q.statuses.end())
    return false;
  return (q.type.empty() || q.type == s.type) && (q.owner.empty() || q.owner == s.owner);
}

job_summary summary_of(const job_record& r) {
  return job_summary{r.id, r.status, r.priority, r.wake_at, r.finished_at, r.type, r.owner};
}

std::vector<result<void>> commit_segments(job_store& store, const write_batch& batch,
                                          const std::vector<std::size_t>& ends) {
  auto r = batch.empty() ? result<void>{} : store.commit(batch);
  if (r || ends.size() <= 1)
    return std::vector<result<void>>(ends.size(), r);
  std::vector<result<void>> out;
  out.reserve(ends.size());
  std::size_t begin = 0;
  for (auto end : ends) {
    out.push_back(store.commit(batch.slice(begin, end)));
    begin = end;
  }
  return out;
}

result<void> check_batch(const write_batch& batch) {
  using op = write_batch::op;
  for (const auto& o : batch.ops()) {
    bool keyed = o.what == op::kind::put_unique || o.what == op::kind::erase_unique;
    if (o.what == op::kind::put_setting
        && (o.key.empty() || o.key.size() + setting_prefix.size() > codec::max_key_size))
      return error{errc::invalid_argument, "setting name must be 1 to 500 bytes long"};
    if (keyed && (o.key.size() <= o.key_scope || o.key.size() > codec::max_key_size)) {
      auto most = codec::max_key_size - std::min(o.key_scope, codec::max_key_size);
      return error{errc::invalid_argument,
                   "idempotency key must be 1 to " + std::to_string(most)
                     + " bytes long (the owner's name counts against the limit of "
                     + std::to_string(codec::max_key_size) + "; got "
                     + std::to_string(o.key.size() - o.key_scope) + ")"};
    }
    if (o.what == op::kind::put_record)
      if (auto r = codec::check_record(*o.record); !r)
        return r;
    if (o.what == op::kind::put_checkpoint)
      if (auto r = codec::check_checkpoint(*o.cp); !r)
        return r;
    bool scheduled = o.what == op::kind::put_schedule || o.what == op::kind::erase_schedule;
    if (scheduled && (o.key.empty() || o.key.size() > max_schedule_name))
      return error{errc::invalid_argument, "a schedule's name must be 1 to "
                                             + std::to_string(max_schedule_name)
                                             + " bytes long (got " + std::to_string(o.key.size())
                                             + ")"};
    if (o.what == op::kind::put_schedule && has_non_finite(o.schedule->params))
      return error{errc::invalid_argument,
                   "a schedule's parameters hold a number that is not finite"};
    if (o.what == op::kind::put_signal && has_non_finite(o.signal->payload))
      return error{errc::invalid_argument,
                   "a signal's payload holds a number that is not finite (JSON cannot store it)"};
  }
  return {};
}

error status_mismatch(job_id id, job_status expected, std::optional<job_status> found) {
  return error{errc::illegal_transition,
               "job " + std::to_string(id) + ": the store holds "
                 + (found ? std::string{"a "} + to_string(*found) + " record" : "no record")
                 + " where this write expected a " + to_string(expected)
                 + " one; the write is refused"};
}

} // namespace jobrt::storage
