#define BOOST_TEST_MODULE idempotency_tests
#include <boost/test/unit_test.hpp>

#include "clock_fixture.hpp"

// What submit accepts: one job per idempotency key (scoped by owner, kept across
// restarts), and parameters refused instead of converted.

using namespace std::chrono_literals;
using namespace clock_tests;
using jobrt::job_status;

JOBRT_REGISTER_JOB(test_jobs::sum_job);

// -- unique jobs -------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(unique_keys, clock_fixture)

BOOST_AUTO_TEST_CASE(concurrent_submits_with_one_idempotency_key_create_one_job) {
  jobrt::submit_options o;
  o.idempotency_key = "invoice-2026-11-0042";
  std::vector<jobrt::job_id> ids(16);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < ids.size(); ++i)
    threads.emplace_back([&, i] {
      auto r = rt->submit("sum", {{"n", 3}}, o);
      ids[i] = r ? *r : 0;
    });
  for (auto& t : threads)
    t.join();
  for (auto id : ids)
    BOOST_TEST(id == ids[0]);
  BOOST_TEST(ids[0] != 0u);
  BOOST_TEST(rt->list()->jobs.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_idempotency_key_is_scoped_by_owner) {
  jobrt::submit_options a;
  a.owner = "a";
  a.idempotency_key = "invoice-7";
  auto b = a;
  b.owner = "b";
  auto first_of_a = submit("sum", {{"n", 3}}, a);
  auto first_of_b = submit("sum", {{"n", 3}}, b);
  BOOST_TEST(first_of_b != first_of_a);
  BOOST_TEST(get(first_of_b).owner == "b");
  BOOST_TEST(submit("sum", {{"n", 3}}, a) == first_of_a);
  BOOST_TEST(submit("sum", {{"n", 3}}, b) == first_of_b);
}

BOOST_AUTO_TEST_CASE(an_owner_keeps_its_key_across_a_restart_and_others_still_get_their_own,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  jobrt::submit_options a;
  a.owner = "a";
  a.idempotency_key = "invoice-8";
  auto first_of_a = submit("sum", {{"n", 3}}, a);
  restart(2);
  auto b = a;
  b.owner = "b";
  BOOST_TEST(submit("sum", {{"n", 3}}, a) == first_of_a);
  BOOST_TEST(submit("sum", {{"n", 3}}, b) != first_of_a);
}

BOOST_AUTO_TEST_CASE(a_key_stays_taken_after_the_job_finished_and_across_a_restart,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  jobrt::submit_options o;
  o.idempotency_key = "k1";
  auto first = submit("sum", {{"n", 3}}, o);
  when(first, job_status::completed);
  restart(2);
  BOOST_TEST(submit("sum", {{"n", 3}}, o) == first);
  o.idempotency_key = "k2";
  BOOST_TEST(submit("sum", {{"n", 3}}, o) != first);
}

BOOST_AUTO_TEST_SUITE_END()

// -- regressions found by the fuzzers --------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(regressions, clock_fixture)

BOOST_AUTO_TEST_CASE(a_parameter_of_exactly_two_to_the_63_is_refused_not_converted) {
  auto r = rt->submit_json("sum", R"({"n": 9.2233720368547758e18})");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == jobrt::errc::invalid_params);
}

BOOST_AUTO_TEST_CASE(a_number_that_json_cannot_store_is_refused_at_submit) {
  auto r = rt->submit_json("sum", R"({"n": 3, "pace_ms": null, "every": 1e400})");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == jobrt::errc::invalid_params);
}

BOOST_AUTO_TEST_SUITE_END()
