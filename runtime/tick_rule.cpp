#include "jobrt/tick_rule.hpp"

#include <cctype>
#include <chrono>
#include <exception>
#include <limits>
#include <utility>

#include <date/date.h>
#include <date/tz.h>

namespace jobrt {

namespace {

using namespace std::chrono;
using local_minutes = date::local_time<minutes>;
using date::sys_seconds;

// -- text helpers ----------------------------------------------------------------

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i]))
      ++i;
    auto start = i;
    while (i < s.size() && !is_space(s[i]))
      ++i;
    if (i > start)
      words.push_back(s.substr(start, i - start));
  }
  return words;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

/// The value of a string of digits, held at 1'000'000 (more than any field's max).
int digits_value(std::string_view s) {
  int v = 0;
  for (char c : s) {
    v = v * 10 + (c - '0');
    if (v > 1'000'000)
      return 1'000'000;
  }
  return v;
}

error bad(std::string message) {
  return error{errc::invalid_argument, std::move(message)};
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// -- cron fields -------------------------------------------------------------------

const char* const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct field_def {
  const char* name;
  int lo;
  int hi;
  const char* const* names = nullptr; ///< names[i] is the value `names_base + i`
  int name_count = 0;
  int names_base = 0;
};

const field_def minute_field{"minute", 0, 59};
const field_def hour_field{"hour", 0, 23};
const field_def day_field{"day-of-month", 1, 31};
const field_def month_field{"month", 1, 12, month_names, 12, 1};
const field_def weekday_field{"day-of-week", 0, 7, day_names, 7, 0};

std::string field_prefix(const field_def& f) {
  return std::string("cron ") + f.name + " field: ";
}

/// One value of a field: a number or, where the field has them, a name.
result<int> parse_value(std::string_view text, const field_def& f) {
  if (all_digits(text)) {
    int v = digits_value(text);
    if (v < f.lo || v > f.hi)
      return bad(field_prefix(f) + std::string(text) + " is outside " + std::to_string(f.lo) + "-"
                 + std::to_string(f.hi));
    return v;
  }
  if (f.names != nullptr && !text.empty() && std::isalpha(static_cast<unsigned char>(text[0]))) {
    auto name = lower(text);
    for (int i = 0; i < f.name_count; ++i)
      if (name == f.names[i])
        return f.names_base + i;
    return bad(field_prefix(f) + "unknown name " + quoted(text));
  }
  return bad(field_prefix(f) + quoted(text) + " is not a number");
}

/// A field as a bitset (bit i: value i matches). Day-of-week 7 becomes 0.
result<std::uint64_t> parse_field(std::string_view text, const field_def& f) {
  std::uint64_t bits = 0;
  std::string_view rest = text;
  while (true) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    if (item.empty())
      return bad(field_prefix(f) + "empty list item in " + quoted(text));
    auto slash = item.find('/');
    auto base = item.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      auto step_text = item.substr(slash + 1);
      if (!all_digits(step_text))
        return bad(field_prefix(f) + "step " + quoted(step_text) + " in " + quoted(item)
                   + " is not a number");
      step = digits_value(step_text);
      if (step < 1)
        return bad(field_prefix(f) + "step 0 in " + quoted(item) + " must be at least 1");
    }
    int first = f.lo;
    int last = f.hi;
    if (base != "*") {
      auto dash = base.find('-');
      auto a = parse_value(base.substr(0, dash), f);
      if (!a)
        return a.error();
      first = *a;
      if (dash != std::string_view::npos) {
        auto b = parse_value(base.substr(dash + 1), f);
        if (!b)
          return b.error();
        last = *b;
        if (last < first)
          return bad(field_prefix(f) + "range " + std::string(base) + " is reversed");
      } else if (slash == std::string_view::npos) {
        last = first;
      }
    }
    for (int v = first; v <= last; v += step)
      bits |= std::uint64_t{1} << v;
    if (comma == std::string_view::npos)
      break;
    rest = rest.substr(comma + 1);
  }
  if (&f == &weekday_field && (bits >> 7 & 1) != 0)
    bits = (bits & 0x7f) | 1;
  return bits;
}

// -- intervals -------------------------------------------------------------------

constexpr millis min_interval = 1'000;
constexpr millis max_interval = 366LL * 24 * 3'600'000;

result<millis> parse_duration(std::string_view text) {
  if (text.empty())
    return bad("@every needs a duration, e.g. '@every 90s' or '@every 1h30m'");
  millis total = 0;
  std::size_t i = 0;
  bool too_long = false;
  while (i < text.size()) {
    auto start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      ++i;
    if (i == start)
      return bad("@every duration " + quoted(text) + ": expected a number at "
                 + quoted(text.substr(start)) + " (write e.g. 90s or 1h30m)");
    auto number = text.substr(start, i - start);
    auto unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])))
      ++i;
    auto unit = lower(text.substr(unit_start, i - unit_start));
    millis unit_ms = 0;
    if (unit == "ms")
      unit_ms = 1;
    else if (unit == "s")
      unit_ms = 1'000;
    else if (unit == "m")
      unit_ms = 60'000;
    else if (unit == "h")
      unit_ms = 3'600'000;
    else if (unit == "d")
      unit_ms = 86'400'000;
    else if (unit.empty())
      return bad("@every duration " + quoted(text) + ": " + std::string(number)
                 + " needs a unit (ms, s, m, h or d)");
    else
      return bad("@every duration " + quoted(text) + ": unknown unit " + quoted(unit)
                 + " (use ms, s, m, h or d)");
    millis n = 0;
    for (char c : number)
      n = n > max_interval ? n : n * 10 + (c - '0'); // held above the max, never wrapping
    if (too_long || n > (max_interval - total) / unit_ms)
      too_long = true;
    else
      total += n * unit_ms;
  }
  if (too_long || total > max_interval)
    return bad("@every duration " + quoted(text) + " is longer than 366d");
  if (total < min_interval)
    return bad("@every duration " + quoted(text) + " is shorter than 1s");
  return total;
}

// -- time ------------------------------------------------------------------------

/// Cron rules work from 0001-01-01 to 9999-12-31 (UTC), well inside date's years.
constexpr millis min_cron = -62'135'596'800'000;
constexpr millis max_cron = 253'402'300'799'999;
/// 50 years of days, the farthest a cron search looks.
constexpr int search_days = 18'263;

} // namespace

// -- parsing -----------------------------------------------------------------------

result<tick_rule> tick_rule::parse(std::string_view spec, std::string_view time_zone) try {
  tick_rule rule;
  spec = trim(spec);
  rule.spec_ = std::string(spec);
  time_zone = trim(time_zone);
  if (time_zone.empty() || time_zone == "UTC") {
    rule.time_zone_ = "UTC";
  } else {
    try {
      rule.zone_ = date::locate_zone(std::string(time_zone));
    } catch (const std::exception&) {
      return bad("unknown time zone " + quoted(time_zone));
    }
    rule.time_zone_ = std::string(time_zone);
  }

  std::string_view cron = spec;
  if (!spec.empty() && spec.front() == '@') {
    auto words = split_words(spec);
    auto macro = lower(words.front());
    if (macro == "@every") {
      auto d = parse_duration(trim(spec.substr(words.front().size())));
      if (!d)
        return d.error();
      rule.interval_ = *d;
      return rule;
    }
    if (macro == "@yearly" || macro == "@annually")
      cron = "0 0 1 1 *";
    else if (macro == "@monthly")
      cron = "0 0 1 * *";
    else if (macro == "@weekly")
      cron = "0 0 * * 0";
    else if (macro == "@daily" || macro == "@midnight")
      cron = "0 0 * * *";
    else if (macro == "@hourly")
      cron = "0 * * * *";
    else
      return bad("unknown schedule macro " + quoted(words.front())
                 + " (use @yearly, @monthly, @weekly, @daily, @hourly or @every)");
    if (words.size() > 1)
      return bad("schedule macro " + quoted(words.front()) + " takes nothing after it, got "
                 + quoted(words[1]));
  }

  auto fields = split_words(cron);
  if (fields.size() != 5)
    return bad("a schedule spec needs 5 fields, got " + std::to_string(fields.size()));
  const field_def* defs[] = {&minute_field, &hour_field, &day_field, &month_field, &weekday_field};
  std::uint64_t bits[5] = {};
  for (int i = 0; i < 5; ++i) {
    auto b = parse_field(fields[i], *defs[i]);
    if (!b)
      return b.error();
    bits[i] = *b;
  }
  rule.minutes_ = bits[0];
  rule.hours_ = static_cast<std::uint32_t>(bits[1]);
  rule.days_ = static_cast<std::uint32_t>(bits[2]);
  rule.months_ = static_cast<std::uint16_t>(bits[3]);
  rule.weekdays_ = static_cast<std::uint8_t>(bits[4]);
  rule.days_any_ = fields[2] == "*";
  rule.weekdays_any_ = fields[4] == "*";
  return rule;
} catch (const std::exception& e) {
  return bad(std::string("cannot parse a schedule spec: ") + e.what());
}

// -- ticks -------------------------------------------------------------------------

std::optional<millis> tick_rule::next_after(millis after, millis anchor) const {
  try {
    return interval_ > 0 ? next_interval(after, anchor) : next_cron(after);
  } catch (...) {
    return std::nullopt;
  }
}

std::vector<millis> tick_rule::next_n(millis after, std::size_t n, millis anchor) const {
  std::vector<millis> ticks;
  try {
    ticks.reserve(n < 1024 ? n : 1024);
    while (ticks.size() < n) {
      auto t = next_after(after, anchor);
      if (!t)
        break;
      ticks.push_back(*t);
      after = *t;
    }
  } catch (...) {
    // the ticks found so far (only an allocation can fail)
  }
  return ticks;
}

std::optional<millis> tick_rule::next_interval(millis after, millis anchor) const {
  __extension__ using wide = __int128;
  wide a = anchor;
  wide i = interval_;
  wide x = after;
  wide t = a + i;
  if (x >= t)
    t = a + ((x - a) / i + 1) * i; // x - a >= i > 0, so the division floors
  if (t > std::numeric_limits<millis>::max())
    return std::nullopt;
  return static_cast<millis>(t);
}

namespace {

/// The plain parts of a cron search, over local minutes.
struct cron_search {
  std::uint64_t minute_bits;
  std::uint32_t hour_bits;
  std::uint32_t day_bits;
  std::uint16_t month_bits;
  std::uint8_t weekday_bits;
  bool days_any;
  bool weekdays_any;

  bool day_matches(const date::year_month_day& ymd, date::weekday wd) const {
    bool dom = (day_bits >> static_cast<unsigned>(ymd.day()) & 1) != 0;
    bool dow = (weekday_bits >> wd.c_encoding() & 1) != 0;
    if (days_any || weekdays_any)
      return dom && dow;
    return dom || dow;
  }

  /// The first matching minute of a day at or after `from` (minutes since midnight).
  std::optional<int> time_in_day(int from) const {
    int first_hour = from / 60;
    for (int h = first_hour; h < 24; ++h) {
      if ((hour_bits >> h & 1) == 0)
        continue;
      int m0 = h == first_hour ? from % 60 : 0;
      auto rest = minute_bits & (~std::uint64_t{0} << m0);
      if (rest != 0)
        return h * 60 + __builtin_ctzll(rest);
    }
    return std::nullopt;
  }

  /// The first matching local minute at or after `from`, on a day up to `last_day`.
  std::optional<local_minutes> next(local_minutes from, date::local_days last_day) const {
    auto day = date::floor<date::days>(from);
    int minute_of_day = static_cast<int>((from - day).count());
    while (day <= last_day) {
      date::year_month_day ymd{day};
      if ((month_bits >> static_cast<unsigned>(ymd.month()) & 1) == 0) {
        auto next_month = date::year_month{ymd.year(), ymd.month()} + date::months{1};
        day = date::local_days{next_month / 1};
        minute_of_day = 0;
        continue;
      }
      if (day_matches(ymd, date::weekday{day})) {
        if (auto m = time_in_day(minute_of_day))
          return day + minutes{*m};
      }
      day += date::days{1};
      minute_of_day = 0;
    }
    return std::nullopt;
  }
};

} // namespace

std::optional<millis> tick_rule::next_cron(millis after) const {
  if (after < min_cron || after > max_cron)
    return std::nullopt;
  const cron_search search{minutes_, hours_,    days_,        months_,
                           weekdays_, days_any_, weekdays_any_};
  date::sys_time<milliseconds> at{milliseconds{after}};

  // The local minute of `after`: no local time up to it ticks after `after`,
  // because the local-to-instant mapping below never goes backwards.
  auto local_now = local_minutes{date::floor<minutes>(at.time_since_epoch())};
  if (zone_ != nullptr) {
    auto info = zone_->get_info(date::floor<seconds>(at));
    local_now = local_minutes{date::floor<minutes>(at.time_since_epoch() + info.offset)};
  }
  auto cursor = local_now + minutes{1};
  auto last_day = date::floor<date::days>(cursor) + date::days{search_days};

  // Only local times in a repeated hour's second pass can map to `after` or
  // before it (their first occurrence); the loop steps over them.
  while (true) {
    auto local = search.next(cursor, last_day);
    if (!local)
      return std::nullopt;
    auto instant = sys_seconds{local->time_since_epoch()};
    if (zone_ != nullptr) {
      auto info = zone_->get_info(date::local_seconds{*local});
      if (info.result == date::local_info::nonexistent)
        instant = info.first.end; // the instant the clocks change
      else // unique, or ambiguous: the first occurrence, with the earlier offset
        instant = sys_seconds{local->time_since_epoch() - info.first.offset};
    }
    auto tick = duration_cast<milliseconds>(instant.time_since_epoch()).count();
    if (tick > after)
      return tick;
    cursor = *local + minutes{1};
  }
}

// -- accessors ---------------------------------------------------------------------

const std::string& tick_rule::spec() const noexcept {
  return spec_;
}

const std::string& tick_rule::time_zone() const noexcept {
  return time_zone_;
}

bool tick_rule::is_interval() const noexcept {
  return interval_ > 0;
}

millis tick_rule::interval_ms() const noexcept {
  return interval_;
}

} // namespace jobrt
