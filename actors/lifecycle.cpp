#include "actors/lifecycle.hpp"

#include <algorithm>

namespace jobrt::lifecycle {

namespace {

/// Moves `r` along the edge `kind` if the table allows it from `r.status`.
result<void> move(job_record& r, job_event_kind kind) {
  if (auto ok = check(r.status, kind); !ok)
    return ok;
  r.status = target_of(kind);
  return {};
}

} // namespace

const char* to_string(wait_reason reason) noexcept {
  switch (reason) {
    case wait_reason::rate_limit:
      return "rate_limit";
    case wait_reason::retry:
      return "retry";
    case wait_reason::scheduled:
      return "scheduled";
    case wait_reason::signal:
      return "signal";
    case wait_reason::dependencies:
      return "dependencies";
    case wait_reason::children:
      return "children";
  }
  return "unknown";
}

bool waits_for(const job_record& r, wait_reason reason) noexcept {
  return r.status == job_status::waiting && r.waiting_for == to_string(reason);
}

job_status target_of(job_event_kind kind) noexcept {
  switch (kind) {
    case job_event_kind::start:
      return job_status::running;
    case job_event_kind::complete:
      return job_status::completed;
    case job_event_kind::fail:
      return job_status::failed;
    case job_event_kind::wait:
      return job_status::waiting;
    case job_event_kind::pause:
      return job_status::paused;
    case job_event_kind::cancel:
      return job_status::cancelled;
    case job_event_kind::wake:
    case job_event_kind::resume:
    case job_event_kind::retry:
    case job_event_kind::requeue:
      return job_status::queued;
  }
  return job_status::queued;
}

result<void> check(job_status from, job_event_kind kind) {
  auto to = target_of(kind);
  bool named = std::any_of(transitions.begin(), transitions.end(), [&](const transition& t) {
    return t.from == from && t.to == to && t.event == kind;
  });
  if (named)
    return {};
  if (auto ok = check_transition(from, to); !ok)
    return ok;
  // The edge exists, under another name: a bug in the caller, not in the input.
  return error{errc::illegal_transition, std::string{"cannot "} + jobrt::to_string(kind) + " a "
                                           + jobrt::to_string(from) + " job (" + jobrt::to_string(from)
                                           + " -> " + jobrt::to_string(to) + " is a "
                                           + "different transition)"};
}

result<void> start(job_record& r, millis now) {
  if (auto ok = move(r, job_event_kind::start); !ok)
    return ok;
  r.started_at = now;
  r.wake_at = 0;
  r.waiting_for.clear();
  r.attempts += 1;
  return {};
}

result<void> resume_run(job_record& r) {
  return move(r, job_event_kind::start);
}

result<void> complete(job_record& r, boost::json::value output, millis now) {
  if (auto ok = move(r, job_event_kind::complete); !ok)
    return ok;
  r.output = std::move(output);
  r.error.clear();
  r.finished_at = now;
  if (!r.progress.fraction || *r.progress.fraction < 1.0)
    r.progress.fraction = 1.0;
  return {};
}

result<void> fail(job_record& r, std::string error, millis now) {
  if (auto ok = move(r, job_event_kind::fail); !ok)
    return ok;
  r.error = std::move(error);
  r.finished_at = now;
  return {};
}

result<void> wait(job_record& r, millis wake_at, wait_reason reason) {
  if (auto ok = move(r, job_event_kind::wait); !ok)
    return ok;
  r.wake_at = wake_at;
  r.waiting_for = to_string(reason);
  return {};
}

result<void> wake(job_record& r) {
  if (auto ok = move(r, job_event_kind::wake); !ok)
    return ok;
  r.wake_at = 0;
  r.waiting_for.clear();
  return {};
}

result<void> pause(job_record& r) {
  return move(r, job_event_kind::pause);
}

result<void> resume(job_record& r) {
  if (auto ok = move(r, job_event_kind::resume); !ok)
    return ok;
  r.wake_at = 0;
  r.waiting_for.clear();
  return {};
}

result<void> cancel(job_record& r, millis now) {
  if (auto ok = move(r, job_event_kind::cancel); !ok)
    return ok;
  r.finished_at = now;
  return {};
}

result<void> retry(job_record& r) {
  if (auto ok = move(r, job_event_kind::retry); !ok)
    return ok;
  r.finished_at = 0;
  r.max_attempts = std::max(r.max_attempts, r.attempts + 1); // at least one more run
  return {};
}

result<void> requeue(job_record& r) {
  return move(r, job_event_kind::requeue);
}

} // namespace jobrt::lifecycle
