#pragma once

/// The job types of the worker-node tests, linked into node_child (both as
/// coordinator and as worker) and into node_tests (for a local reference run).
/// Each job writes where it ran (`context::node()`, "" in the coordinator) into
/// its state and its progress detail, so the tests can read from a record which
/// process took each step. Register them with `node_jobs::register_all()`.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "jobrt/jobrt.hpp"

namespace node_jobs {

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// "ATTEMPT@NODE" ("local" for the coordinator's own process).
inline std::string where(jobrt::context& ctx) {
  auto node = ctx.node();
  return std::to_string(ctx.attempt()) + "@" + (node.empty() ? std::string{"local"} : std::string{node});
}

// -- stepper: `steps` checkpointed steps, `pace_ms` apart -------------------------------

struct stepper_params {
  std::int64_t steps = 1;
  std::optional<std::int64_t> pace_ms;
  std::string label;
};
BOOST_DESCRIBE_STRUCT(stepper_params, (), (steps, pace_ms, label))

struct stepper_state {
  std::int64_t i = 0;
  std::int64_t acc = 0;
  std::vector<std::string> trail; ///< where each step ran: "ATTEMPT@NODE"
};
BOOST_DESCRIBE_STRUCT(stepper_state, (), (i, acc, trail))

/// Its output depends on its parameters only: {"label", "steps", "acc"}. Its
/// progress detail is {"step": i, "trail": [...]}, saved with every step.
struct stepper_job : jobrt::job<stepper_params, stepper_state> {
  static constexpr const char* name = "nodes.stepper";
  static constexpr const char* description = "Checkpointed steps that note where they ran";

  void step(jobrt::context& ctx) override {
    auto& s = state();
    ++s.i;
    s.acc = (s.acc * 31 + s.i * s.i + static_cast<std::int64_t>(params().label.size())) % 1000000007;
    s.trail.push_back(where(ctx));
    ctx.progress(static_cast<double>(s.i) / static_cast<double>(params().steps), "stepping");
    boost::json::array trail;
    for (const auto& t : s.trail)
      trail.emplace_back(t);
    ctx.progress_detail(boost::json::object{{"step", s.i}, {"trail", std::move(trail)}});
    ctx.checkpoint();
    if (s.i >= params().steps) {
      ctx.complete(boost::json::object{{"label", params().label}, {"steps", params().steps},
                                       {"acc", s.acc}});
      return;
    }
    if (params().pace_ms.value_or(0) > 0)
      ctx.next_step_after(std::chrono::milliseconds(*params().pace_ms));
  }
};

// -- listener: steps until it is sent the signal "finish" -------------------------------

struct listener_params {
  std::int64_t pace_ms = 20;
};
BOOST_DESCRIBE_STRUCT(listener_params, (), (pace_ms))

struct listener_state {
  std::int64_t i = 0;
  std::vector<std::string> got;   ///< signal names, in the order taken
  /// Of the last signal. Optional: a bare `boost::json::value` that is null does
  /// not come back from a checkpoint (see null_state_job).
  std::optional<boost::json::value> last_payload;
  std::string got_on;             ///< where the last signal was taken
};
BOOST_DESCRIBE_STRUCT(listener_state, (), (i, got, last_payload, got_on))

/// Output: {"got": [names], "payload": last payload, "got_on": "ATTEMPT@NODE"}.
struct listener_job : jobrt::job<listener_params, listener_state> {
  static constexpr const char* name = "nodes.listener";
  static constexpr const char* description = "Steps until the signal 'finish'";

  void step(jobrt::context& ctx) override {
    auto& s = state();
    ++s.i;
    ctx.progress_indeterminate("listening");
    ctx.progress_detail(boost::json::object{{"step", s.i}, {"where", where(ctx)}});
    for (const auto& g : s.got)
      if (g == "finish") {
        boost::json::array got;
        for (const auto& n : s.got)
          got.emplace_back(n);
        ctx.complete(boost::json::object{
          {"got", std::move(got)},
          {"payload", s.last_payload.value_or(nullptr)},
          {"got_on", s.got_on}});
        return;
      }
    ctx.next_step_after(std::chrono::milliseconds(params().pace_ms));
  }

  void on_signal(jobrt::context& ctx, const jobrt::job_signal& sig) override {
    state().got.push_back(sig.name);
    state().last_payload = sig.payload;
    state().got_on = where(ctx);
  }
};

// -- waiter: waits for a signal without a slot, then completes with it ----------------

struct waiter_params {
  std::int64_t timeout_ms = 10000;
};
BOOST_DESCRIBE_STRUCT(waiter_params, (), (timeout_ms))

struct waiter_state {
  bool waited = false;
  std::string waited_on; ///< where it began to wait: "ATTEMPT@NODE"
  std::string signal;    ///< the name of the signal that woke it
  std::optional<boost::json::value> payload; ///< optional: see null_state_job
};
BOOST_DESCRIBE_STRUCT(waiter_state, (), (waited, waited_on, signal, payload))

/// Output: {"signal", "payload", "waited_on", "woke_on"}.
struct waiter_job : jobrt::job<waiter_params, waiter_state> {
  static constexpr const char* name = "nodes.waiter";
  static constexpr const char* description = "Waits for one signal";

  void step(jobrt::context& ctx) override {
    auto& s = state();
    if (!s.signal.empty()) {
      ctx.complete(boost::json::object{{"signal", s.signal}, {"payload", s.payload.value_or(nullptr)},
                                       {"waited_on", s.waited_on}, {"woke_on", where(ctx)}});
      return;
    }
    if (s.waited) {
      ctx.fail("woke without a signal");
      return;
    }
    s.waited = true;
    s.waited_on = where(ctx);
    ctx.checkpoint();
    ctx.wait_for_signal(std::chrono::milliseconds(params().timeout_ms));
  }

  void on_signal(jobrt::context&, const jobrt::job_signal& sig) override {
    state().signal = sig.name;
    state().payload = sig.payload;
  }
};

// -- throttled: hits a rate limit on its first run, completes on the next ------------

struct throttled_params {
  std::int64_t retry_after_ms = 300;
};
BOOST_DESCRIBE_STRUCT(throttled_params, (), (retry_after_ms))

struct throttled_state {
  std::int64_t limited_at = 0; ///< wall ms when it was limited
  std::string limited_on;
};
BOOST_DESCRIBE_STRUCT(throttled_state, (), (limited_at, limited_on))

/// Output: {"limited_on", "completed_on", "waited_ms"}.
struct throttled_job : jobrt::job<throttled_params, throttled_state> {
  static constexpr const char* name = "nodes.throttled";
  static constexpr const char* description = "Waits out one rate limit";

  void step(jobrt::context& ctx) override {
    auto& s = state();
    if (s.limited_at == 0) {
      s.limited_at = now_ms();
      s.limited_on = where(ctx);
      ctx.checkpoint();
      ctx.rate_limited(std::chrono::milliseconds(params().retry_after_ms));
      return;
    }
    ctx.complete(boost::json::object{{"limited_on", s.limited_on}, {"completed_on", where(ctx)},
                                     {"waited_ms", now_ms() - s.limited_at}});
  }
};

// -- null_state: a state member of type boost::json::value that stays null -----------

struct null_state_state {
  bool waited = false;
  boost::json::value note; ///< "anything" (fields.hpp); null here
};
BOOST_DESCRIBE_STRUCT(null_state_state, (), (waited, note))

/// Checkpoints a state whose `note` is null, ends its run with a short rate
/// limit, and completes on the next run, which starts from that checkpoint.
struct null_state_job : jobrt::job<jobrt::no_fields, null_state_state> {
  static constexpr const char* name = "nodes.null_state";
  static constexpr const char* description = "Resumes from a checkpoint with a null value";

  void step(jobrt::context& ctx) override {
    if (!state().waited) {
      state().waited = true;
      ctx.checkpoint();
      ctx.rate_limited(std::chrono::milliseconds(10));
      return;
    }
    ctx.complete(boost::json::object{{"note", state().note}, {"where", where(ctx)}});
  }
};

/// Adds every type above to the global registry (once; later calls do nothing).
inline void register_all() {
  static const bool once = [] {
    auto& r = jobrt::registry::global();
    r.add<stepper_job>();
    r.add<listener_job>();
    r.add<waiter_job>();
    r.add<throttled_job>();
    r.add<null_state_job>();
    return true;
  }();
  static_cast<void>(once);
}

} // namespace node_jobs
