#pragma once

/// Deleting finished jobs: which ones (retention's sweep, `runtime::clear`) and
/// the writes that delete each (record, checkpoint, signals, idempotency key).
///
/// Plain functions of the store, no actor: the scheduler sends the writes, and
/// the tests check the plans of stores they wrote by hand.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "jobrt/record.hpp"

#include "storage/job_store.hpp"

namespace jobrt {

/// How long finished jobs of each status are kept; 0 or absent: for ever.
using retention_periods = std::map<job_status, std::chrono::milliseconds>;

struct erase_plan {
  std::vector<job_id> ids;     ///< in the order the store listed them
  storage::write_batch writes; ///< deletes every job of `ids`
  std::string problem;         ///< set if the store could not be listed
};

/// Finished jobs for which `wanted(summary)` holds, at most `limit`, leaving out
/// those for which `busy(id)` holds (already being deleted, say).
erase_plan plan_erase(const storage::job_store& store,
                      const std::function<bool(const storage::job_summary&)>& wanted,
                      const std::function<bool(job_id)>& busy, std::size_t limit);

/// Whether a finished job is past its status's retention period at `now`.
bool past_retention(const retention_periods& periods, const storage::job_summary& s, millis now);

/// Adds the deletion of finished job `id` to `batch`: its record, checkpoint and
/// signals, and its idempotency key if it has one.
void add_erase(const storage::job_store& store, storage::write_batch& batch, job_id id);

} // namespace jobrt
