#pragma once

/// The jobs that wait for other jobs to finish: a job submitted `after` others
/// (`submit_options::after`), and a parent waiting for its children
/// (`context::wait_for_children`). For each, how many of those jobs are
/// unfinished, and whether one failed or was cancelled.
///
/// A plain class, no actor: the scheduler owns one (actors/scheduler_flows.cpp
/// moves the jobs), and its tests drive it directly. What a waiting job waits
/// for is durable in its record (`after`) or checkpoint (`children`); this
/// table is rebuilt from them at recovery.

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "jobrt/record.hpp"
#include "jobrt/status.hpp"

namespace jobrt {

class flow_table {
public:
  struct waiter {
    std::size_t pending = 0; ///< unfinished jobs it waits for
    std::size_t total = 0;   ///< jobs it waits for, finished ones included
    job_id failed = 0;       ///< one of them that failed; 0 = none
    job_id cancelled = 0;    ///< one of them that was cancelled; 0 = none
    bool children = false;   ///< a parent waiting for its children (else: `after`)
    /// Notes how one of the jobs it waits for ended.
    void note(job_id id, job_status ended) {
      if (ended == job_status::failed && failed == 0)
        failed = id;
      if (ended == job_status::cancelled && cancelled == 0)
        cancelled = id;
    }
  };

  /// `id` waits for the jobs `unfinished` (duplicates count once); `w` holds
  /// what the finished ones it waits for ended as (and `w.total`, if set, how
  /// many it waits for in all). Nothing is kept when `unfinished` is empty:
  /// the job need not wait.
  void wait(job_id id, waiter w, const std::vector<job_id>& unfinished);
  /// The job's entry while it waits for an unfinished job; else null.
  const waiter* find(job_id id) const;
  struct touched {
    job_id id = 0; ///< a job that waited for the one that ended
    waiter w;      ///< what it learnt, and how many it still waits for
    bool freed = false; ///< it waits for nothing now, and has left the table
  };
  /// Job `id` ended as `status`: the jobs that waited for it.
  std::vector<touched> ended(job_id id, job_status status);
  /// Drops a waiting job (it was cancelled or failed while waiting).
  void forget(job_id id);
  std::size_t size() const { return waiters_.size(); }

private:
  struct entry {
    waiter w;
    std::uint64_t generation = 0;
  };
  std::unordered_map<job_id, entry> waiters_;
  /// job -> (a job waiting for it, the generation of that wait); entries of a
  /// wait that was forgotten or made again are skipped.
  std::unordered_multimap<job_id, std::pair<job_id, std::uint64_t>> waited_for_;
  std::uint64_t generations_ = 0;
};

} // namespace jobrt
