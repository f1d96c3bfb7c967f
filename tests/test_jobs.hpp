#pragma once

/// Job types and fixtures shared by the runtime test suites. Include it from
/// exactly one translation unit per test binary (it registers job types).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jobrt/jobrt.hpp"

namespace test_jobs {

// -- observation hooks --------------------------------------------------------------

/// Steps a `gated` job may take, over all gated jobs; tests hand them out.
inline std::atomic<std::int64_t> permits{0};
/// Steps gated jobs have run.
inline std::atomic<std::int64_t> steps_run{0};
/// Jobs between their first and last step right now, and the most seen at once.
inline std::atomic<int> active{0};
inline std::atomic<int> max_active{0};
/// The order in which jobs started (their `tag` parameter).
inline std::mutex order_mtx;
inline std::vector<std::string> start_order;

inline void reset_hooks() {
  permits = 0;
  steps_run = 0;
  active = 0;
  max_active = 0;
  std::lock_guard guard{order_mtx};
  start_order.clear();
}

// -- sum: adds 1..n, one number per step, checkpointing every `every` steps ----

struct sum_params {
  std::int64_t n = 0;
  std::optional<std::int64_t> every;
  std::optional<std::int64_t> pace_ms;
};
BOOST_DESCRIBE_STRUCT(sum_params, (), (n, every, pace_ms))

struct sum_state {
  std::int64_t i = 0;
  std::int64_t total = 0;
  std::int64_t resumed_from = -1; ///< `i` when this run started from a checkpoint
};
BOOST_DESCRIBE_STRUCT(sum_state, (), (i, total, resumed_from))

struct sum_job : jobrt::job<sum_params, sum_state> {
  static constexpr const char* name = "sum";
  static constexpr const char* description = "Adds 1..n, one number per step";

  void on_start(jobrt::context&) override {
    if (state().i > 0)
      state().resumed_from = state().i;
  }

  void step(jobrt::context& ctx) override {
    state().total += ++state().i;
    ctx.progress(static_cast<double>(state().i) / static_cast<double>(params().n), "adding");
    if (state().i % params().every.value_or(10) == 0)
      ctx.checkpoint();
    if (state().i >= params().n) {
      ctx.complete({{"total", state().total}, {"resumed_from", state().resumed_from}});
      return;
    }
    if (params().pace_ms)
      ctx.next_step_after(std::chrono::milliseconds(*params().pace_ms));
  }
};

// -- gated: takes a step only when the test hands out a permit -------------------

struct gated_params {
  std::int64_t n = 0;
  std::optional<std::string> tag;
};
BOOST_DESCRIBE_STRUCT(gated_params, (), (n, tag))

struct gated_state {
  std::int64_t i = 0;
};
BOOST_DESCRIBE_STRUCT(gated_state, (), (i))

struct gated_job : jobrt::job<gated_params, gated_state> {
  static constexpr const char* name = "gated";
  static constexpr const char* description = "Counts to n, one step per permit";

  void on_start(jobrt::context&) override {
    std::lock_guard guard{order_mtx};
    start_order.push_back(params().tag.value_or(""));
  }

  void step(jobrt::context& ctx) override {
    auto p = permits.load();
    while (p > 0 && !permits.compare_exchange_weak(p, p - 1)) {
    }
    if (p <= 0) {
      // No permit: poll again shortly; pause and cancel are taken meanwhile.
      ctx.next_step_after(std::chrono::milliseconds(1));
      return;
    }
    ++steps_run;
    ++state().i;
    ctx.progress(static_cast<double>(state().i) / static_cast<double>(params().n), "gated",
                 "step " + std::to_string(state().i));
    ctx.checkpoint();
    if (state().i >= params().n)
      ctx.complete({{"steps", state().i}});
  }
};

// -- busy: holds a slot for a few paced steps, recording concurrency ----------------

struct busy_params {
  std::int64_t steps = 3;
  std::optional<std::string> tag;
};
BOOST_DESCRIBE_STRUCT(busy_params, (), (steps, tag))

struct busy_state {
  std::int64_t i = 0;
};
BOOST_DESCRIBE_STRUCT(busy_state, (), (i))

struct busy_job : jobrt::job<busy_params, busy_state> {
  static constexpr const char* name = "busy";
  static constexpr const char* description = "Runs a few paced steps";

  void step(jobrt::context& ctx) override {
    if (state().i == 0) {
      auto now = ++active;
      auto seen = max_active.load();
      while (now > seen && !max_active.compare_exchange_weak(seen, now)) {
      }
      std::lock_guard guard{order_mtx};
      start_order.push_back(params().tag.value_or(""));
    }
    if (++state().i >= params().steps) {
      --active;
      ctx.complete({{"steps", state().i}});
      return;
    }
    ctx.next_step_after(std::chrono::milliseconds(1));
  }
};

/// The nice value of the calling thread (Linux niceness is per thread).
inline int this_thread_nice() {
  return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
}

/// Reports the nice value of the thread its step runs on.
struct niceness_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = "niceness";
  static constexpr const char* description = "Outputs the nice value of its thread";
  void step(jobrt::context& ctx) override { ctx.complete({{"nice", this_thread_nice()}}); }
};

/// The same on a thread of its own (a blocking type), which a worker spawns.
struct blocking_niceness_job : niceness_job {
  static constexpr const char* name = "blocking_niceness";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.blocking = true;
    return o;
  }
};

// -- failing jobs -----------------------------------------------------------------------

struct thrower_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = "thrower";
  static constexpr const char* description = "Throws from its first step";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.max_attempts = 1;
    return o;
  }
  void step(jobrt::context&) override { throw std::runtime_error("disk on fire"); }
};

struct quitter_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = "quitter";
  static constexpr const char* description = "Kills its own actor";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.max_attempts = 1;
    return o;
  }
  void step(jobrt::context& ctx) override;
};

struct limited_params {
  std::int64_t retry_after_ms = 0;
};
BOOST_DESCRIBE_STRUCT(limited_params, (), (retry_after_ms))

struct limited_state {
  bool waited = false;
};
BOOST_DESCRIBE_STRUCT(limited_state, (), (waited))

/// Hits a rate limit on its first run, completes on the next.
struct limited_job : jobrt::job<limited_params, limited_state> {
  static constexpr const char* name = "limited";
  static constexpr const char* description = "Waits out one rate limit";
  void step(jobrt::context& ctx) override {
    if (!state().waited) {
      state().waited = true;
      ctx.checkpoint();
      ctx.rate_limited(std::chrono::milliseconds(params().retry_after_ms));
      return;
    }
    ctx.complete({{"waited", true}});
  }
};

// -- waiting for things, never sleeping for them --------------------------------------

/// Collects events from a subscription and lets the test wait for a condition.
class event_log {
public:
  void operator()(const jobrt::job_event& e) {
    {
      std::lock_guard guard{mtx_};
      events_.push_back(e);
    }
    cv_.notify_all();
  }

  /// Waits (up to `limit`) until `pred(events)` holds; returns whether it did.
  bool wait_for(const std::function<bool(const std::vector<jobrt::job_event>&)>& pred,
                std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    std::unique_lock lock{mtx_};
    return cv_.wait_for(lock, limit, [&] { return pred(events_); });
  }

  bool wait_status(jobrt::job_id id, jobrt::job_status s,
                   std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    return wait_for(
      [&](const auto& evs) {
        for (const auto& e : evs)
          if (e.id == id && e.what == jobrt::job_event::kind::status && e.status == s)
            return true;
        return false;
      },
      limit);
  }

  /// Waits until `n` status events with status `s` have arrived.
  bool wait_count(jobrt::job_status s, std::size_t n,
                  std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    return wait_for([&](const auto& evs) { return count(evs, s) >= n; }, limit);
  }

  /// How many status events with status `s` have arrived so far.
  std::size_t count_now(jobrt::job_status s) {
    std::lock_guard guard{mtx_};
    return count(events_, s);
  }

  static std::size_t count(const std::vector<jobrt::job_event>& evs, jobrt::job_status s) {
    std::size_t n = 0;
    for (const auto& e : evs)
      if (e.what == jobrt::job_event::kind::status && e.status == s)
        ++n;
    return n;
  }

  std::vector<jobrt::job_status> statuses_of(jobrt::job_id id) {
    std::lock_guard guard{mtx_};
    return statuses_of(events_, id);
  }

  /// Every job's status events so far, in order.
  std::map<jobrt::job_id, std::vector<jobrt::job_status>> statuses_by_job() {
    std::lock_guard guard{mtx_};
    std::map<jobrt::job_id, std::vector<jobrt::job_status>> out;
    for (const auto& e : events_)
      if (e.what == jobrt::job_event::kind::status)
        out[e.id].push_back(e.status);
    return out;
  }

  void clear() {
    std::lock_guard guard{mtx_};
    events_.clear();
  }

  static std::vector<jobrt::job_status> statuses_of(const std::vector<jobrt::job_event>& evs,
                                                    jobrt::job_id id) {
    std::vector<jobrt::job_status> out;
    for (const auto& e : evs)
      if (e.id == id && e.what == jobrt::job_event::kind::status)
        out.push_back(e.status);
    return out;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<jobrt::job_event> events_;
};

/// A fresh directory under /tmp, removed at the end.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "jobrt-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

/// The store the runtime suites run on: LMDB, or memory when the binary is
/// given `-- --storage memory` (CTest runs each suite both ways).
inline jobrt::storage_kind tested_storage() {
  const auto& suite = boost::unit_test::framework::master_test_suite();
  for (int i = 1; i + 1 < suite.argc; ++i)
    if (std::string{suite.argv[i]} == "--storage" && std::string{suite.argv[i + 1]} == "memory")
      return jobrt::storage_kind::memory;
  return jobrt::storage_kind::lmdb;
}

/// For tests of what a restart keeps: they need a store that outlives the runtime.
/// Use as `* boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)`.
inline boost::test_tools::assertion_result store_outlives_the_runtime(
  boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result ok = tested_storage() == jobrt::storage_kind::lmdb;
  ok.message() << "jobs in memory do not outlive their runtime";
  return ok;
}

/// A runtime on a fresh store, with every event logged.
struct runtime_fixture {
  test_jobs::temp_dir dir;
  test_jobs::event_log events;
  std::unique_ptr<jobrt::runtime> rt;
  jobrt::subscription sub;
  std::shared_ptr<jobrt::manual_clock> clock;
  /// Adjusts the options of every runtime this fixture starts.
  std::function<void(jobrt::runtime_options&)> tweak;

  explicit runtime_fixture(std::size_t max_running = 4, bool with_manual_clock = false) {
    test_jobs::reset_hooks();
    if (with_manual_clock)
      clock = std::make_shared<jobrt::manual_clock>();
    start(max_running);
  }

  /// Starts a runtime on the fixture's store; a manual clock, once made, is kept
  /// across restarts so that timers can be checked after one.
  void start(std::size_t max_running, bool with_manual_clock = false) {
    jobrt::runtime_options o;
    o.storage = tested_storage();
    o.data_dir = (dir.path / "store").string();
    o.durable = false;
    o.max_running = max_running;
    o.progress_interval = std::chrono::milliseconds(0);
    if (with_manual_clock && !clock)
      clock = std::make_shared<jobrt::manual_clock>();
    if (clock)
      o.clock = clock;
    if (tweak)
      tweak(o);
    auto r = jobrt::runtime::start(o);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r ? "" : r.error().message));
    rt = std::move(*r);
    sub = rt->subscribe(std::ref(events));
  }

  /// Shuts the runtime down, as a restart or a look at the store needs.
  void stop() {
    sub.cancel();
    rt->shutdown();
    rt.reset();
  }

  void restart(std::size_t max_running = 4, bool with_manual_clock = false) {
    stop();
    start(max_running, with_manual_clock);
  }

  ~runtime_fixture() {
    sub.cancel();
    if (rt)
      rt->shutdown();
  }

  jobrt::job_id submit(const std::string& type, boost::json::value params,
                       jobrt::submit_options opts = {}) {
    auto id = rt->submit(type, params, opts);
    BOOST_REQUIRE_MESSAGE(id.ok(), (id ? "" : id.error().message));
    return *id;
  }

  jobrt::job_record get(jobrt::job_id id) {
    auto r = rt->get(id);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r ? "" : r.error().message));
    return *r;
  }

  /// Waits until a gated job has taken `steps` steps (its progress says so).
  bool wait_steps(jobrt::job_id id, std::int64_t steps) {
    return events.wait_for([&](const auto& evs) {
      for (const auto& e : evs)
        if (e.id == id && e.progress.message == "step " + std::to_string(steps))
          return true;
      return false;
    });
  }
};


} // namespace test_jobs
