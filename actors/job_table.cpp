#include "actors/job_table.hpp"

#include "actors/lifecycle.hpp"

namespace jobrt {

job_entry* job_table::find(job_id id) {
  auto i = jobs_.find(id);
  return i == jobs_.end() ? nullptr : &i->second;
}

const job_entry* job_table::find(job_id id) const {
  auto i = jobs_.find(id);
  return i == jobs_.end() ? nullptr : &i->second;
}

job_entry& job_table::add(job_entry e) {
  forget(e.id); // ids are added once; should one come again, the counts stay right
  e.in_queue = false; // only `enqueue` sets it
  ++by_status_[static_cast<std::size_t>(e.status)];
  auto id = e.id;
  return jobs_.emplace(id, std::move(e)).first->second;
}

void job_table::forget(job_id id) {
  auto i = jobs_.find(id);
  if (i == jobs_.end())
    return;
  dequeue(i->second);
  --by_status_[static_cast<std::size_t>(i->second.status)];
  jobs_.erase(i);
}

result<void> job_table::move(job_entry& e, job_event_kind kind) {
  if (auto ok = lifecycle::check(e.status, kind); !ok)
    return ok;
  auto to = lifecycle::target_of(kind);
  --by_status_[static_cast<std::size_t>(e.status)];
  ++by_status_[static_cast<std::size_t>(to)];
  e.status = to;
  return {};
}

void job_table::enqueue(job_entry& e) {
  if (!e.in_queue) {
    e.in_queue = true;
    queue_.push(e.id, e.priority);
  }
}

void job_table::dequeue(job_entry& e) {
  if (e.in_queue) {
    e.in_queue = false;
    queue_.erase(e.id, e.priority);
  }
}

} // namespace jobrt
