#pragma once

/// The job status state machine: the statuses, who moves a job out of each, and
/// the one table of allowed transitions. Every status change in jobrt goes
/// through `check_transition`; anything not in the table is refused.
///
///   queued  ─► running ─► completed
///     │  ▲        │ ├───► failed ──(manual retry)──► queued
///     │  │        │ ├───► waiting ──(timer)──► queued   (rate limit, retry backoff, delay)
///     │  └resume──┤ └───► cancelled
///     ▼           ▼
///   paused ◄──────┘  (pause from queued, running or waiting; resume goes back to queued)

#include <array>
#include <iosfwd>
#include <cstdint>
#include <optional>
#include <string_view>

#include "jobrt/error.hpp"

namespace jobrt {

enum class job_status : std::uint8_t {
  /// Durable and waiting for a concurrency slot. The scheduler starts it.
  queued = 0,
  /// A job actor is executing it. The job itself moves it on (complete, fail,
  /// rate limit) or the user does (pause, cancel).
  running = 1,
  /// Stopped taking work until resumed; holds no concurrency slot. Only the user
  /// (resume, cancel) moves it on.
  paused = 2,
  /// Waiting for a timer: a rate limit, a retry backoff or a delayed start.
  /// The timer (or the user) moves it on.
  waiting = 3,
  /// Terminal: finished with an output.
  completed = 4,
  /// Terminal until retried by hand: finished with an error.
  failed = 5,
  /// Terminal: stopped by the user.
  cancelled = 6,
};

inline constexpr std::array<job_status, 7> all_statuses{
  job_status::queued,    job_status::running, job_status::paused,
  job_status::waiting,   job_status::completed, job_status::failed,
  job_status::cancelled,
};

/// Why a job changes status; each transition in the table is named by one.
enum class job_event_kind : std::uint8_t {
  start,    ///< queued -> running: the scheduler gave it a slot
  complete, ///< running -> completed
  fail,     ///< running|queued|waiting -> failed (error, timeout, force-fail)
  wait,     ///< running|queued -> waiting (rate limit, backoff, delayed start)
  wake,     ///< waiting -> queued (its timer fired)
  pause,    ///< queued|running|waiting -> paused
  resume,   ///< paused -> queued
  cancel,   ///< queued|running|waiting|paused -> cancelled
  retry,    ///< failed -> queued (manual retry)
  requeue,  ///< running -> queued (recovery after a crash or shutdown)
};

struct transition {
  job_status from;
  job_status to;
  job_event_kind event;
};

/// The one table of allowed transitions.
inline constexpr std::array<transition, 18> transitions{{
  {job_status::queued, job_status::running, job_event_kind::start},
  {job_status::queued, job_status::paused, job_event_kind::pause},
  {job_status::queued, job_status::cancelled, job_event_kind::cancel},
  {job_status::queued, job_status::waiting, job_event_kind::wait},
  {job_status::queued, job_status::failed, job_event_kind::fail},
  {job_status::running, job_status::completed, job_event_kind::complete},
  {job_status::running, job_status::failed, job_event_kind::fail},
  {job_status::running, job_status::waiting, job_event_kind::wait},
  {job_status::running, job_status::cancelled, job_event_kind::cancel},
  {job_status::running, job_status::paused, job_event_kind::pause},
  {job_status::running, job_status::queued, job_event_kind::requeue},
  {job_status::waiting, job_status::queued, job_event_kind::wake},
  {job_status::waiting, job_status::paused, job_event_kind::pause},
  {job_status::waiting, job_status::cancelled, job_event_kind::cancel},
  {job_status::waiting, job_status::failed, job_event_kind::fail},
  {job_status::paused, job_status::queued, job_event_kind::resume},
  {job_status::paused, job_status::cancelled, job_event_kind::cancel},
  {job_status::failed, job_status::queued, job_event_kind::retry},
}};

/// True if `from -> to` is in the table.
constexpr bool can_transition(job_status from, job_status to) noexcept {
  for (const auto& t : transitions)
    if (t.from == from && t.to == to)
      return true;
  return false;
}

/// Succeeds if `from -> to` is allowed; otherwise an `illegal_transition` error
/// that names both statuses, e.g. "cannot pause a completed job".
result<void> check_transition(job_status from, job_status to);

/// True for completed, failed and cancelled.
constexpr bool is_finished(job_status s) noexcept {
  return s == job_status::completed || s == job_status::failed
         || s == job_status::cancelled;
}

const char* to_string(job_status s) noexcept;
const char* to_string(job_event_kind e) noexcept;
std::optional<job_status> parse_status(std::string_view name) noexcept;

std::ostream& operator<<(std::ostream& out, job_status s);

} // namespace jobrt
