#pragma once

/// The scheduler's queue of jobs ready to start, in start order: highest
/// priority first, then oldest (lowest id) first.
///
/// Built for millions of queued jobs: a job costs 8 bytes here, not a tree node.
/// New jobs arrive in id order, so each priority level keeps them in a plain
/// deque; the rare job queued out of order (resumed, retried, woken from a
/// wait) goes to a small ordered set beside it. Removal is lazy: the queue does
/// not look ids up. The scheduler says which ids are still queued (`is_queued`),
/// and stale ids are dropped as visits meet them or by an occasional rebuild.
///
/// Contract with the owner: `push` when a job becomes queued, `erase` when it
/// stops being queued (once each), and `is_queued(id)` true exactly between the two.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "jobrt/record.hpp"

namespace jobrt {

class ready_queue {
public:
  void push(job_id id, std::int32_t priority) {
    auto& l = levels_[priority];
    if (l.in_order.empty() || id > l.in_order.back())
      l.in_order.push_back(id);
    else
      l.late.insert(id);
    ++live_;
    ++items_;
  }

  void erase(job_id id, std::int32_t priority) {
    --live_;
    auto l = levels_.find(priority);
    if (l != levels_.end() && l->second.late.erase(id) > 0)
      --items_;
    // else it sits in `in_order`, and goes when a visit or a rebuild meets it
  }

  std::size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  /// Ids held, stale ones included: at most 2 * size() + 1024 after any find.
  std::size_t held() const { return items_; }

  /// The first queued job, in start order, that `wanted` accepts; 0 if none.
  template <class IsQueued, class Wanted>
  job_id find(const IsQueued& is_queued, const Wanted& wanted) {
    compact_if_mostly_stale(is_queued);
    for (auto i = levels_.begin(); i != levels_.end();) {
      if (auto id = i->second.find(is_queued, wanted, items_))
        return id;
      i = i->second.empty() ? levels_.erase(i) : std::next(i);
    }
    return 0;
  }

  /// The oldest queued job of any priority that `wanted` accepts; 0 if none.
  template <class IsQueued, class Wanted>
  job_id find_oldest(const IsQueued& is_queued, const Wanted& wanted) {
    compact_if_mostly_stale(is_queued);
    job_id oldest = 0;
    for (auto& [priority, l] : levels_) // a level can only add ids older than the best so far
      if (auto id = l.find(is_queued, wanted, items_, oldest == 0 ? no_bound : oldest))
        oldest = id;
    return oldest;
  }

private:
  static constexpr job_id no_bound = ~job_id{0};

  struct level {
    std::deque<job_id> in_order; ///< ascending; may hold stale ids
    std::set<job_id> late;       ///< queued out of order; may hold stale ids

    bool empty() const { return in_order.empty() && late.empty(); }

    /// Walks both in id order (a merge) up to `below`, dropping stale ids it can drop.
    template <class IsQueued, class Wanted>
    job_id find(const IsQueued& is_queued, const Wanted& wanted, std::size_t& items,
                job_id below = no_bound) {
      while (!in_order.empty() && !is_queued(in_order.front())) {
        in_order.pop_front();
        --items;
      }
      auto a = in_order.begin();
      auto b = late.begin();
      while (a != in_order.end() || b != late.end()) {
        bool take_late = a == in_order.end() || (b != late.end() && *b < *a);
        if ((take_late ? *b : *a) >= below)
          return 0;
        if (take_late) {
          auto id = *b;
          if (!is_queued(id)) {
            b = late.erase(b);
            --items;
            continue;
          }
          if (wanted(id))
            return id;
          ++b;
        } else {
          auto id = *a++;
          if (is_queued(id) && wanted(id))
            return id;
        }
      }
      return 0;
    }
  };

  /// Rebuilds every level from its queued ids once stale ids outnumber them, so
  /// memory stays proportional to the queue (amortized O(1) per operation).
  template <class IsQueued>
  void compact_if_mostly_stale(const IsQueued& is_queued) {
    if (items_ <= 2 * live_ + 1024)
      return;
    items_ = 0;
    for (auto i = levels_.begin(); i != levels_.end();) {
      auto& l = i->second;
      std::vector<job_id> ids;
      for (auto id : l.in_order)
        if (is_queued(id))
          ids.push_back(id);
      for (auto id : l.late)
        if (is_queued(id))
          ids.push_back(id);
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      l.in_order.assign(ids.begin(), ids.end());
      l.late.clear();
      items_ += ids.size();
      i = l.empty() ? levels_.erase(i) : std::next(i);
    }
  }

  std::map<std::int32_t, level, std::greater<>> levels_; ///< highest priority first
  std::size_t live_ = 0;  ///< queued jobs
  std::size_t items_ = 0; ///< ids held, stale ones included
};

} // namespace jobrt
