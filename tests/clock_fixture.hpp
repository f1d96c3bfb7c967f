#pragma once

/// The fixture and job types of the time-driven suites (retry_tests, timer_tests,
/// limit_tests, retention_tests, idempotency_tests): every runtime there runs on
/// a `manual_clock` that moves only when a test advances it. Nothing sleeps.
///
/// Include it from exactly one translation unit per test binary, after which
/// that unit registers the job types it submits (JOBRT_REGISTER_JOB).

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "storage/job_store.hpp"

#include "test_jobs.hpp"

namespace clock_tests {

using millis_t = jobrt::millis;
namespace json = boost::json;

constexpr millis_t end_of_time = std::numeric_limits<millis_t>::max();

// -- job types ------------------------------------------------------------------------------

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

// -- the fixture ----------------------------------------------------------------------------

/// A runtime on a manual clock.
struct clock_fixture : test_jobs::runtime_fixture {
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

  bool terminal_or_now(jobrt::job_id id, jobrt::job_status s) {
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
  jobrt::job_record when(jobrt::job_id id, jobrt::job_status s, std::size_t nth = 1) {
    if (nth == 1 && terminal_or_now(id, s))
      return get(id); // it got there before this runtime's subscription began
    BOOST_REQUIRE(events.wait_for([&](const auto& evs) {
      auto seen = test_jobs::event_log::statuses_of(evs, id);
      return static_cast<std::size_t>(std::count(seen.begin(), seen.end(), s)) >= nth;
    }));
    return get(id);
  }

  /// Moves the clock 1 ms at a time until `done`. A job polling on the clock
  /// (`gated`, `next_step_after`) may arm its timer just after any one move,
  /// so a single move can be missed; moving until the effect shows cannot.
  template <class Done>
  void poll_until(Done done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      clock->advance(1);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    BOOST_REQUIRE(done());
  }

  /// Waits until job `id` has status `s`, moving the clock meanwhile (see
  /// `poll_until`), then returns its record.
  jobrt::job_record when_polled(jobrt::job_id id, jobrt::job_status s) {
    poll_until([&] { return get(id).status == s; });
    return get(id);
  }
};

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

} // namespace clock_tests
