#define BOOST_TEST_MODULE clockwork_tests
#include <boost/test/unit_test.hpp>

#include <future>
#include <limits>
#include <thread>

#include "jobrt/backoff.hpp"
#include "storage/job_store.hpp"

#include "test_jobs.hpp"

// Time-driven behaviour, in simulated time: every runtime here runs on a
// `manual_clock` that moves only when a test advances it. Nothing sleeps.

using namespace std::chrono_literals;
using jobrt::job_status;
using test_jobs::runtime_fixture;
using millis_t = jobrt::millis;
namespace json = boost::json;

namespace {

struct flaky_params {
  std::int64_t fail_times = 0;
  std::optional<bool> permanent;
};
BOOST_DESCRIBE_STRUCT(flaky_params, (), (fail_times, permanent))

/// Fails its first `fail_times` runs, then completes.
struct flaky_job : jobrt::job<flaky_params> {
  static constexpr const char* name = "flaky";
  static constexpr const char* description = "Fails a few runs, then succeeds";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.max_attempts = 3;
    o.backoff_base_ms = 1000;
    o.backoff_max_ms = 4000;
    return o;
  }
  void step(jobrt::context& ctx) override {
    if (static_cast<std::int64_t>(ctx.attempt()) <= params().fail_times) {
      auto msg = "upstream said no (run " + std::to_string(ctx.attempt()) + ")";
      if (params().permanent.value_or(false))
        ctx.fail(msg);
      else
        ctx.fail_transient(msg);
      return;
    }
    ctx.complete({{"runs", ctx.attempt()}});
  }
};

/// Never finishes a run: waits for a reply that never comes.
struct hang_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = "hang";
  static constexpr const char* description = "Hangs until stopped";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.max_attempts = 2;
    o.backoff_base_ms = 100;
    o.backoff_max_ms = 100;
    o.timeout_ms = 1000;
    return o;
  }
  void step(jobrt::context& ctx) override {
    ctx.max_suspended(std::chrono::milliseconds{0}); // only its timeout ends a run
    ctx.suspend();
  }
};

struct paced_params {
  std::int64_t steps = 1;
  std::int64_t pace_ms = 0;
};
BOOST_DESCRIBE_STRUCT(paced_params, (), (steps, pace_ms))
struct paced_state {
  std::int64_t done = 0;
};
BOOST_DESCRIBE_STRUCT(paced_state, (), (done))

/// Takes `steps` steps with `next_step_after(pace_ms)` between them.
struct paced_job : jobrt::job<paced_params, paced_state> {
  static constexpr const char* name = "paced";
  static constexpr const char* description = "Steps at a pace";
  void step(jobrt::context& ctx) override {
    ctx.progress(double(++state().done) / double(params().steps), "pacing");
    if (state().done >= params().steps)
      ctx.complete({{"steps", state().done}});
    else
      ctx.next_step_after(std::chrono::milliseconds{params().pace_ms});
  }
};

constexpr millis_t end_of_time = std::numeric_limits<millis_t>::max();

} // namespace

JOBRT_REGISTER_JOB(test_jobs::sum_job);
JOBRT_REGISTER_JOB(test_jobs::gated_job);
JOBRT_REGISTER_JOB(test_jobs::busy_job);
JOBRT_REGISTER_JOB(test_jobs::limited_job);
JOBRT_REGISTER_JOB(flaky_job);
JOBRT_REGISTER_JOB(hang_job);
JOBRT_REGISTER_JOB(paced_job);

/// A runtime on a manual clock.
struct clock_fixture : runtime_fixture {
  clock_fixture() : runtime_fixture(2, true) {}

  /// Stops the runtime and opens its store directly, to look at what it wrote.
  std::unique_ptr<jobrt::storage::job_store> stop_and_open_store() {
    stop();
    jobrt::storage::store_config cfg;
    cfg.path = (dir.path / "store").string();
    auto store = jobrt::storage::job_store::open(cfg);
    BOOST_REQUIRE(store.ok());
    return std::move(*store);
  }

    bool terminal_or_now(jobrt::job_id id, job_status s) {
    auto st = get(id).status;
    return st == s && jobrt::is_finished(s);
  }

  /// Waits for a progress event of job `id` at `fraction`.
  void wait_progress(jobrt::job_id id, double fraction) {
    BOOST_REQUIRE(events.wait_for([&](const auto& evs) {
      return std::any_of(evs.begin(), evs.end(), [&](const jobrt::job_event& e) {
        return e.id == id && e.what == jobrt::job_event::kind::progress
               && e.progress.fraction == fraction;
      });
    }));
  }

  /// Waits until the job reached `s`, then returns its record.
  jobrt::job_record when(jobrt::job_id id, job_status s, std::size_t nth = 1) {
    if (nth == 1 && terminal_or_now(id, s))
      return get(id); // it got there before this runtime's subscription began
    BOOST_REQUIRE(events.wait_for([&](const auto& evs) {
      auto seen = test_jobs::event_log::statuses_of(evs, id);
      return static_cast<std::size_t>(std::count(seen.begin(), seen.end(), s)) >= nth;
    }));
    return get(id);
  }
};

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
  clock->advance(999);
  BOOST_TEST(get(id).status == job_status::running);
  clock->advance(1);
  when(id, job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_pace_of_ten_trillion_ms_waits_instead_of_stepping_at_once) {
  // 10^13 ms in nanoseconds is past 2^63: converted for a timer, it wrapped.
  auto id = submit("paced", {{"steps", 2}, {"pace_ms", 10'000'000'000'000}});
  wait_progress(id, 0.5);
  clock->advance(9'999'999'999'999);
  BOOST_TEST(get(id).status == job_status::running);
  clock->advance(1);
  when(id, job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_pace_to_the_end_of_time_keeps_the_job_steerable) {
  auto id = submit("paced", {{"steps", 2}, {"pace_ms", end_of_time}});
  wait_progress(id, 0.5);
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

// -- unique jobs and fairness ------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(unique_and_fair, clock_fixture)

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

namespace {

struct call_params {
  std::string account;
};
BOOST_DESCRIBE_STRUCT(call_params, (), (account))

/// One call to a rate-limited API, shared with other types through "api".
struct api_call_job : jobrt::job<call_params> {
  static constexpr const char* name = "api_call";
  static constexpr const char* description = "Calls an external API once";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.uses = {"api"};
    return o;
  }
  void step(jobrt::context& ctx) override { ctx.complete({{"account", params().account}}); }
};

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

JOBRT_REGISTER_JOB(api_call_job);
JOBRT_REGISTER_JOB(export_job);

/// Moves simulated time in steps until `done`, letting the runtime settle
/// (no job running) after each step.
template <class Done>
void run_until(clock_fixture& f, millis_t step, Done done) {
  for (int i = 0; i < 100'000 && !done(); ++i) {
    f.clock->advance(step);
    for (;;) {
      auto s = f.rt->stats();
      BOOST_REQUIRE(s.ok());
      if (s->running == 0)
        break;
      std::this_thread::yield(); // jobs finish on other threads; nothing to await
    }
  }
}

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

// -- regressions found by the crash loop and the fuzzers ------------------------------------

BOOST_FIXTURE_TEST_SUITE(regressions, clock_fixture)

BOOST_AUTO_TEST_CASE(a_step_that_checkpoints_and_completes_writes_no_checkpoint_past_the_end) {
  auto id = submit("sum", {{"n", 10}, {"every", 10}}); // the last step asks for both
  BOOST_REQUIRE(events.wait_status(id, job_status::completed));
  auto store = stop_and_open_store();
  // A checkpoint of the final step, committed before the completion, would let a
  // crash between the two restart the job past its last step.
  BOOST_TEST(!store->get_checkpoint(id)->has_value());
}

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
