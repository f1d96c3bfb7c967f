#pragma once

/// A schedule's rule for when it ticks: a cron expression or a fixed interval,
/// in UTC or a named time zone. Parsed once; `next_after` is pure and thread-safe.
///
/// Cron fields are read in the zone's local time, and local times are turned
/// into instants by these daylight-saving rules:
/// - A local time that does not exist (the spring-forward gap, e.g. 02:30 in
///   Europe/Berlin on 2026-03-29) ticks once, at the instant the clocks change
///   (03:00 local, 01:00 UTC). Several gap times collapse into that one tick,
///   and a tick at the first minute after the gap (03:00) is the same tick.
/// - A local time that occurs twice (fall back, e.g. 02:30 in Europe/Berlin on
///   2026-10-25) ticks once, at its first occurrence (00:30 UTC).
/// - So a schedule every 15 minutes in a zone has no ticks in the repeated
///   hour's second pass, and one tick for the skipped hour: use UTC or `@every`
///   for schedules that must tick by the real clock.
/// - The ticks that repeated `next_after` calls return are strictly increasing:
///   never the same instant twice, never backwards.
///
/// Zone rules come from the OS tz database (/usr/share/zoneinfo, the `tzdata`
/// package), read through the date library, which uses the files' explicit
/// transitions only: those end in 2037, and later years keep the zone's offset
/// of that time (standard time in Europe and North America).
///
/// Cron ticks are at whole minutes. Times are `millis` (ms since the Unix
/// epoch); cron rules work between the years 1 and 9999 and give no tick for
/// an `after` outside them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobrt/error.hpp"
#include "jobrt/record.hpp"

namespace date {
class time_zone;
} // namespace date

namespace jobrt {

class tick_rule {
public:
  /// Parses `spec`:
  /// - 5-field cron "minute hour day-of-month month day-of-week": `*`, numbers,
  ///   ranges `a-b`, lists `a,b,c`, steps `*/n` and `a-b/n` and `a/n` (from a to the field's max),
  ///   month names JAN..DEC and day names SUN..SAT (case-insensitive), day-of-week 0-7 (0 and 7 are Sunday);
  ///   when both day-of-month and day-of-week are restricted (neither is exactly `*`), a day matches if
  ///   EITHER matches (Vixie cron rule); otherwise both must match.
  /// - macros @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly;
  /// - an interval "@every <duration>", duration made of one or more <integer><unit> with units ms, s, m, h, d
  ///   (e.g. "@every 90s", "@every 1h30m"), at least 1 s and at most 366 days; ticks at anchor + k*interval.
  /// `time_zone`: an IANA name ("Europe/Berlin"), or "UTC" (also "" means UTC). Cron fields are read in that
  /// zone's local time; intervals ignore the zone.
  /// Errors: invalid_argument with a message that names the field and the bad text, e.g.
  /// "cron minute field: 61 is outside 0-59", "unknown time zone 'Mars/Base'",
  /// "a schedule spec needs 5 fields, got 4". Never throws.
  static result<tick_rule> parse(std::string_view spec, std::string_view time_zone = "UTC");

  /// The first tick strictly after `after` (ms since the epoch). Intervals count from `anchor`
  /// (the first tick is anchor + interval when after < anchor + interval; anchor itself is not a tick).
  /// Cron ticks are at whole minutes. Empty if none within 50 years after `after` (e.g. "0 0 30 2 *"),
  /// or on overflow. Never throws.
  std::optional<millis> next_after(millis after, millis anchor = 0) const;

  /// Up to `n` ticks after `after`, in order (for previews and list_schedules). Never throws.
  std::vector<millis> next_n(millis after, std::size_t n, millis anchor = 0) const;

  const std::string& spec() const noexcept;      ///< as given (trimmed)
  const std::string& time_zone() const noexcept; ///< "UTC" when given ""
  bool is_interval() const noexcept;
  millis interval_ms() const noexcept; ///< 0 for cron

private:
  tick_rule() = default;

  std::optional<millis> next_cron(millis after) const;
  std::optional<millis> next_interval(millis after, millis anchor) const;

  std::string spec_;
  std::string time_zone_;
  const date::time_zone* zone_ = nullptr; ///< owned by the tz database; null for UTC
  millis interval_ = 0;                   ///< 0 for cron
  // Cron fields as bitsets: bit i set when value i matches.
  std::uint64_t minutes_ = 0;   ///< 0-59
  std::uint32_t hours_ = 0;     ///< 0-23
  std::uint32_t days_ = 0;      ///< 1-31
  std::uint16_t months_ = 0;    ///< 1-12
  std::uint8_t weekdays_ = 0;   ///< 0-6, Sunday is 0
  bool days_any_ = true;        ///< the day-of-month field is `*`
  bool weekdays_any_ = true;    ///< the day-of-week field is `*`
};

} // namespace jobrt
