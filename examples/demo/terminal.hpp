#pragma once

// Live progress display for the demo: one line per job, redrawn in place with
// ANSI escapes on a terminal, or a compact line per job every ~0.5 s otherwise.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "jobrt/jobrt.hpp"

namespace demo {

/// What the display knows of one job.
struct job_row {
  jobrt::job_id id = 0;
  std::string type;
  std::string owner;
  jobrt::job_status status = jobrt::job_status::queued;
  std::optional<double> fraction;
  std::string stage;
  std::string message;
  std::string error;
};

/// The jobs on screen, fed by subscription events (any thread) and by
/// `get`/`list` for the initial state.
class board {
public:
  /// Applies an event; a job not on the board yet is added.
  void apply(const jobrt::job_event& e);
  /// Adds a job from its record unless events already put it there (events are newer).
  void seed(const jobrt::job_record& r);
  std::vector<job_row> snapshot() const;

private:
  mutable std::mutex mtx_;
  std::map<jobrt::job_id, job_row> rows_;
};

class display {
public:
  /// `tty`: redraw in place; `utf8`: block characters for the bars.
  display(bool tty, bool utf8);
  ~display();

  bool tty() const noexcept { return tty_; }

  /// A line printed above the bars (an action, say), at the next frame on a
  /// terminal, at once otherwise.
  void note(const std::string& line);
  /// Draws the rows: on a terminal every call, otherwise only when `periodic`.
  void frame(const std::vector<job_row>& rows, bool periodic);
  /// Ends the live area: later output goes below it.
  void close();

private:
  std::string bar_line(const job_row& r, int width) const;
  std::string plain_line(const job_row& r) const;

  bool tty_;
  bool utf8_;
  bool cursor_hidden_ = false;
  int drawn_ = 0; ///< bar lines currently on screen
  std::vector<std::string> notes_;
  std::map<jobrt::job_id, std::string> last_plain_;
  std::int64_t started_ms_;
};

/// "1.2 KiB", "3.4 MiB".
std::string human_bytes(std::int64_t n);
/// "-1,234.56" from cents.
std::string money(std::int64_t cents);

} // namespace demo
