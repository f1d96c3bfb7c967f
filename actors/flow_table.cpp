#include "actors/flow_table.hpp"

#include <algorithm>

namespace jobrt {

void flow_table::wait(job_id id, waiter w, const std::vector<job_id>& unfinished) {
  auto deps = unfinished;
  std::sort(deps.begin(), deps.end());
  deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
  forget(id);
  if (deps.empty())
    return;
  w.pending = deps.size();
  auto generation = ++generations_;
  waiters_[id] = entry{w, generation};
  for (auto dep : deps)
    waited_for_.emplace(dep, std::make_pair(id, generation));
}

const flow_table::waiter* flow_table::find(job_id id) const {
  auto i = waiters_.find(id);
  return i == waiters_.end() ? nullptr : &i->second.w;
}

std::vector<std::pair<job_id, flow_table::waiter>> flow_table::ended(job_id id,
                                                                     job_status status) {
  std::vector<std::pair<job_id, waiter>> freed;
  auto range = waited_for_.equal_range(id);
  for (auto i = range.first; i != range.second; ++i) {
    auto [waiting, generation] = i->second;
    auto e = waiters_.find(waiting);
    if (e == waiters_.end() || e->second.generation != generation)
      continue; // forgotten, or waiting anew
    auto& w = e->second.w;
    w.note(id, status);
    if (--w.pending == 0) {
      freed.emplace_back(waiting, w);
      waiters_.erase(e);
    }
  }
  waited_for_.erase(range.first, range.second);
  return freed;
}

void flow_table::forget(job_id id) {
  waiters_.erase(id);
}

} // namespace jobrt
