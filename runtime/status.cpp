#include "jobrt/status.hpp"

#include <ostream>
#include <string>

namespace jobrt {

const char* to_string(job_status s) noexcept {
  switch (s) {
    case job_status::queued: return "queued";
    case job_status::running: return "running";
    case job_status::paused: return "paused";
    case job_status::waiting: return "waiting";
    case job_status::completed: return "completed";
    case job_status::failed: return "failed";
    case job_status::cancelled: return "cancelled";
  }
  return "unknown";
}

const char* to_string(job_event_kind e) noexcept {
  switch (e) {
    case job_event_kind::start: return "start";
    case job_event_kind::complete: return "complete";
    case job_event_kind::fail: return "fail";
    case job_event_kind::wait: return "wait";
    case job_event_kind::wake: return "wake";
    case job_event_kind::pause: return "pause";
    case job_event_kind::resume: return "resume";
    case job_event_kind::cancel: return "cancel";
    case job_event_kind::retry: return "retry";
    case job_event_kind::requeue: return "requeue";
  }
  return "unknown";
}

std::optional<job_status> parse_status(std::string_view name) noexcept {
  for (auto s : all_statuses)
    if (name == to_string(s))
      return s;
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& out, job_status s) {
  return out << to_string(s);
}

namespace {

/// The verb a user would use to ask for a move into `to`, for error messages.
const char* verb_for(job_status to) noexcept {
  switch (to) {
    case job_status::queued: return "queue";
    case job_status::running: return "start";
    case job_status::paused: return "pause";
    case job_status::waiting: return "put to waiting";
    case job_status::completed: return "complete";
    case job_status::failed: return "fail";
    case job_status::cancelled: return "cancel";
  }
  return "move";
}

} // namespace

result<void> check_transition(job_status from, job_status to) {
  if (can_transition(from, to))
    return {};
  std::string msg = "cannot ";
  msg += verb_for(to);
  msg += " a ";
  msg += to_string(from);
  msg += " job (";
  msg += to_string(from);
  msg += " -> ";
  msg += to_string(to);
  msg += " is not an allowed transition)";
  return error{errc::illegal_transition, std::move(msg)};
}

} // namespace jobrt
