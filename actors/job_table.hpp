#pragma once

/// The scheduler's table of unfinished jobs: one small entry per job, the
/// queue of those ready to start, and how many jobs have each status.
///
/// A plain class, no actor: the scheduler owns one, and its tests drive it
/// directly. Every change of an entry's status goes through `move`, checked
/// against the state machine table (the record's moves are checked the same
/// way, in actors/lifecycle.hpp), so the per-status counts stay exact.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/actor.hpp"

#include "jobrt/record.hpp"
#include "jobrt/status.hpp"

#include "actors/protocol.hpp"
#include "actors/ready_queue.hpp"
#include "actors/shared_record.hpp"

namespace jobrt {

/// What the scheduler keeps per unfinished job. Small on purpose: a million
/// queued jobs are a million of these, not a million actors.
struct job_entry {
  job_id id = 0;
  std::uint16_t type = 0; ///< index into start_limits' types
  std::int32_t priority = 0;
  job_status status = job_status::queued; ///< changed only by job_table::move
  std::uint64_t timer_generation = 0; ///< a wake with another generation is stale
  std::uint64_t run = 0;              ///< counts starts; a timeout of another run is stale
  std::string owner;
  std::vector<std::string> limit_keys; ///< one per limit of its type, in the same order
  caf::actor actor;                   ///< while running, or paused with its actor kept
  std::uint64_t node = 0; ///< the worker node its actor stands in for (0: this process)
  /// The full record: while the job has an actor; and, for a bounded number of
  /// jobs, from submit to their first start, so that starting them needs no read.
  shared_record record;
  bool holds_slot = false; ///< counted against the limits (start_limits::take)
  bool in_queue = false;   ///< in the table's ready queue (set and cleared only there)
  std::vector<proto::reply<void>> pause_waiters;
  std::vector<proto::reply<void>> cancel_waiters;
  std::vector<proto::reply<job_record>> finish_waiters; ///< callers of `runtime::wait`
  /// The seq of the job's last signal; 0 until the first signal sent to it in
  /// this process (then read from the store).
  std::uint64_t last_signal = 0;
  /// Whether the store may hold signals for it: starting it then reads them.
  bool may_have_signals = false;
  /// Set once it waits for a signal (its `waiting` record may not be durable
  /// yet); cleared when it leaves `waiting`.
  bool waits_for_signal = false;
};

class job_table {
public:
  using map_type = std::unordered_map<job_id, job_entry>;

  /// The entry of `id`, or null if the job is finished or unknown.
  job_entry* find(job_id id);
  const job_entry* find(job_id id) const;

  /// Takes a new entry (not queued), counted under its status.
  job_entry& add(job_entry e);

  /// Drops a job (out of the queue, uncounted). Nothing happens for an unknown id.
  void forget(job_id id);

  /// Moves `e` along the edge `kind`, if the table allows it from its status.
  result<void> move(job_entry& e, job_event_kind kind);

  /// Into the ready queue (once), and out of it.
  void enqueue(job_entry& e);
  void dequeue(job_entry& e);

  /// The first queued job that `wanted(entry)` accepts, in start order: highest
  /// priority first, then oldest. With `oldest_first`, the oldest queued job
  /// that `wanted` accepts, whatever its priority. 0 if none.
  template <class Wanted>
  job_id find_ready(const Wanted& wanted, bool oldest_first) {
    auto is_queued = [this](job_id id) {
      auto i = jobs_.find(id);
      return i != jobs_.end() && i->second.in_queue;
    };
    auto accepts = [&](job_id id) { return wanted(jobs_.at(id)); };
    return oldest_first ? queue_.find_oldest(is_queued, accepts)
                        : queue_.find(is_queued, accepts);
  }

  std::size_t queued() const { return queue_.size(); }
  std::size_t size() const { return jobs_.size(); }
  std::uint64_t count(job_status s) const { return by_status_[static_cast<std::size_t>(s)]; }

  map_type::iterator begin() { return jobs_.begin(); }
  map_type::iterator end() { return jobs_.end(); }
  map_type::const_iterator begin() const { return jobs_.begin(); }
  map_type::const_iterator end() const { return jobs_.end(); }

private:
  map_type jobs_;
  ready_queue queue_;
  std::array<std::uint64_t, all_statuses.size()> by_status_{};
};

} // namespace jobrt
