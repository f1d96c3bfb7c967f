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
  w.total = std::max(w.total, w.pending);
  auto generation = ++generations_;
  waiters_[id] = entry{w, generation};
  for (auto dep : deps)
    waited_for_.emplace(dep, std::make_pair(id, generation));
}

const flow_table::waiter* flow_table::find(job_id id) const {
  auto i = waiters_.find(id);
  return i == waiters_.end() ? nullptr : &i->second.w;
}

std::vector<flow_table::touched> flow_table::ended(job_id id, job_status status) {
  std::vector<touched> out;
  auto range = waited_for_.equal_range(id);
  for (auto i = range.first; i != range.second; ++i) {
    auto [waiting, generation] = i->second;
    auto e = waiters_.find(waiting);
    if (e == waiters_.end() || e->second.generation != generation)
      continue; // forgotten, or waiting anew
    auto& w = e->second.w;
    w.note(id, status);
    const bool freed = --w.pending == 0;
    out.push_back(touched{waiting, w, freed});
    if (freed)
      waiters_.erase(e);
  }
  waited_for_.erase(range.first, range.second);
  return out;
}

void flow_table::forget(job_id id) {
  waiters_.erase(id);
}

} // namespace jobrt
