#define BOOST_TEST_MODULE schedule_tests
#include <boost/test/unit_test.hpp>

#include <date/date.h>

#include "clock_fixture.hpp"

// Recurring schedules on a manual clock (see clock_fixture.hpp): ticks across
// minutes, days, month ends, a leap day and both daylight-saving changes of a
// zone; the policies for missed and overlapping ticks; restarts. Nothing sleeps.

// Lists of ticks print their values when a check fails.
namespace boost::test_tools::tt_detail {
template <>
struct print_log_value<std::vector<jobrt::millis>> {
  void operator()(std::ostream& out, const std::vector<jobrt::millis>& ticks) {
    out << '[';
    for (std::size_t i = 0; i < ticks.size(); ++i)
      out << (i ? ", " : "") << ticks[i];
    out << ']';
  }
};
} // namespace boost::test_tools::tt_detail

using namespace clock_tests;
using jobrt::job_status;
using jobrt::missed_ticks;
using jobrt::overlapping_ticks;
using jobrt::schedule_info;
using jobrt::schedule_options;

JOBRT_REGISTER_JOB(test_jobs::sum_job);
JOBRT_REGISTER_JOB(test_jobs::gated_job);

namespace {

constexpr millis_t minute = 60'000;
constexpr millis_t hour = 60 * minute;
constexpr millis_t day = 24 * hour;

/// "2026-03-29 01:30" in UTC, as ms since the epoch.
millis_t utc(const std::string& text) {
  std::istringstream in{text};
  date::sys_time<std::chrono::minutes> t;
  in >> date::parse("%Y-%m-%d %H:%M", t);
  BOOST_REQUIRE_MESSAGE(!in.fail(), "bad time " + text);
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// A manual clock whose timers fire late: `advance` moves the time to its end
/// first, then fires what came due on the way, as a busy or stalled process
/// would. (A `manual_clock` shows each timer its own time while it fires it.)
class late_clock : public jobrt::clock {
public:
  explicit late_clock(millis_t start) : shown_(start), timers_(start) {}
  millis_t now() const override { return shown_.load(); }
  void call_at(millis_t at, std::function<void()> fn) override {
    if (at <= shown_.load())
      fn();
    else
      timers_.call_at(at, std::move(fn));
  }
  void cancel_all() override { timers_.cancel_all(); }
  void advance(millis_t ms) {
    shown_ += ms;
    timers_.advance(ms);
  }

private:
  std::atomic<millis_t> shown_;
  jobrt::manual_clock timers_;
};

struct schedule_fixture : clock_fixture {
  /// Moves the clock to `at` (later than now), firing what comes due on the way.
  /// A tick that comes due on the way is handled at `at`: a span of several
  /// ticks is then late for all but the newest (see `catch_up`).
  void advance_to(millis_t at) {
    BOOST_REQUIRE(at >= clock->now());
    clock->advance(at - clock->now());
    BOOST_REQUIRE(rt->list_schedules().ok()); // the scheduler has taken the ticks sent
  }

  /// Options under which every tick of a span fires, however late, and
  /// whether or not the job of the tick before has finished.
  static schedule_options catch_up(std::string zone = "UTC") {
    schedule_options o;
    o.on_missed = missed_ticks::run_each;
    o.max_catch_up = 1000;
    o.on_overlap = overlapping_ticks::allow;
    o.time_zone = std::move(zone);
    return o;
  }

  /// Restarts the runtime on a `late_clock` at 10:00 on 5 January 2026.
  std::shared_ptr<late_clock> run_late() {
    auto late = std::make_shared<late_clock>(utc("2026-01-05 10:00"));
    tweak = [late](jobrt::runtime_options& o) { o.clock = late; };
    restart(2);
    return late;
  }

  schedule_info add(const std::string& name, const std::string& spec, schedule_options o = {},
                    const std::string& type = "sum") {
    auto s = rt->schedule(name, spec, type, {{"n", 2}}, o);
    BOOST_REQUIRE_MESSAGE(s.ok(), (s ? "" : s.error().message));
    return *s;
  }

  /// The schedule as the scheduler holds it now: after every tick that the
  /// clock has sent so far.
  schedule_info find(const std::string& name) {
    auto all = rt->list_schedules();
    BOOST_REQUIRE(all.ok());
    for (auto& s : *all)
      if (s.name == name)
        return s;
    BOOST_FAIL("no schedule " + name);
    return {};
  }

  /// The jobs of `type` in the store, oldest first, once `n` of them are there.
  std::vector<jobrt::job_record> jobs(std::size_t n, const std::string& type = "sum") {
    std::vector<jobrt::job_record> out;
    // A commit may be on its way; a busy machine gets a generous deadline.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      jobrt::list_query q;
      q.type = type;
      q.limit = 1000;
      auto page = rt->list(q);
      BOOST_REQUIRE(page.ok());
      out = page->jobs;
      if (out.size() >= n)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  /// The ticks from `since` on that submitted a job, once `n` of them have.
  std::vector<millis_t> ticks_since(millis_t since, std::size_t n) {
    std::vector<millis_t> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      out.clear();
      for (auto t : ticks_of(jobs(0)))
        if (t >= since)
          out.push_back(t);
      if (out.size() < n)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return out;
  }

  /// The tick each job was submitted for, from its idempotency key.
  static std::vector<millis_t> ticks_of(const std::vector<jobrt::job_record>& js) {
    std::vector<millis_t> out;
    for (const auto& j : js)
      out.push_back(std::stoll(j.idempotency_key.substr(j.idempotency_key.rfind('/') + 1)));
    return out;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(schedules, schedule_fixture)

// -- ticks --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_cron_schedule_submits_one_job_at_each_tick) {
  advance_to(utc("2026-01-05 10:02"));
  auto s = add("every-five", "*/5 * * * *");
  BOOST_TEST(s.next_tick == utc("2026-01-05 10:05"));
  advance_to(utc("2026-01-05 10:04"));
  BOOST_TEST(find("every-five").fired == 0u);
  advance_to(utc("2026-01-05 10:05"));
  // Finished before the next tick: a tick skips while the last one's job runs.
  when(jobs(1).at(0).id, job_status::completed);
  advance_to(utc("2026-01-05 10:10"));
  auto js = jobs(2);
  BOOST_REQUIRE(js.size() == 2u);
  BOOST_TEST(ticks_of(js) == (std::vector<millis_t>{utc("2026-01-05 10:05"),
                                                    utc("2026-01-05 10:10")}));
  BOOST_TEST(js[0].idempotency_key == jobrt::schedule_tick_key("every-five",
                                                               utc("2026-01-05 10:05")));
  BOOST_TEST(js[0].params.as_object().at("n") == 2);
  auto now = find("every-five");
  BOOST_TEST(now.fired == 2u);
  BOOST_TEST(now.last_job == js[1].id);
  BOOST_TEST(now.next_tick == utc("2026-01-05 10:15"));
  BOOST_TEST(when(js[1].id, job_status::completed).output.as_object().at("total") == 3);
}

BOOST_AUTO_TEST_CASE(an_interval_schedule_ticks_from_the_moment_it_was_made) {
  advance_to(utc("2026-01-05 10:00") + 1234);
  auto s = add("ninety", "@every 90s", catch_up());
  BOOST_TEST(s.next_tick == s.created_at + 90'000);
  advance_to(s.created_at + 3 * 90'000);
  BOOST_TEST(ticks_of(jobs(3)) == (std::vector<millis_t>{s.created_at + 90'000,
                                                         s.created_at + 180'000,
                                                         s.created_at + 270'000}));
}

BOOST_AUTO_TEST_CASE(a_daily_schedule_follows_its_zone_across_both_daylight_saving_changes) {
  advance_to(utc("2026-03-27 12:00"));
  add("berlin-nine", "0 9 * * *", catch_up("Europe/Berlin"));
  advance_to(utc("2026-03-31 12:00"));
  // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
  BOOST_TEST(ticks_of(jobs(4)) == (std::vector<millis_t>{
                                    utc("2026-03-28 08:00"), utc("2026-03-29 07:00"),
                                    utc("2026-03-30 07:00"), utc("2026-03-31 07:00")}));
  BOOST_REQUIRE(rt->unschedule("berlin-nine").ok());
  advance_to(utc("2026-10-23 12:00"));
  add("berlin-nine", "0 9 * * *", catch_up("Europe/Berlin"));
  advance_to(utc("2026-10-27 12:00"));
  BOOST_TEST(ticks_since(utc("2026-10-23 12:00"), 4) == (std::vector<millis_t>{
                                      utc("2026-10-24 07:00"), utc("2026-10-25 08:00"),
                                      utc("2026-10-26 08:00"), utc("2026-10-27 08:00")}));
}

BOOST_AUTO_TEST_CASE(a_time_skipped_by_the_spring_change_ticks_once_when_the_clocks_change) {
  advance_to(utc("2026-03-28 12:00"));
  add("half-past-two", "30 2 * * *", catch_up("Europe/Berlin")); // 02:30 does not exist in Berlin on 29 March
  advance_to(utc("2026-03-30 12:00"));
  BOOST_TEST(ticks_of(jobs(2)) == (std::vector<millis_t>{utc("2026-03-29 01:00"),
                                                         utc("2026-03-30 00:30")}));
}

BOOST_AUTO_TEST_CASE(a_time_repeated_by_the_autumn_change_ticks_once) {
  advance_to(utc("2026-10-24 12:00"));
  add("half-past-two", "30 2 * * *", catch_up("Europe/Berlin")); // 02:30 happens twice in Berlin on 25 October
  advance_to(utc("2026-10-26 12:00"));
  BOOST_TEST(ticks_of(jobs(2)) == (std::vector<millis_t>{utc("2026-10-25 00:30"),
                                                         utc("2026-10-26 01:30")}));
}

BOOST_AUTO_TEST_CASE(a_schedule_on_the_31st_skips_the_shorter_months) {
  advance_to(utc("2026-01-15 00:00"));
  add("month-end", "0 12 31 * *", catch_up());
  advance_to(utc("2026-05-31 12:00"));
  BOOST_TEST(ticks_of(jobs(3)) == (std::vector<millis_t>{utc("2026-01-31 12:00"),
                                                         utc("2026-03-31 12:00"),
                                                         utc("2026-05-31 12:00")}));
}

BOOST_AUTO_TEST_CASE(a_leap_day_schedule_waits_for_the_next_leap_year) {
  advance_to(utc("2026-03-01 00:00"));
  auto s = add("leap-day", "0 0 29 2 *");
  BOOST_TEST(s.next_tick == utc("2028-02-29 00:00"));
  advance_to(utc("2028-02-28 23:59"));
  BOOST_TEST(find("leap-day").fired == 0u);
  advance_to(utc("2028-03-01 00:00"));
  BOOST_TEST(ticks_of(jobs(1)) == std::vector<millis_t>{utc("2028-02-29 00:00")});
}

// -- missed ticks ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_tick_later_than_the_grace_is_missed_and_skipped_when_told_to) {
  auto late = run_late();
  schedule_options o;
  o.on_missed = missed_ticks::skip;
  o.grace_ms = 1000;
  add("strict", "* * * * *", o);
  late->advance(5 * minute + 30'000); // the timer fires at 10:05:30
  auto s = find("strict");
  BOOST_TEST(s.fired == 0u);
  BOOST_TEST(s.last_tick == utc("2026-01-05 10:05"));
  BOOST_TEST(s.next_tick == utc("2026-01-05 10:06"));
}

BOOST_AUTO_TEST_CASE(missed_ticks_submit_one_job_for_all_with_run_once) {
  auto late = run_late();
  schedule_options o;
  o.on_missed = missed_ticks::run_once;
  o.grace_ms = 1000;
  add("once", "* * * * *", o);
  late->advance(5 * minute + 30'000);
  BOOST_TEST(ticks_of(jobs(1)) == std::vector<millis_t>{utc("2026-01-05 10:05")});
  BOOST_TEST(find("once").fired == 1u);
}

BOOST_AUTO_TEST_CASE(missed_ticks_each_submit_a_job_up_to_the_cap_with_run_each) {
  auto late = run_late();
  schedule_options o;
  o.on_missed = missed_ticks::run_each;
  o.max_catch_up = 3;
  o.grace_ms = 1000;
  add("each", "* * * * *", o);
  late->advance(5 * minute + 30'000);
  BOOST_TEST(ticks_of(jobs(3)) == (std::vector<millis_t>{utc("2026-01-05 10:03"),
                                                         utc("2026-01-05 10:04"),
                                                         utc("2026-01-05 10:05")}));
}

BOOST_AUTO_TEST_CASE(ticks_missed_while_the_process_was_down_follow_the_policy_after_a_restart,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  advance_to(utc("2026-01-05 10:00"));
  schedule_options each;
  each.on_missed = missed_ticks::run_each;
  each.max_catch_up = 100;
  each.grace_ms = 1000;
  schedule_options skip;
  skip.on_missed = missed_ticks::skip;
  skip.grace_ms = 1000;
  add("each", "* * * * *", each);
  add("skip", "* * * * *", skip);
  stop();
  clock->advance(10 * minute + 30'000); // down from 10:00 to 10:10:30
  start(2);
  BOOST_TEST(ticks_of(jobs(10)).size() == 10u);
  auto s = find("skip");
  BOOST_TEST(s.fired == 0u);
  BOOST_TEST(s.last_tick == utc("2026-01-05 10:10"));
  BOOST_TEST(find("each").fired == 10u);
}

// -- overlapping ticks ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_tick_is_skipped_while_the_previous_job_runs_when_told_to) {
  advance_to(utc("2026-01-05 10:00"));
  schedule_options o;
  o.on_overlap = overlapping_ticks::skip;
  auto s = rt->schedule("slow", "* * * * *", "gated", {{"n", 1}}, o);
  BOOST_REQUIRE(s.ok());
  advance_to(utc("2026-01-05 10:01"));
  auto first = jobs(1, "gated");
  BOOST_REQUIRE(first.size() == 1u);
  when(first[0].id, job_status::running);
  advance_to(utc("2026-01-05 10:02"));
  auto now = find("slow");
  BOOST_TEST(now.fired == 1u);
  BOOST_TEST(now.last_tick == utc("2026-01-05 10:02"));
  test_jobs::permits += 1;
  when_polled(first[0].id, job_status::completed);
  advance_to(utc("2026-01-05 10:03"));
  BOOST_TEST(jobs(2, "gated").size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_queued_tick_fires_when_the_previous_job_ends) {
  advance_to(utc("2026-01-05 10:00"));
  schedule_options o;
  o.on_overlap = overlapping_ticks::queue;
  BOOST_REQUIRE(rt->schedule("serial", "* * * * *", "gated", {{"n", 1}}, o).ok());
  advance_to(utc("2026-01-05 10:01"));
  auto first = jobs(1, "gated");
  BOOST_REQUIRE(first.size() == 1u);
  when(first[0].id, job_status::running);
  advance_to(utc("2026-01-05 10:02"));
  BOOST_TEST(find("serial").fired == 1u);
  test_jobs::permits += 1;
  when_polled(first[0].id, job_status::completed);
  auto both = jobs(2, "gated");
  BOOST_REQUIRE(both.size() == 2u);
  BOOST_TEST(ticks_of(both)[1] == utc("2026-01-05 10:02"));
  test_jobs::permits += 1;
}

BOOST_AUTO_TEST_CASE(overlapping_ticks_run_together_when_allowed) {
  advance_to(utc("2026-01-05 10:00"));
  schedule_options o;
  o.on_overlap = overlapping_ticks::allow;
  BOOST_REQUIRE(rt->schedule("together", "* * * * *", "gated", {{"n", 1}}, o).ok());
  advance_to(utc("2026-01-05 10:01"));
  when(jobs(1, "gated").at(0).id, job_status::running);
  advance_to(utc("2026-01-05 10:02"));
  BOOST_TEST(jobs(2, "gated").size() == 2u);
  test_jobs::permits += 2;
}

// -- steering -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_paused_schedule_does_not_tick_and_does_not_make_up_after_resuming) {
  advance_to(utc("2026-01-05 10:00"));
  add("on-off", "* * * * *");
  BOOST_REQUIRE(rt->pause_schedule("on-off").ok());
  BOOST_TEST(find("on-off").next_tick == 0);
  advance_to(utc("2026-01-05 10:05"));
  BOOST_REQUIRE(rt->resume_schedule("on-off").ok());
  BOOST_TEST(find("on-off").fired == 0u);
  BOOST_TEST(find("on-off").next_tick == utc("2026-01-05 10:06"));
  advance_to(utc("2026-01-05 10:06"));
  BOOST_TEST(ticks_of(jobs(1)) == std::vector<millis_t>{utc("2026-01-05 10:06")});
}

BOOST_AUTO_TEST_CASE(a_deleted_schedule_stops_ticking_and_leaves_its_jobs) {
  advance_to(utc("2026-01-05 10:00"));
  add("short-lived", "* * * * *");
  advance_to(utc("2026-01-05 10:01"));
  BOOST_REQUIRE(jobs(1).size() == 1u);
  BOOST_REQUIRE(rt->unschedule("short-lived").ok());
  BOOST_TEST(rt->unschedule("short-lived").error().code == jobrt::errc::not_found);
  advance_to(utc("2026-01-05 10:05"));
  BOOST_TEST(rt->list_schedules()->empty());
  BOOST_TEST(jobs(1).size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_replaced_schedule_keeps_the_ticks_it_handled) {
  advance_to(utc("2026-01-05 10:00"));
  add("changing", "* * * * *");
  advance_to(utc("2026-01-05 10:01"));
  auto replaced = add("changing", "*/10 * * * *");
  BOOST_TEST(replaced.fired == 1u);
  BOOST_TEST(replaced.last_tick == utc("2026-01-05 10:01"));
  BOOST_TEST(replaced.next_tick == utc("2026-01-05 10:10"));
  BOOST_TEST(replaced.spec == "*/10 * * * *");
}

BOOST_AUTO_TEST_CASE(schedules_and_their_last_ticks_survive_a_restart,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  advance_to(utc("2026-01-05 10:00"));
  schedule_options o;
  o.time_zone = "America/New_York";
  o.on_overlap = overlapping_ticks::allow; // the 10:02 job may run still at 10:04
  add("kept", "*/2 * * * *", o);
  add("held", "* * * * *");
  BOOST_REQUIRE(rt->pause_schedule("held").ok());
  advance_to(utc("2026-01-05 10:02"));
  BOOST_REQUIRE(jobs(1).size() == 1u);
  restart(2);
  auto kept = find("kept");
  BOOST_TEST(kept.options.time_zone == "America/New_York");
  BOOST_TEST(kept.fired == 1u);
  BOOST_TEST(kept.last_tick == utc("2026-01-05 10:02"));
  BOOST_TEST(find("held").paused);
  advance_to(utc("2026-01-05 10:04"));
  BOOST_TEST(ticks_of(jobs(2)) == (std::vector<millis_t>{utc("2026-01-05 10:02"),
                                                         utc("2026-01-05 10:04")}));
}

BOOST_AUTO_TEST_CASE(a_tick_fires_once_though_the_process_restarts_at_that_moment,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  advance_to(utc("2026-01-05 10:00"));
  auto o = catch_up();
  o.on_overlap = overlapping_ticks::allow;
  add("once-only", "* * * * *", o);
  advance_to(utc("2026-01-05 10:01"));
  restart(2); // the tick's commit and the shutdown race; either way one job
  restart(2);
  advance_to(utc("2026-01-05 10:02"));
  auto js = jobs(2);
  BOOST_TEST(ticks_of(js) == (std::vector<millis_t>{utc("2026-01-05 10:01"),
                                                    utc("2026-01-05 10:02")}));
  BOOST_TEST(find("once-only").fired == 2u);
}

// -- bad input ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_bad_spec_is_refused_with_the_field_named) {
  auto r = rt->schedule("bad", "61 * * * *", "sum", {{"n", 1}});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == jobrt::errc::invalid_argument);
  BOOST_TEST(r.error().message.find("minute") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unknown_time_zone_is_refused) {
  schedule_options o;
  o.time_zone = "Mars/Olympus_Mons";
  auto r = rt->schedule("mars", "0 9 * * *", "sum", {{"n", 1}}, o);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message.find("Mars/Olympus_Mons") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_schedule_of_an_unknown_job_type_is_refused) {
  auto r = rt->schedule("ghost", "* * * * *", "no-such-type", json::object{});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == jobrt::errc::unknown_job_type);
}

BOOST_AUTO_TEST_CASE(a_schedule_name_with_a_slash_or_too_long_is_refused) {
  BOOST_TEST(rt->schedule("a/b", "* * * * *", "sum", {{"n", 1}}).error().code
             == jobrt::errc::invalid_argument);
  BOOST_TEST(rt->schedule(std::string(201, 'x'), "* * * * *", "sum", {{"n", 1}}).error().code
             == jobrt::errc::invalid_argument);
  BOOST_TEST(rt->schedule("", "* * * * *", "sum", {{"n", 1}}).error().code
             == jobrt::errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_catch_up_cap_of_zero_is_refused) {
  schedule_options o;
  o.max_catch_up = 0;
  BOOST_TEST(rt->schedule("zero", "* * * * *", "sum", {{"n", 1}}, o).error().code
             == jobrt::errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(steering_an_unknown_schedule_is_not_found) {
  BOOST_TEST(rt->pause_schedule("nobody").error().code == jobrt::errc::not_found);
  BOOST_TEST(rt->resume_schedule("nobody").error().code == jobrt::errc::not_found);
}

BOOST_AUTO_TEST_SUITE_END()
