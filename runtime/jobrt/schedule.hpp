#pragma once

/// Recurring schedules: a named rule (a cron expression or an interval, in a
/// time zone) that submits a job of one type at every tick. Plain structs; the
/// rule itself is `tick_rule` (jobrt/tick_rule.hpp), the calls are
/// `runtime::schedule` and its neighbours.
///
/// Each tick fires exactly once, across crashes and restarts too: the job a tick
/// submits and the schedule's `last_tick` are written in one commit, and the
/// job's idempotency key names the schedule and the tick
/// ("jobrt.schedule/NAME/TICK_MS"), so a tick cannot submit a second job.

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "jobrt/record.hpp"

namespace jobrt {

/// What a schedule does with ticks that passed while it could not fire them
/// (the process was down, or busy past `schedule_options::grace_ms`). The
/// newest tick that is not later than `grace_ms` always fires.
enum class missed_ticks : std::uint8_t {
  skip,     ///< missed ticks submit nothing
  run_once, ///< the missed ticks together submit one job (at the newest of them)
  run_each, ///< each missed tick submits a job, at most `max_catch_up` (the newest)
};

/// What a tick does while the job of the schedule's previous tick is unfinished.
enum class overlapping_ticks : std::uint8_t {
  skip,  ///< the tick submits nothing
  queue, ///< the tick waits for the previous job to finish, then submits
  allow, ///< the tick submits at once; both jobs may run together
};

struct schedule_options {
  /// An IANA time zone ("Europe/Berlin") in which cron fields are read; "UTC"
  /// (or empty) for UTC. Intervals do not depend on it.
  std::string time_zone = "UTC";
  missed_ticks on_missed = missed_ticks::run_once;
  /// With `run_each`: at most this many missed ticks submit a job (1..10000).
  std::uint32_t max_catch_up = 100;
  overlapping_ticks on_overlap = overlapping_ticks::skip;
  /// A tick this late is still on time (the process was busy, not down).
  millis grace_ms = 60'000;
  /// Of the jobs a tick submits.
  std::int32_t priority = 0;
  std::string owner;
  std::uint32_t max_attempts = 0; ///< 0 = the type's default
  millis timeout_ms = 0;          ///< 0 = the type's default
  /// Created paused: no tick fires until `resume_schedule`.
  bool paused = false;
};

/// A schedule as stored, with its next tick.
struct schedule_info {
  std::string name;
  std::string spec; ///< "*/5 * * * *", "@daily", "@every 90s"
  std::string type; ///< of the jobs it submits
  boost::json::value params;
  schedule_options options;
  bool paused = false;
  millis created_at = 0; ///< intervals count from here
  /// The newest tick handled (fired, skipped or missed); ticks after it are due.
  millis last_tick = 0;
  job_id last_job = 0;   ///< the job the newest fired tick submitted; 0 = none yet
  millis last_fired_at = 0; ///< the tick of `last_job`
  std::uint64_t fired = 0; ///< jobs submitted by this schedule
  millis next_tick = 0;    ///< computed, not stored; 0 while paused or if it never ticks
};

const char* to_string(missed_ticks m) noexcept;
const char* to_string(overlapping_ticks o) noexcept;
/// False (and `out` unchanged) for an unknown name.
bool parse_missed_ticks(std::string_view name, missed_ticks& out) noexcept;
bool parse_overlapping_ticks(std::string_view name, overlapping_ticks& out) noexcept;

/// The JSON form the service and jobctl show (and the store keeps).
boost::json::value to_json(const schedule_info& s);
/// Never throws: a document of the wrong shape gives `corrupt_record`.
result<schedule_info> schedule_from_json(const boost::json::value& v);

/// Refuses a schedule name that is empty, over 200 bytes, or has a character
/// other than letters, digits, '.', '_', '-' and ':' (names go into URLs).
result<void> check_schedule_name(std::string_view name);

/// The idempotency key of the job a schedule's tick submits.
std::string schedule_tick_key(const std::string& name, millis tick);

} // namespace jobrt
