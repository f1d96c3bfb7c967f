#include "terminal.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

#include <sys/ioctl.h>
#include <unistd.h>

namespace demo {

namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

int terminal_width() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 100;
}

const char* color_of(jobrt::job_status s) {
  switch (s) {
    case jobrt::job_status::running:
      return "\x1b[36m"; // cyan
    case jobrt::job_status::paused:
      return "\x1b[33m"; // yellow
    case jobrt::job_status::waiting:
      return "\x1b[34m"; // blue
    case jobrt::job_status::completed:
      return "\x1b[32m"; // green
    case jobrt::job_status::failed:
      return "\x1b[31m"; // red
    case jobrt::job_status::cancelled:
      return "\x1b[35m"; // magenta
    default:
      return "\x1b[2m"; // dim: queued
  }
}

/// Cuts `line` to `width` visible characters; escape sequences take no room and
/// UTF-8 sequences count as one character.
std::string fit(const std::string& line, int width) {
  std::string out;
  int visible = 0;
  for (std::size_t i = 0; i < line.size();) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == 0x1b) { // CSI: ESC [ params final-byte
      std::size_t j = i + 1;
      if (j < line.size() && line[j] == '[') {
        ++j;
        while (j < line.size() && !(line[j] >= '@' && line[j] <= '~'))
          ++j;
      }
      out.append(line, i, j + 1 - i);
      i = j + 1;
      continue;
    }
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
    if (visible >= width)
      break;
    out.append(line, i, len);
    ++visible;
    i += len;
  }
  return out + "\x1b[0m";
}

std::string pad(std::string s, std::size_t n) {
  if (s.size() > n)
    s.resize(n);
  s.append(n - s.size(), ' ');
  return s;
}

double shown_fraction(const job_row& r) {
  if (r.status == jobrt::job_status::completed)
    return 1.0;
  return r.fraction.value_or(0.0);
}

std::string percent(const job_row& r) {
  if (!r.fraction && r.status != jobrt::job_status::completed)
    return "  ?%";
  char buf[8];
  std::snprintf(buf, sizeof buf, "%3d%%",
                static_cast<int>(std::floor(shown_fraction(r) * 100.0 + 1e-9)));
  return buf;
}

std::string what(const job_row& r) {
  if (!r.error.empty())
    return r.error;
  if (r.stage.empty())
    return r.message;
  if (r.message.empty())
    return r.stage;
  return r.stage + ": " + r.message;
}

} // namespace

// -- board ------------------------------------------------------------------------------

void board::apply(const jobrt::job_event& e) {
  std::lock_guard guard{mtx_};
  auto& r = rows_[e.id];
  r.id = e.id;
  if (!e.type.empty())
    r.type = e.type;
  if (!e.owner.empty())
    r.owner = e.owner;
  r.status = e.status;
  const auto& p = e.progress;
  // A status event of a job without a live record carries no progress: keep
  // what the last progress event said.
  if (e.what == jobrt::job_event::kind::progress || p.fraction || !p.stage.empty()) {
    r.fraction = p.fraction;
    r.stage = p.stage;
    r.message = p.message;
  }
  if (!e.error.empty())
    r.error = e.error;
}

void board::seed(const jobrt::job_record& rec) {
  std::lock_guard guard{mtx_};
  auto [i, added] = rows_.try_emplace(rec.id);
  if (!added)
    return;
  auto& r = i->second;
  r.id = rec.id;
  r.type = rec.type;
  r.owner = rec.owner;
  r.status = rec.status;
  r.fraction = rec.progress.fraction;
  r.stage = rec.progress.stage;
  r.message = rec.progress.message;
  r.error = rec.error;
}

std::vector<job_row> board::snapshot() const {
  std::lock_guard guard{mtx_};
  std::vector<job_row> out;
  out.reserve(rows_.size());
  for (const auto& kv : rows_)
    out.push_back(kv.second);
  return out;
}

// -- display ----------------------------------------------------------------------------

display::display(bool tty, bool utf8) : tty_(tty), utf8_(utf8), started_ms_(now_ms()) {
  // nop
}

display::~display() {
  close();
}

void display::note(const std::string& line) {
  if (tty_) {
    notes_.push_back(line);
    return;
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

std::string display::bar_line(const job_row& r, int width) const {
  const int bar_width = width >= 110 ? 24 : width >= 90 ? 16 : 10;
  int filled = static_cast<int>(std::lround(shown_fraction(r) * bar_width));
  const char* color = color_of(r.status);
  std::string bar = color;
  for (int i = 0; i < bar_width; ++i) {
    if (i == filled)
      bar += "\x1b[2m";
    bar += i < filled ? (utf8_ ? "\u2588" : "#") : (utf8_ ? "\u2591" : "-");
  }
  bar += "\x1b[0m";
  std::string line = " #" + pad(std::to_string(r.id), 4) + pad(r.type, 17) + pad(r.owner, 9)
                     + bar + " " + percent(r) + "  " + color + pad(jobrt::to_string(r.status), 10)
                     + "\x1b[0m" + what(r);
  return fit(line, width - 1);
}

std::string display::plain_line(const job_row& r) const {
  return "#" + std::to_string(r.id) + " " + r.type + " (" + r.owner + ") " + percent(r) + " "
         + jobrt::to_string(r.status) + (what(r).empty() ? "" : " - " + what(r));
}

void display::frame(const std::vector<job_row>& rows, bool periodic) {
  if (!tty_) {
    if (!periodic)
      return;
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[%5.1fs] ",
                  static_cast<double>(now_ms() - started_ms_) / 1000.0);
    for (const auto& r : rows) {
      auto line = plain_line(r);
      auto& last = last_plain_[r.id];
      // Unfinished jobs every time; a finished one once, when it finished.
      if (jobrt::is_finished(r.status) && last == line)
        continue;
      last = line;
      std::printf("%s%s\n", stamp, line.c_str());
    }
    std::fflush(stdout);
    return;
  }
  // Back to the top of the bars, print new notes over them (they scroll up and
  // stay), then overwrite each bar line in place: no full-screen clear, no flicker.
  std::string out;
  if (!cursor_hidden_) {
    out += "\x1b[?25l";
    cursor_hidden_ = true;
  }
  if (drawn_ > 0)
    out += "\r\x1b[" + std::to_string(drawn_) + "A";
  for (const auto& n : notes_)
    out += "\r" + n + "\x1b[K\n";
  notes_.clear();
  int width = terminal_width();
  for (const auto& r : rows)
    out += "\r" + bar_line(r, width) + "\x1b[K\n";
  if (static_cast<int>(rows.size()) < drawn_)
    out += "\x1b[J";
  drawn_ = static_cast<int>(rows.size());
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

void display::close() {
  if (!tty_)
    return;
  std::string out;
  for (const auto& n : notes_) // notes that never got a frame
    out += "\r" + n + "\x1b[K\n";
  notes_.clear();
  if (cursor_hidden_) {
    out += "\x1b[?25h";
    cursor_hidden_ = false;
  }
  drawn_ = 0; // what is on screen stays; later output goes below it
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

std::string human_bytes(std::int64_t n) {
  char buf[32];
  if (n < 1024)
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(n));
  else if (n < 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
  return buf;
}

std::string money(std::int64_t cents) {
  auto abs = cents < 0 ? -static_cast<std::uint64_t>(cents) : static_cast<std::uint64_t>(cents);
  auto units = std::to_string(abs / 100);
  std::string grouped;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (i > 0 && (units.size() - i) % 3 == 0)
      grouped += ',';
    grouped += units[i];
  }
  char frac[4];
  std::snprintf(frac, sizeof frac, "%02u", static_cast<unsigned>(abs % 100));
  return (cents < 0 ? "-" : "") + grouped + "." + frac;
}

} // namespace demo
