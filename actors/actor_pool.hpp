#pragma once

/// The job actors a scheduler has alive: which job each runs, and the idle ones
/// kept for later jobs (spawning and tearing down an actor per job is what a
/// no-op job would otherwise cost most). A plain class, no actor.

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <unordered_map>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"

#include "jobrt/record.hpp"

namespace jobrt {

class actor_pool {
public:
  /// Records that actor `a` runs job `id`.
  void assign(const caf::actor& a, job_id id) { by_actor_[a.address()] = id; }

  /// The job actor `a` runs: 0 while it is idle; none if it is not ours.
  std::optional<job_id> job_of(const caf::actor_addr& a) const {
    auto i = by_actor_.find(a);
    if (i == by_actor_.end())
      return std::nullopt;
    return i->second;
  }

  /// Forgets actor `a` (it is gone, or told to go), idle or not.
  void forget(const caf::actor_addr& a) {
    if (by_actor_.erase(a) == 0)
      return;
    for (auto& idle : idle_)
      idle.erase(std::remove_if(idle.begin(), idle.end(),
                                [&](const caf::actor& x) { return x.address() == a; }),
                 idle.end());
  }

  /// Keeps `a` idle for a later job of its kind (blocking types have actors with
  /// a thread of their own); false if `max` of that kind are kept already.
  bool keep_idle(caf::actor& a, bool blocking, std::size_t max) {
    auto& idle = idle_[blocking ? 1 : 0];
    if (idle.size() >= max)
      return false;
    by_actor_[a.address()] = 0;
    idle.push_back(std::move(a));
    a = nullptr;
    return true;
  }

  /// Notes that actor `a` is idle, kept elsewhere (a worker node's stand-in).
  void mark_idle(const caf::actor_addr& a) { by_actor_[a] = 0; }

  /// An idle actor of the kind, now assigned to job `id`; null if none.
  caf::actor take_idle(bool blocking, job_id id) {
    auto& idle = idle_[blocking ? 1 : 0];
    if (idle.empty())
      return nullptr;
    auto a = std::move(idle.back());
    idle.pop_back();
    by_actor_[a.address()] = id;
    return a;
  }

  /// Calls `f(actor)` for each idle actor.
  template <class F>
  void for_each_idle(F f) const {
    for (const auto& idle : idle_)
      for (const auto& a : idle)
        f(a);
  }

private:
  std::unordered_map<caf::actor_addr, job_id> by_actor_;
  /// Idle actors of non-blocking [0] and blocking [1] types.
  std::array<std::vector<caf::actor>, 2> idle_;
};

} // namespace jobrt
