#pragma once

/// What a start makes of the jobs a store holds: recovery's plan, read from the
/// store and not yet applied. Running jobs (a crash or shutdown cut their run
/// short) go back to the queue and resume from their checkpoint; queued jobs
/// keep their order; waiting jobs get their timers back (a job that waits for a
/// signal with one stored for it wakes at once); paused jobs and paused types
/// stay paused; corrupt records are quarantined.
///
/// A plain function of the store, no actor: the scheduler applies the plan to
/// its table, and the tests check plans of stores they wrote by hand.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jobrt/record.hpp"

#include "storage/job_store.hpp"

namespace jobrt {

struct recovery_plan {
  job_id last_id = 0; ///< the highest id ever given
  /// The unfinished jobs that were running: they move along the `requeue` edge
  /// (their records in `fixes`), back to the queue.
  std::vector<job_id> interrupted;
  /// Waiting jobs that wake at once: they wait for a signal that is stored.
  std::vector<job_id> wake_now;
  /// The writes that make the store agree: requeued records, quarantines.
  storage::write_batch fixes;
  std::uint64_t quarantined = 0;
  /// Job types that were paused (`runtime::pause_type`) when the store closed.
  std::vector<std::string> paused_types;
  /// What could not be read, one line each, for the log.
  std::vector<std::string> problems;
};

/// The name under which the paused types are stored (a setting).
inline constexpr const char* paused_types_setting = "paused_types";

/// Reads the store and plans its recovery; writes nothing. `each_job` sees every
/// unfinished job as stored (a million of them are not copied into the plan).
recovery_plan plan_recovery(const storage::job_store& store,
                            const std::function<void(const storage::job_summary&)>& each_job);

/// The setting's value for a list of paused type names (a JSON array).
std::string encode_paused_types(const std::vector<std::string>& names);

} // namespace jobrt
