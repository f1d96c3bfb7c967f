#pragma once

/// Terminal output of jobctl: tables, job details and progress bars.

#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include <boost/json/value.hpp>

namespace jobctl {

/// "[#######-------]  45%", `width` cells wide; an empty bar for null fractions.
std::string progress_bar(const boost::json::value& fraction, int width, bool unicode);

/// One line per job: ID TYPE OWNER STATUS PROGRESS CREATED.
void print_table(std::ostream& out, const boost::json::array& jobs);

/// Every field of a job record, for `show`.
void print_details(std::ostream& out, const boost::json::object& job);

/// Milliseconds since the epoch as local "YYYY-MM-DD HH:MM:SS", "-" for 0.
std::string format_time(const boost::json::value& ms);

/// Milliseconds since the epoch as "YYYY-MM-DD HH:MM:SS UTC", "-" for 0.
std::string format_utc(const boost::json::value& ms);

/// One line per schedule: NAME SPEC ZONE TYPE NEXT-RUN(UTC) LAST-JOB FIRED PAUSED.
void print_schedules(std::ostream& out, const boost::json::array& schedules);

/// `nodes`: one line per worker node (ID NAME ADDRESS RUNNING DISPATCHED
/// HEARTBEAT JOINED TYPES), then whether the server accepts nodes and its counters.
/// `now_ms` is the time the heartbeat ages are taken from.
void print_nodes(std::ostream& out, const boost::json::object& doc, std::int64_t now_ms);

/// Live lines for `watch`: one per job, redrawn in place on a terminal.
class live_view {
public:
  live_view(std::ostream& out, bool tty, bool unicode) : out_(out), tty_(tty), unicode_(unicode) {}
  /// Records the latest state of a job (a record or an event) and redraws.
  void update(const boost::json::object& job_or_event);

private:
  std::string line_for(const boost::json::object& j) const;
  void redraw();

  std::ostream& out_;
  bool tty_;
  bool unicode_;
  std::map<std::uint64_t, boost::json::object> jobs_;
  std::size_t drawn_ = 0; ///< lines printed by the last redraw
};

} // namespace jobctl
