#define BOOST_TEST_MODULE retention_tests
#include <boost/test/unit_test.hpp>

#include "clock_fixture.hpp"

// Retention and administration: deleting finished jobs, clearing, force-failing,
// pausing job types, and what a finished job leaves in the store.

using namespace std::chrono_literals;
using namespace clock_tests;
using jobrt::job_status;

JOBRT_REGISTER_JOB(test_jobs::sum_job);
JOBRT_REGISTER_JOB(test_jobs::gated_job);
JOBRT_REGISTER_JOB(flaky_job);
JOBRT_REGISTER_JOB(hang_job);
JOBRT_REGISTER_JOB(api_call_job);

// -- retention and administration ---------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(retention_and_admin, clock_fixture)

BOOST_AUTO_TEST_CASE(retention_deletes_finished_jobs_with_their_checkpoints_and_keeps_the_rest) {
  tweak = [](jobrt::runtime_options& o) {
    o.retention[job_status::completed] = std::chrono::minutes(10);
    o.retention[job_status::failed] = std::chrono::minutes(10);
  };
  restart(2);
  auto done = submit("sum", {{"n", 20}});
  auto failed = submit("flaky", {{"fail_times", 1}, {"permanent", true}});
  auto paused = submit("gated", {{"n", 5}});
  BOOST_REQUIRE(events.wait_status(done, job_status::completed));
  BOOST_REQUIRE(events.wait_status(failed, job_status::failed));
  BOOST_REQUIRE(rt->pause(paused).ok());
  run_until(*this, 60'000, [&, n = 0]() mutable { return ++n > 9; }); // 9 minutes
  BOOST_TEST(rt->get(done).ok());
  run_until(*this, 60'000, [&] { return !rt->get(done).ok() && !rt->get(failed).ok(); });
  BOOST_TEST(rt->get(done).error().code == jobrt::errc::not_found);
  BOOST_TEST(rt->get(failed).error().code == jobrt::errc::not_found);
  BOOST_TEST(get(paused).status == job_status::paused);
  auto s = rt->stats();
  BOOST_TEST(s->deleted == 2u);
  // The checkpoint went with the record.
  auto store = stop_and_open_store();
  BOOST_TEST(!store->get_checkpoint(done)->has_value());
  BOOST_TEST(store->get_checkpoint(paused).ok());
}

BOOST_AUTO_TEST_CASE(a_retention_of_centuries_keeps_jobs_instead_of_wrapping_into_the_past) {
  tweak = [](jobrt::runtime_options& o) {
    o.retention[job_status::completed] = std::chrono::milliseconds::max();
    o.retention[job_status::failed] = std::chrono::minutes(10);
  };
  restart(2);
  auto kept = submit("sum", {{"n", 20}});
  auto failed = submit("flaky", {{"fail_times", 1}, {"permanent", true}});
  BOOST_REQUIRE(events.wait_status(kept, job_status::completed));
  BOOST_REQUIRE(events.wait_status(failed, job_status::failed));
  // One sweep deletes the failed job; the same sweep looked at the completed one.
  run_until(*this, 60'000, [&] { return !rt->get(failed).ok(); });
  BOOST_TEST(get(kept).status == job_status::completed);
}

BOOST_AUTO_TEST_CASE(delete_refuses_an_unfinished_job_and_removes_a_finished_one) {
  auto running = submit("gated", {{"n", 5}});
  auto r = rt->remove(running);
  BOOST_TEST(r.error().code == jobrt::errc::illegal_transition);
  BOOST_TEST(r.error().message == "cannot delete a running job; cancel it first");
  auto done = submit("sum", {{"n", 3}});
  BOOST_REQUIRE(events.wait_status(done, job_status::completed));
  BOOST_REQUIRE(rt->remove(done).ok());
  BOOST_TEST(rt->get(done).error().code == jobrt::errc::not_found);
  BOOST_TEST(rt->remove(done).error().code == jobrt::errc::not_found);
}

BOOST_AUTO_TEST_CASE(clear_failed_deletes_every_failed_job_and_nothing_else) {
  std::vector<jobrt::job_id> failed;
  for (int i = 0; i < 3; ++i)
    failed.push_back(submit("flaky", {{"fail_times", 1}, {"permanent", true}}));
  auto done = submit("sum", {{"n", 3}});
  for (auto id : failed)
    BOOST_REQUIRE(events.wait_status(id, job_status::failed));
  BOOST_REQUIRE(events.wait_status(done, job_status::completed));
  auto n = rt->clear(job_status::failed);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == 3u);
  BOOST_TEST(rt->get(done).ok());
  BOOST_TEST(rt->clear(job_status::running).error().code == jobrt::errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(force_fail_ends_a_stuck_job_without_retry) {
  auto id = submit("hang", json::object{});
  BOOST_REQUIRE(events.wait_status(id, job_status::running));
  BOOST_REQUIRE(rt->force_fail(id, "stuck for an hour").ok());
  auto rec = get(id);
  BOOST_TEST(rec.status == job_status::failed);
  BOOST_TEST(rec.error == "stuck for an hour");
  auto other = submit("sum", {{"n", 3}});
  BOOST_REQUIRE(events.wait_status(other, job_status::completed));
}

BOOST_AUTO_TEST_CASE(a_paused_job_type_starts_nothing_until_resumed_even_across_a_restart,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  BOOST_REQUIRE(rt->pause_type("sum").ok());
  auto held = submit("sum", {{"n", 3}});
  auto other = submit("api_call", {{"account", "x"}});
  BOOST_REQUIRE(events.wait_status(other, job_status::completed));
  BOOST_TEST(get(held).status == job_status::queued);
  restart(2);
  BOOST_TEST(get(held).status == job_status::queued);
  auto s = rt->stats();
  BOOST_TEST(s->paused_types == std::vector<std::string>{"sum"}, boost::test_tools::per_element());
  BOOST_REQUIRE(rt->resume_type("sum").ok());
  BOOST_REQUIRE(events.wait_status(held, job_status::completed));
  BOOST_TEST(rt->pause_type("no_such_type").error().code == jobrt::errc::unknown_job_type);
}

BOOST_AUTO_TEST_SUITE_END()

// -- regressions found by the crash loop ----------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(regressions, clock_fixture)

BOOST_AUTO_TEST_CASE(a_step_that_checkpoints_and_completes_writes_no_checkpoint_past_the_end) {
  auto id = submit("sum", {{"n", 10}, {"every", 10}}); // the last step asks for both
  BOOST_REQUIRE(events.wait_status(id, job_status::completed));
  auto store = stop_and_open_store();
  // A checkpoint of the final step, committed before the completion, would let a
  // crash between the two restart the job past its last step.
  BOOST_TEST(!store->get_checkpoint(id)->has_value());
}

BOOST_AUTO_TEST_SUITE_END()
