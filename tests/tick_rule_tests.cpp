// Tick rules of recurring schedules (runtime/jobrt/tick_rule.hpp): parsing cron
// specs, macros and intervals, and the ticks they give, in UTC and across the
// daylight-saving changes of Europe/Berlin and America/New_York. Every instant is
// fixed; expected instants are written as wall times with their UTC offset, so
// the tests do not read the time zone database themselves.

#define BOOST_TEST_MODULE tick_rule_tests
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "jobrt/tick_rule.hpp"

using jobrt::millis;
using jobrt::tick_rule;

namespace {

constexpr millis minute = 60'000;
constexpr millis hour = 60 * minute;

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// The instant of wall time "YYYY-MM-DD HH:MM" at `utc_offset_hours` east of UTC.
millis at(const std::string& text, int utc_offset_hours = 0) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi) != 5)
    throw std::invalid_argument("bad test time " + text);
  auto day = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return day * 24 * hour + h * hour + mi * minute - utc_offset_hours * hour;
}

tick_rule rule(const std::string& spec, const std::string& zone = "UTC") {
  auto r = tick_rule::parse(spec, zone);
  if (!r)
    BOOST_FAIL("parse(" << spec << ", " << zone << "): " << r.error().message);
  return std::move(r).value();
}

/// The error message of a spec that must not parse.
std::string parse_error(const std::string& spec, const std::string& zone = "UTC") {
  auto r = tick_rule::parse(spec, zone);
  if (r)
    return "(parsed)";
  BOOST_TEST((r.error().code == jobrt::errc::invalid_argument));
  return r.error().message;
}

std::vector<millis> ticks(const std::string& spec, millis after, std::size_t n,
                          const std::string& zone = "UTC") {
  return rule(spec, zone).next_n(after, n);
}

bool strictly_increasing(const std::vector<millis>& v) {
  for (std::size_t i = 1; i < v.size(); ++i)
    if (v[i] <= v[i - 1])
      return false;
  return true;
}

} // namespace

// -- parsing --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_cron_spec_keeps_its_trimmed_text_and_a_blank_zone_is_utc) {
  auto r = rule("  0 9 * * 1-5 \t", "");
  BOOST_TEST(r.spec() == "0 9 * * 1-5");
  BOOST_TEST(r.time_zone() == "UTC");
  BOOST_TEST(!r.is_interval());
  BOOST_TEST(r.interval_ms() == 0);
  BOOST_TEST(rule("0 9 * * *", "Europe/Berlin").time_zone() == "Europe/Berlin");
}

BOOST_AUTO_TEST_CASE(lists_ranges_and_steps_combine_in_one_field) {
  auto got = ticks("1,10-12,50/5 0 * * *", at("2026-05-01 00:00"), 6);
  std::vector<millis> want{at("2026-05-01 00:01"), at("2026-05-01 00:10"), at("2026-05-01 00:11"),
                           at("2026-05-01 00:12"), at("2026-05-01 00:50"), at("2026-05-01 00:55")};
  BOOST_TEST(got == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(month_and_day_names_are_case_insensitive) {
  auto after = at("2026-01-01 00:00");
  BOOST_TEST(ticks("0 0 * jan,Mar-may sun", after, 20) == ticks("0 0 * 1,3-5 0", after, 20),
             boost::test_tools::per_element());
  BOOST_TEST(ticks("0 0 * * MON-fri", after, 20) == ticks("0 0 * * 1-5", after, 20),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sunday_is_both_0_and_7) {
  auto after = at("2026-01-01 00:00");
  BOOST_TEST(ticks("0 0 * * 7", after, 10) == ticks("0 0 * * 0", after, 10),
             boost::test_tools::per_element());
  // 2026-01-02 is a Friday.
  std::vector<millis> want{at("2026-01-02 00:00"), at("2026-01-03 00:00"), at("2026-01-04 00:00"),
                           at("2026-01-09 00:00")};
  BOOST_TEST(ticks("0 0 * * 5-7", after, 4) == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(macros_tick_like_their_cron_forms) {
  auto after = at("2026-06-15 10:20");
  auto same = [&](const std::string& macro, const std::string& cron) {
    BOOST_TEST(ticks(macro, after, 5) == ticks(cron, after, 5), macro);
  };
  same("@yearly", "0 0 1 1 *");
  same("@annually", "0 0 1 1 *");
  same("@monthly", "0 0 1 * *");
  same("@weekly", "0 0 * * 0");
  same("@daily", "0 0 * * *");
  same("@midnight", "0 0 * * *");
  same("@hourly", "0 * * * *");
  same("@DAILY", "0 0 * * *");
}

BOOST_AUTO_TEST_CASE(every_takes_one_or_more_numbers_with_units) {
  auto interval = [](const std::string& spec) { return rule(spec).interval_ms(); };
  BOOST_TEST(interval("@every 90s") == 90'000);
  BOOST_TEST(interval("@every 1h30m") == 90 * minute);
  BOOST_TEST(interval("@every 1500ms") == 1'500);
  BOOST_TEST(interval("@every 2d") == 48 * hour);
  BOOST_TEST(interval("@every 1s") == 1'000);
  BOOST_TEST(interval("@every 366d") == 366 * 24 * hour);
  BOOST_TEST(interval("@every 1m0s") == minute);
  BOOST_TEST(rule("@every 5m", "Europe/Berlin").is_interval());
}

BOOST_AUTO_TEST_CASE(a_spec_without_5_fields_is_refused) {
  BOOST_TEST(parse_error("* * * *") == "a schedule spec needs 5 fields, got 4");
  BOOST_TEST(parse_error("* * * * * *") == "a schedule spec needs 5 fields, got 6");
  BOOST_TEST(parse_error("   ") == "a schedule spec needs 5 fields, got 0");
}

BOOST_AUTO_TEST_CASE(a_value_outside_its_field_is_refused_with_the_field_and_the_range) {
  BOOST_TEST(parse_error("61 * * * *") == "cron minute field: 61 is outside 0-59");
  BOOST_TEST(parse_error("0 24 * * *") == "cron hour field: 24 is outside 0-23");
  BOOST_TEST(parse_error("0 0 0 * *") == "cron day-of-month field: 0 is outside 1-31");
  BOOST_TEST(parse_error("0 0 * 13 *") == "cron month field: 13 is outside 1-12");
  BOOST_TEST(parse_error("0 0 * * 8") == "cron day-of-week field: 8 is outside 0-7");
  BOOST_TEST(parse_error("0 0-99999999999 * * *") == "cron hour field: 99999999999 is outside 0-23");
}

BOOST_AUTO_TEST_CASE(a_step_of_zero_is_refused) {
  BOOST_TEST(parse_error("*/0 * * * *") == "cron minute field: step 0 in '*/0' must be at least 1");
  BOOST_TEST(parse_error("0 1-5/x * * *")
             == "cron hour field: step 'x' in '1-5/x' is not a number");
}

BOOST_AUTO_TEST_CASE(a_reversed_range_is_refused) {
  BOOST_TEST(parse_error("0 5-2 * * *") == "cron hour field: range 5-2 is reversed");
  BOOST_TEST(parse_error("0 0 * * FRI-MON") == "cron day-of-week field: range FRI-MON is reversed");
}

BOOST_AUTO_TEST_CASE(an_unknown_name_or_garbage_is_refused) {
  BOOST_TEST(parse_error("0 0 * FOO *") == "cron month field: unknown name 'FOO'");
  BOOST_TEST(parse_error("0 0 * * sunday") == "cron day-of-week field: unknown name 'sunday'");
  BOOST_TEST(parse_error("x * * * *") == "cron minute field: 'x' is not a number");
  BOOST_TEST(parse_error("MON * * * *") == "cron minute field: 'MON' is not a number");
  BOOST_TEST(parse_error("1,,2 * * * *") == "cron minute field: empty list item in '1,,2'");
  BOOST_TEST(parse_error("-5 * * * *") == "cron minute field: '' is not a number");
  BOOST_TEST(parse_error("@often")
             == "unknown schedule macro '@often' (use @yearly, @monthly, @weekly, @daily, "
                "@hourly or @every)");
  BOOST_TEST(parse_error("@daily 5") == "schedule macro '@daily' takes nothing after it, got '5'");
}

BOOST_AUTO_TEST_CASE(an_unknown_time_zone_is_refused_by_name) {
  BOOST_TEST(parse_error("0 9 * * *", "Mars/Base") == "unknown time zone 'Mars/Base'");
  BOOST_TEST(parse_error("@every 1h", "Mars/Base") == "unknown time zone 'Mars/Base'");
}

BOOST_AUTO_TEST_CASE(an_interval_under_1s_or_over_366_days_or_malformed_is_refused) {
  BOOST_TEST(parse_error("@every 500ms") == "@every duration '500ms' is shorter than 1s");
  BOOST_TEST(parse_error("@every 0s") == "@every duration '0s' is shorter than 1s");
  BOOST_TEST(parse_error("@every 367d") == "@every duration '367d' is longer than 366d");
  BOOST_TEST(parse_error("@every 366d1ms") == "@every duration '366d1ms' is longer than 366d");
  BOOST_TEST(parse_error("@every 99999999999999999999999d")
             == "@every duration '99999999999999999999999d' is longer than 366d");
  BOOST_TEST(parse_error("@every 90") == "@every duration '90': 90 needs a unit (ms, s, m, h or d)");
  BOOST_TEST(parse_error("@every 5w")
             == "@every duration '5w': unknown unit 'w' (use ms, s, m, h or d)");
  BOOST_TEST(parse_error("@every soon")
             == "@every duration 'soon': expected a number at 'soon' (write e.g. 90s or 1h30m)");
  BOOST_TEST(parse_error("@every") == "@every needs a duration, e.g. '@every 90s' or '@every 1h30m'");
}

// -- cron ticks in UTC ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_minute_ticks_at_whole_minutes_across_an_hour_end) {
  auto r = rule("* * * * *");
  BOOST_TEST(*r.next_after(at("2026-05-01 10:59") + 30'000) == at("2026-05-01 11:00"));
  BOOST_TEST(*r.next_after(at("2026-05-01 10:59")) == at("2026-05-01 11:00"));
  BOOST_TEST(*r.next_after(at("2026-05-01 10:59") - 1) == at("2026-05-01 10:59"));
}

BOOST_AUTO_TEST_CASE(hourly_and_daily_tick_across_a_day_and_year_end) {
  BOOST_TEST(*rule("@hourly").next_after(at("2026-12-31 23:00")) == at("2027-01-01 00:00"));
  BOOST_TEST(*rule("@daily").next_after(at("2026-12-31 00:00")) == at("2027-01-01 00:00"));
  BOOST_TEST(*rule("30 23 * * *").next_after(at("2026-02-28 23:30")) == at("2026-03-01 23:30"));
}

BOOST_AUTO_TEST_CASE(the_31st_ticks_only_in_months_that_have_one) {
  std::vector<millis> want{at("2026-03-31 00:00"), at("2026-05-31 00:00"), at("2026-07-31 00:00"),
                           at("2026-08-31 00:00"), at("2026-10-31 00:00"), at("2026-12-31 00:00")};
  BOOST_TEST(ticks("0 0 31 * *", at("2026-01-31 00:00"), 6) == want,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_leap_day_spec_waits_for_the_next_leap_year) {
  BOOST_TEST(*rule("0 12 29 2 *").next_after(at("2026-01-01 00:00")) == at("2028-02-29 12:00"));
}

BOOST_AUTO_TEST_CASE(a_restricted_day_of_month_and_day_of_week_match_either) {
  // 2026-02-13 and 2026-03-13 are Fridays.
  std::vector<millis> either{at("2026-02-06 00:00"), at("2026-02-13 00:00"), at("2026-02-20 00:00"),
                             at("2026-02-27 00:00"), at("2026-03-06 00:00"), at("2026-03-13 00:00"),
                             at("2026-03-20 00:00")};
  BOOST_TEST(ticks("0 0 13 * 5", at("2026-02-01 00:00"), 7) == either,
             boost::test_tools::per_element());
  // The first seven days or Mondays: 2026-06-01 is a Monday.
  std::vector<millis> first_week_or_monday{at("2026-06-07 00:00"), at("2026-06-08 00:00"),
                                           at("2026-06-15 00:00")};
  BOOST_TEST(ticks("0 0 1-7 * MON", at("2026-06-06 12:00"), 3) == first_week_or_monday,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_star_day_field_makes_the_other_day_field_decide) {
  std::vector<millis> fridays{at("2026-02-06 00:00"), at("2026-02-13 00:00"), at("2026-02-20 00:00")};
  BOOST_TEST(ticks("0 0 * * 5", at("2026-02-01 00:00"), 3) == fridays,
             boost::test_tools::per_element());
  std::vector<millis> thirteenths{at("2026-02-13 00:00"), at("2026-03-13 00:00")};
  BOOST_TEST(ticks("0 0 13 * *", at("2026-02-01 00:00"), 2) == thirteenths,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(steps_count_from_the_start_of_their_range) {
  std::vector<millis> quarter{at("2026-05-01 10:15"), at("2026-05-01 10:30"),
                              at("2026-05-01 10:45"), at("2026-05-01 11:00")};
  BOOST_TEST(ticks("*/15 * * * *", at("2026-05-01 10:00"), 4) == quarter,
             boost::test_tools::per_element());
  std::vector<millis> fives{at("2026-05-01 10:05"), at("2026-05-01 10:10"), at("2026-05-01 10:15"),
                            at("2026-05-01 10:20"), at("2026-05-01 11:05")};
  BOOST_TEST(ticks("5-20/5 * * * *", at("2026-05-01 10:00"), 5) == fives,
             boost::test_tools::per_element());
  std::vector<millis> even_hours{at("2026-05-01 12:00"), at("2026-05-01 14:00")};
  BOOST_TEST(ticks("0 */2 * * *", at("2026-05-01 11:00"), 2) == even_hours,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_impossible_spec_has_no_tick_and_the_search_ends) {
  BOOST_TEST(!rule("0 0 30 2 *").next_after(at("2026-01-01 00:00")).has_value());
  BOOST_TEST(!rule("0 0 31 4,6,9,11 *").next_after(at("2026-01-01 00:00")).has_value());
  BOOST_TEST(rule("0 0 30 2 *").next_n(at("2026-01-01 00:00"), 5).empty());
}

BOOST_AUTO_TEST_CASE(times_outside_the_years_1_to_9999_give_no_cron_tick) {
  auto r = rule("* * * * *");
  BOOST_TEST(!r.next_after(std::numeric_limits<millis>::max()).has_value());
  BOOST_TEST(!r.next_after(std::numeric_limits<millis>::min()).has_value());
  BOOST_TEST(*r.next_after(at("1969-12-31 23:58")) == at("1969-12-31 23:59"));
}

// -- time zones ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_zone_reads_the_cron_fields_in_local_time) {
  auto r = rule("0 9 * * *", "America/New_York");
  BOOST_TEST(*r.next_after(at("2026-01-15 00:00")) == at("2026-01-15 14:00")); // EST, -5
  BOOST_TEST(*r.next_after(at("2026-07-15 00:00")) == at("2026-07-15 13:00")); // EDT, -4
  BOOST_TEST(*rule("0 9 * * *").next_after(at("2026-07-15 00:00")) == at("2026-07-15 09:00"));
}

BOOST_AUTO_TEST_CASE(a_local_time_in_the_spring_gap_ticks_at_the_change) {
  // Europe/Berlin, 2026-03-29: 02:00 CET (+1) becomes 03:00 CEST (+2) at 01:00 UTC.
  auto r = rule("30 2 * * *", "Europe/Berlin");
  BOOST_TEST(*r.next_after(at("2026-03-28 12:00")) == at("2026-03-29 01:00"));
  BOOST_TEST(*r.next_after(at("2026-03-29 01:00")) == at("2026-03-30 02:30", 2));
}

BOOST_AUTO_TEST_CASE(the_first_hour_after_the_spring_gap_still_ticks_in_local_time) {
  auto r = rule("0 3 * * *", "Europe/Berlin");
  BOOST_TEST(*r.next_after(at("2026-03-28 12:00")) == at("2026-03-29 03:00", 2));
  BOOST_TEST(*r.next_after(at("2026-03-29 03:00", 2)) == at("2026-03-30 03:00", 2));
}

BOOST_AUTO_TEST_CASE(every_15_minutes_collapses_the_spring_gap_into_one_tick) {
  auto got = ticks("*/15 * * * *", at("2026-03-29 01:30", 1), 6, "Europe/Berlin");
  std::vector<millis> want{at("2026-03-29 01:45", 1), at("2026-03-29 03:00", 2),
                           at("2026-03-29 03:15", 2), at("2026-03-29 03:30", 2),
                           at("2026-03-29 03:45", 2), at("2026-03-29 04:00", 2)};
  BOOST_TEST(got == want, boost::test_tools::per_element());
  BOOST_TEST(strictly_increasing(ticks("*/15 * * * *", at("2026-03-28 20:00"), 200, "Europe/Berlin")));
}

BOOST_AUTO_TEST_CASE(a_repeated_local_time_ticks_once_at_its_first_occurrence) {
  // Europe/Berlin, 2026-10-25: 03:00 CEST (+2) becomes 02:00 CET (+1) at 01:00 UTC.
  auto r = rule("30 2 * * *", "Europe/Berlin");
  BOOST_TEST(*r.next_after(at("2026-10-24 12:00")) == at("2026-10-25 00:30"));
  BOOST_TEST(*r.next_after(at("2026-10-25 00:30")) == at("2026-10-26 02:30", 1));
}

BOOST_AUTO_TEST_CASE(every_15_minutes_skips_the_second_pass_of_the_repeated_hour) {
  auto got = ticks("*/15 * * * *", at("2026-10-25 01:50", 2), 6, "Europe/Berlin");
  std::vector<millis> want{at("2026-10-25 02:00", 2), at("2026-10-25 02:15", 2),
                           at("2026-10-25 02:30", 2), at("2026-10-25 02:45", 2),
                           at("2026-10-25 03:00", 1), at("2026-10-25 03:15", 1)};
  BOOST_TEST(got == want, boost::test_tools::per_element());
  // Asked from inside the second pass, the next tick is the hour after it.
  auto r = rule("*/15 * * * *", "Europe/Berlin");
  BOOST_TEST(*r.next_after(at("2026-10-25 02:20", 1)) == at("2026-10-25 03:00", 1));
  BOOST_TEST(strictly_increasing(ticks("*/15 * * * *", at("2026-10-24 20:00"), 200, "Europe/Berlin")));
  BOOST_TEST(strictly_increasing(ticks("* * * * *", at("2026-10-24 23:00"), 300, "Europe/Berlin")));
}

BOOST_AUTO_TEST_CASE(new_york_changes_follow_the_same_rules) {
  // 2026-03-08: 02:00 EST (-5) becomes 03:00 EDT (-4) at 07:00 UTC.
  BOOST_TEST(*rule("30 2 * * *", "America/New_York").next_after(at("2026-03-07 12:00"))
             == at("2026-03-08 07:00"));
  // 2026-11-01: 02:00 EDT (-4) becomes 01:00 EST (-5) at 06:00 UTC.
  auto r = rule("30 1 * * *", "America/New_York");
  BOOST_TEST(*r.next_after(at("2026-10-31 12:00")) == at("2026-11-01 01:30", -4));
  BOOST_TEST(*r.next_after(at("2026-11-01 01:30", -4)) == at("2026-11-02 01:30", -5));
}

BOOST_AUTO_TEST_CASE(a_rule_is_read_from_several_threads_at_once) {
  // A zone no other test uses: the date library loads its rules on first use,
  // here from four threads at once.
  auto r = rule("*/15 * * * *", "Australia/Sydney");
  std::vector<std::vector<millis>> got(4);
  std::vector<std::thread> threads;
  for (auto& g : got)
    threads.emplace_back([&r, &g] { g = r.next_n(at("2026-04-04 00:00"), 500); });
  for (auto& t : threads)
    t.join();
  auto want = r.next_n(at("2026-04-04 00:00"), 500);
  BOOST_TEST(want.size() == 500u);
  BOOST_TEST(strictly_increasing(want));
  for (auto& g : got)
    BOOST_TEST((g == want));
}

// -- intervals ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_interval_ticks_at_whole_intervals_after_its_anchor) {
  auto r = rule("@every 1h");
  auto anchor = at("2026-01-01 00:10");
  BOOST_TEST(*r.next_after(anchor, anchor) == anchor + hour);
  BOOST_TEST(*r.next_after(anchor + hour - 1, anchor) == anchor + hour);
  BOOST_TEST(*r.next_after(anchor + hour, anchor) == anchor + 2 * hour);
  BOOST_TEST(*r.next_after(anchor + 150 * minute, anchor) == anchor + 3 * hour);
  std::vector<millis> want{anchor + hour, anchor + 2 * hour, anchor + 3 * hour};
  BOOST_TEST(r.next_n(anchor, 3, anchor) == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_interval_asked_before_its_anchor_ticks_one_interval_after_it) {
  auto r = rule("@every 90s");
  auto anchor = at("2026-01-01 00:10");
  BOOST_TEST(*r.next_after(anchor - 5 * hour, anchor) == anchor + 90'000);
  BOOST_TEST(*r.next_after(std::numeric_limits<millis>::min(), anchor) == anchor + 90'000);
}

BOOST_AUTO_TEST_CASE(an_interval_ignores_the_zone) {
  auto anchor = at("2026-03-29 00:30");
  BOOST_TEST(rule("@every 15m", "Europe/Berlin").next_n(anchor, 8, anchor)
                 == rule("@every 15m").next_n(anchor, 8, anchor),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_interval_near_the_end_of_time_gives_no_tick_instead_of_wrapping) {
  constexpr auto max = std::numeric_limits<millis>::max();
  constexpr auto min = std::numeric_limits<millis>::min();
  auto r = rule("@every 1d");
  BOOST_TEST(!r.next_after(max - 10).has_value());
  BOOST_TEST(!r.next_after(0, max - 1000).has_value());
  BOOST_TEST(!r.next_after(max, min).has_value());
  BOOST_TEST(*r.next_after(min, min) == min + 24 * hour);
  BOOST_TEST(r.next_n(max - 3 * 24 * hour, 10).size() <= 3u);
}

// -- next_n and copies ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(next_n_returns_n_increasing_ticks) {
  auto got = ticks("*/7 9-17 * * MON-FRI", at("2026-05-01 00:00"), 100, "Europe/Berlin");
  BOOST_TEST(got.size() == 100u);
  BOOST_TEST(strictly_increasing(got));
  BOOST_TEST(rule("@hourly").next_n(0, 0).empty());
}

BOOST_AUTO_TEST_CASE(a_copied_or_moved_rule_ticks_like_the_original) {
  auto original = rule("0 9 * * *", "America/New_York");
  auto copy = original;
  auto moved = std::move(copy);
  BOOST_TEST(moved.next_n(at("2026-03-01 00:00"), 20) == original.next_n(at("2026-03-01 00:00"), 20),
             boost::test_tools::per_element());
  BOOST_TEST(moved.time_zone() == "America/New_York");
}
