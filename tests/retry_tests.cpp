#define BOOST_TEST_MODULE retry_tests
#include <boost/test/unit_test.hpp>

#include "jobrt/backoff.hpp"

#include "clock_fixture.hpp"

// Retries: the backoff arithmetic, and jobs that fail, time out and retry on a
// manual clock (see clock_fixture.hpp). Nothing sleeps.

using namespace std::chrono_literals;
using namespace clock_tests;
using jobrt::job_status;

JOBRT_REGISTER_JOB(flaky_job);
JOBRT_REGISTER_JOB(hang_job);

// -- backoff ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(backoff_doubles_from_the_base_up_to_the_cap) {
  std::vector<std::int64_t> full;
  for (std::uint32_t attempt = 1; attempt <= 7; ++attempt)
    full.push_back(jobrt::backoff_delay(attempt, 1000, 30000, 1.0));
  std::vector<std::int64_t> expected{1000, 2000, 4000, 8000, 16000, 30000, 30000};
  BOOST_TEST(full == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(backoff_jitter_stays_between_half_and_the_full_delay) {
  for (double u : {0.0, 0.25, 0.5, 0.999, 1.0}) {
    auto d = jobrt::backoff_delay(3, 1000, 60000, u);
    BOOST_TEST(d >= 2000);
    BOOST_TEST(d <= 4000);
  }
  BOOST_TEST(jobrt::backoff_delay(3, 1000, 60000, 0.0) == 2000);
}

BOOST_AUTO_TEST_CASE(backoff_never_overflows_for_huge_attempt_counts) {
  BOOST_TEST(jobrt::backoff_delay(4000000000u, 1000, 3600000, 1.0) == 3600000);
}

BOOST_AUTO_TEST_CASE(backoff_with_an_unbounded_cap_saturates_instead_of_wrapping) {
  BOOST_TEST(jobrt::backoff_delay(200, 1000, end_of_time, 1.0) == end_of_time);
  BOOST_TEST(jobrt::backoff_delay(200, 1000, end_of_time, 0.0) == end_of_time / 2);
}

// -- retries --------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(retries, clock_fixture)

BOOST_AUTO_TEST_CASE(a_transient_error_waits_out_its_backoff_and_then_retries) {
  auto id = submit("flaky", {{"fail_times", 1}});
  auto waiting = when(id, job_status::waiting);
  BOOST_TEST(waiting.waiting_for == "retry");
  BOOST_TEST(waiting.error == "upstream said no (run 1)");
  BOOST_TEST(waiting.attempts == 1u);
  auto delay = waiting.wake_at - clock->now();
  BOOST_TEST(delay >= 500);
  BOOST_TEST(delay <= 1000);
  clock->advance(delay - 1);
  BOOST_TEST(get(id).status == job_status::waiting);
  clock->advance(1);
  auto done = when(id, job_status::completed);
  BOOST_TEST(done.attempts == 2u);
  BOOST_TEST(done.output.at("runs").as_int64() == 2);
}

BOOST_AUTO_TEST_CASE(a_job_that_keeps_failing_fails_after_its_last_attempt) {
  auto id = submit("flaky", {{"fail_times", 10}});
  for (int retry = 1; retry <= 2; ++retry) {
    auto w = when(id, job_status::waiting, retry);
    clock->advance(w.wake_at - clock->now());
  }
  auto failed = when(id, job_status::failed);
  BOOST_TEST(failed.attempts == 3u);
  BOOST_TEST(failed.error == "upstream said no (run 3)");
}

BOOST_AUTO_TEST_CASE(a_permanent_error_fails_at_once_without_retry) {
  auto id = submit("flaky", {{"fail_times", 1}, {"permanent", true}});
  auto failed = when(id, job_status::failed);
  BOOST_TEST(failed.attempts == 1u);
  auto seen = events.statuses_of(id);
  BOOST_TEST(std::count(seen.begin(), seen.end(), job_status::waiting) == 0);
}

BOOST_AUTO_TEST_CASE(max_attempts_can_be_overridden_per_job) {
  jobrt::submit_options o;
  o.max_attempts = 1;
  auto id = submit("flaky", {{"fail_times", 1}}, o);
  auto failed = when(id, job_status::failed);
  BOOST_TEST(failed.max_attempts == 1u);
}

BOOST_AUTO_TEST_CASE(a_run_past_its_timeout_is_stopped_and_retried) {
  auto id = submit("hang", json::object{});
  when(id, job_status::running);
  clock->advance(999);
  BOOST_TEST(get(id).status == job_status::running);
  clock->advance(1);
  auto waiting = when(id, job_status::waiting);
  BOOST_TEST(waiting.error == "timed out after 1000 ms");
  clock->advance(100);
  when(id, job_status::running, 2);
  clock->advance(1000);
  auto failed = when(id, job_status::failed);
  BOOST_TEST(failed.attempts == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
