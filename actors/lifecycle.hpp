#pragma once

/// Named, guarded transitions of a job's record: the only code that writes
/// `job_record::status`. Each function moves the record along one edge of
/// `jobrt::transitions` (runtime/jobrt/status.hpp) and sets the fields that go
/// with that edge; a move the table does not allow is refused with
/// `illegal_transition` and leaves the record as it was.
///
/// Plain functions on a record, no actor: the scheduler calls them for every
/// status change it makes, recovery for the jobs it requeues, and the tests
/// call them directly.

#include <limits>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "jobrt/record.hpp"
#include "jobrt/status.hpp"

namespace jobrt::lifecycle {

/// Why a job waits; stored in `job_record::waiting_for`.
enum class wait_reason : std::uint8_t {
  rate_limit, ///< the job asked to wait (`ctx.rate_limited`)
  retry,      ///< backoff after a transient error
  scheduled,  ///< a delayed start (`submit_options::run_at`)
  signal,     ///< the job waits for a signal (`ctx.wait_for_signal`), or its timeout
  dependencies, ///< for the jobs it was submitted after (`submit_options::after`)
  children,     ///< for its children to finish (`ctx.wait_for_children`)
};

/// The `wake_at` of a job that waits for other jobs, not for a time.
inline constexpr millis no_wake = std::numeric_limits<millis>::max();

/// The text stored for `reason` ("rate_limit", "retry", "scheduled", "signal").
const char* to_string(wait_reason reason) noexcept;

/// Whether `r` waits for `reason` (its `waiting_for` says so).
bool waits_for(const job_record& r, wait_reason reason) noexcept;

/// The status edge `kind` leads to (start: running, wake: queued, ...).
job_status target_of(job_event_kind kind) noexcept;

/// Succeeds if the table has the edge `from -> target_of(kind)` named `kind`.
result<void> check(job_status from, job_event_kind kind);

/// queued -> running: a new attempt starts now.
result<void> start(job_record& r, millis now);
/// queued -> running: a run that paused with its actor goes on (no new attempt).
result<void> resume_run(job_record& r);
/// running -> completed, with the job's output; progress ends at 100 %.
result<void> complete(job_record& r, boost::json::value output, millis now);
/// running|queued|waiting -> failed, with the reason.
result<void> fail(job_record& r, std::string error, millis now);
/// running|queued -> waiting until `wake_at`.
result<void> wait(job_record& r, millis wake_at, wait_reason reason);
/// waiting -> queued: its timer fired.
result<void> wake(job_record& r);
/// queued|running|waiting -> paused.
result<void> pause(job_record& r);
/// paused -> queued; what it waited for before the pause is forgotten.
result<void> resume(job_record& r);
/// queued|running|waiting|paused -> cancelled.
result<void> cancel(job_record& r, millis now);
/// failed -> queued, with at least one more run allowed.
result<void> retry(job_record& r);
/// running -> queued: recovery of a run that a crash or shutdown cut short.
result<void> requeue(job_record& r);

} // namespace jobrt::lifecycle
