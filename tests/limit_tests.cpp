#define BOOST_TEST_MODULE limit_tests
#include <boost/test/unit_test.hpp>

#include "clock_fixture.hpp"

// Declared limits and fairness: shared rate limits, per-key limits, and the rule
// that keeps a low-priority job from starving, on a manual clock.

using namespace std::chrono_literals;
using namespace clock_tests;
using jobrt::job_status;

namespace {

/// A type with its own limit keyed by a parameter.
struct export_job : jobrt::job<call_params> {
  static constexpr const char* name = "export";
  static constexpr const char* description = "Exports one account";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.limits = {{"per_account", 1, 60'000, 0, "params.account"}};
    return o;
  }
  void step(jobrt::context& ctx) override { ctx.complete(nullptr); }
};

} // namespace

JOBRT_REGISTER_JOB(test_jobs::gated_job);
JOBRT_REGISTER_JOB(test_jobs::busy_job);
JOBRT_REGISTER_JOB(api_call_job);
JOBRT_REGISTER_JOB(export_job);

// -- fairness ----------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(fairness, clock_fixture)

BOOST_AUTO_TEST_CASE(a_low_priority_job_is_not_starved_by_a_stream_of_high_priority_ones) {
  restart(1);
  auto gate = submit("gated", {{"n", 1}, {"tag", "gate"}});
  when(gate, job_status::running);
  submit("busy", {{"steps", 1}, {"tag", "low"}});
  jobrt::submit_options high;
  high.priority = 100;
  for (int i = 0; i < 40; ++i)
    submit("busy", {{"steps", 1}, {"tag", "high"}}, high);
  test_jobs::permits = 1;
  // The gate polls for its permit every millisecond of the runtime's clock.
  for (int i = 0; i < 30'000 && !events.wait_count(job_status::completed, 42, 1ms); ++i)
    clock->advance(1);
  BOOST_REQUIRE(events.wait_count(job_status::completed, 42, 0ms));
  auto& order = test_jobs::start_order;
  auto low = std::find(order.begin(), order.end(), "low") - order.begin();
  // The gate is start 1; the fairness rule gives every 10th start to the oldest job.
  BOOST_TEST(low == 9);
}

BOOST_AUTO_TEST_SUITE_END()

// -- declared limits -----------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(limits, clock_fixture)

BOOST_AUTO_TEST_CASE(a_shared_rate_limit_holds_in_every_window_for_every_key_over_1000_jobs) {
  tweak = [](jobrt::runtime_options& o) {
    o.max_running = 8;
    o.resources = {{"api", 5, 1000, 2, "owner"}};
  };
  restart(8);
  std::vector<std::string> owners{"acme", "globex", "initech", "umbrella"};
  for (int i = 0; i < 1000; ++i) {
    jobrt::submit_options o;
    o.owner = owners[i % owners.size()];
    submit("api_call", {{"account", "x"}}, o);
  }
  run_until(*this, 100, [&] { return events.count_now(job_status::completed) >= 1000; });
  for (const auto& owner : owners) {
    jobrt::list_query q;
    q.owner = owner;
    q.limit = 1000;
    auto page = rt->list(q);
    BOOST_REQUIRE(page.ok());
    BOOST_REQUIRE(page->jobs.size() == 250u);
    std::vector<jobrt::millis> starts;
    for (const auto& j : page->jobs) {
      BOOST_TEST(j.status == job_status::completed);
      starts.push_back(j.started_at);
    }
    std::sort(starts.begin(), starts.end());
    for (std::size_t i = 0; i + 5 < starts.size(); ++i)
      BOOST_TEST(starts[i + 5] - starts[i] >= 1000, owner << ": 6 starts within "
                                                          << starts[i + 5] - starts[i] << " ms");
    // The limit is also used up: 250 starts at 5 per second take about 50 s.
    BOOST_TEST(starts.back() - starts.front() <= 50'000 + 200);
  }
}

BOOST_AUTO_TEST_CASE(a_job_held_back_by_a_limit_does_not_block_jobs_behind_it) {
  auto a1 = submit("export", {{"account", "a"}});
  auto a2 = submit("export", {{"account", "a"}});
  auto b1 = submit("export", {{"account", "b"}});
  BOOST_REQUIRE(events.wait_status(b1, job_status::completed));
  BOOST_REQUIRE(events.wait_status(a1, job_status::completed));
  BOOST_TEST(get(a2).status == job_status::queued);
  clock->advance(59'999);
  BOOST_TEST(get(a2).status == job_status::queued);
  clock->advance(1);
  BOOST_REQUIRE(events.wait_status(a2, job_status::completed));
}

BOOST_AUTO_TEST_SUITE_END()
