#define BOOST_TEST_MODULE timer_tests
#include <boost/test/unit_test.hpp>

#include <future>
#include "jobrt/backoff.hpp"

#include "clock_fixture.hpp"

// Timers: arithmetic on times, the clocks, delayed and paced jobs, and timers
// across restarts, on a manual clock (see clock_fixture.hpp). Nothing sleeps.

using namespace std::chrono_literals;
using namespace clock_tests;
using jobrt::job_status;

JOBRT_REGISTER_JOB(test_jobs::sum_job);
JOBRT_REGISTER_JOB(test_jobs::limited_job);
JOBRT_REGISTER_JOB(hang_job);
JOBRT_REGISTER_JOB(paced_job);

// -- arithmetic on times ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(adding_to_a_time_saturates_at_both_ends) {
  constexpr auto lowest = std::numeric_limits<millis_t>::min();
  BOOST_TEST(jobrt::saturating_add(1'700'000'000'000, 10'000'000'000'000) == 11'700'000'000'000);
  BOOST_TEST(jobrt::saturating_add(1'700'000'000'000, end_of_time) == end_of_time);
  BOOST_TEST(jobrt::saturating_add(end_of_time, 1) == end_of_time);
  BOOST_TEST(jobrt::saturating_add(-5, lowest) == lowest);
  BOOST_TEST(jobrt::saturating_add(end_of_time, lowest) == -1);
}

BOOST_AUTO_TEST_CASE(a_wait_is_cut_to_at_most_a_year_and_never_negative) {
  using std::chrono::milliseconds;
  BOOST_TEST(jobrt::bounded_wait(milliseconds{250}).count() == 250);
  BOOST_TEST(jobrt::bounded_wait(milliseconds::max()).count() == jobrt::max_single_wait.count());
  BOOST_TEST(jobrt::bounded_wait(milliseconds{-3}).count() == 0);
}

BOOST_AUTO_TEST_CASE(a_manual_clock_advanced_past_the_end_of_time_stops_there) {
  jobrt::manual_clock c;
  bool fired = false;
  c.call_at(end_of_time, [&] { fired = true; });
  c.advance(end_of_time);
  BOOST_TEST(c.now() == end_of_time);
  BOOST_TEST(fired);
}

BOOST_AUTO_TEST_CASE(the_system_clock_fires_a_near_timer_while_one_at_the_end_of_time_is_armed) {
  std::promise<void> near;
  {
    auto c = jobrt::make_system_clock();
    c->call_at(end_of_time, [] { BOOST_ERROR("a timer at the end of time fired"); });
    c->call_at(c->now() + 5, [&] { near.set_value(); });
    BOOST_TEST((near.get_future().wait_for(std::chrono::seconds{30})
                == std::future_status::ready));
  } // and its thread ends although a timer centuries away is still armed
}

// -- delayed jobs and restarts -------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(timers, clock_fixture)

BOOST_AUTO_TEST_CASE(a_delayed_job_runs_at_its_time_and_not_before) {
  jobrt::submit_options o;
  o.run_at = clock->now() + 5000;
  auto id = submit("sum", {{"n", 3}}, o);
  auto rec = get(id);
  BOOST_TEST(rec.status == job_status::waiting);
  BOOST_TEST(rec.waiting_for == "scheduled");
  clock->advance(4999);
  BOOST_TEST(get(id).status == job_status::waiting);
  clock->advance(1);
  BOOST_TEST(when(id, job_status::completed).started_at == o.run_at);
}

BOOST_AUTO_TEST_CASE(a_job_delayed_to_the_end_of_time_waits_and_the_runtime_goes_on) {
  jobrt::submit_options o;
  o.run_at = end_of_time;
  auto far = submit("sum", {{"n", 3}}, o);
  BOOST_TEST(get(far).status == job_status::waiting);
  BOOST_TEST(get(far).wake_at == end_of_time);
  clock->advance(std::int64_t{1000} * 3600 * 24 * 365 * 100); // a hundred years
  BOOST_TEST(get(far).status == job_status::waiting);
  auto near = submit("sum", {{"n", 3}});
  when(near, job_status::completed);
  BOOST_TEST(get(far).status == job_status::waiting);
}

BOOST_AUTO_TEST_CASE(a_paced_step_waits_on_the_runtime_clock_for_its_whole_delay) {
  auto id = submit("paced", {{"steps", 2}, {"pace_ms", 1000}});
  wait_progress(id, 0.5);
  when(id, job_status::running); // get reads the store: the step may report before it is durable
  clock->advance(999);
  BOOST_TEST(get(id).status == job_status::running);
  clock->advance(1);
  when(id, job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_pace_of_ten_trillion_ms_waits_instead_of_stepping_at_once) {
  // 10^13 ms in nanoseconds is past 2^63: converted for a timer, it wrapped.
  auto id = submit("paced", {{"steps", 2}, {"pace_ms", 10'000'000'000'000}});
  wait_progress(id, 0.5);
  when(id, job_status::running); // get reads the store: the step may report before it is durable
  clock->advance(9'999'999'999'999);
  BOOST_TEST(get(id).status == job_status::running);
  clock->advance(1);
  when(id, job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_pace_to_the_end_of_time_keeps_the_job_steerable) {
  auto id = submit("paced", {{"steps", 2}, {"pace_ms", end_of_time}});
  wait_progress(id, 0.5);
  when(id, job_status::running); // get reads the store: the step may report before it is durable
  clock->advance(std::int64_t{1000} * 3600 * 24 * 365 * 1000); // a thousand years
  BOOST_TEST(get(id).status == job_status::running);
  BOOST_REQUIRE(rt->cancel(id).ok());
  BOOST_TEST(when(id, job_status::cancelled).progress.fraction.value_or(0) == 0.5);
}

BOOST_AUTO_TEST_CASE(a_rate_limit_of_centuries_waits_to_the_end_of_time_instead_of_wrapping) {
  auto id = submit("limited", {{"retry_after_ms", end_of_time}});
  auto waiting = when(id, job_status::waiting);
  BOOST_TEST(waiting.wake_at == end_of_time);
  clock->advance(std::int64_t{1000} * 3600 * 24 * 365 * 100);
  BOOST_TEST(get(id).status == job_status::waiting);
}

BOOST_AUTO_TEST_CASE(a_timeout_of_centuries_does_not_stop_the_run) {
  jobrt::submit_options o;
  o.timeout_ms = end_of_time;
  auto id = submit("hang", json::object{}, o);
  when(id, job_status::running);
  clock->advance(std::int64_t{1000} * 3600 * 24 * 365 * 100);
  BOOST_TEST(get(id).status == job_status::running);
  BOOST_TEST(get(id).attempts == 1u);
}

BOOST_AUTO_TEST_CASE(a_call_timeout_of_centuries_still_lets_calls_through) {
  tweak = [](jobrt::runtime_options& o) { o.call_timeout = std::chrono::milliseconds::max(); };
  restart(2);
  auto id = submit("sum", {{"n", 3}});
  BOOST_TEST(when(id, job_status::completed).output.as_object().at("total") == 6);
}

BOOST_AUTO_TEST_CASE(a_waiting_job_gets_its_timer_back_after_a_restart,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  auto id = submit("limited", {{"retry_after_ms", 5000}});
  when(id, job_status::waiting);
  clock->advance(2000);
  restart(2);
  BOOST_TEST(get(id).status == job_status::waiting);
  clock->advance(2999);
  BOOST_TEST(get(id).status == job_status::waiting);
  clock->advance(1);
  when(id, job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_timer_that_came_due_while_the_process_was_down_fires_at_once,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  jobrt::submit_options o;
  o.run_at = clock->now() + 1000;
  auto id = submit("sum", {{"n", 3}}, o);
  stop();
  clock->advance(60000); // the process is down for a minute
  start(2);
  when(id, job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_stale_timer_of_a_resumed_job_is_ignored) {
  auto id = submit("limited", {{"retry_after_ms", 1000}});
  when(id, job_status::waiting);
  BOOST_REQUIRE(rt->pause(id).ok());
  BOOST_REQUIRE(rt->resume(id).ok()); // queued again at once, the timer is stale
  BOOST_REQUIRE(events.wait_status(id, job_status::completed));
  clock->advance(5000); // the old timer's wake reaches the scheduler before this get
  BOOST_TEST(get(id).status == job_status::completed);
}

BOOST_AUTO_TEST_SUITE_END()
