#pragma once

/// What the flow crash loop shares between its child (flow_crash_child.cpp) and
/// its test (flow_crash_tests.cpp): the job types of its flows.
///
/// - `fan` spawns `children` `leaf` jobs in one step (and sets `spawned` in the
///   same step, so both are in the checkpoint that holds the children), waits
///   for them, and on its second run completes with
///   {"children": number of children, "completed": how many completed,
///    "sum": the sum of the completed children's `value`, "early_runs": 0}.
///   A run after the wait that finds a child unfinished counts itself in
///   `early_runs` (its state, then its output) and waits again.
/// - `leaf` takes `steps` steps `pace_ms` apart, checkpointing after each, and
///   completes with {"value": value}; with `fail` it fails permanently after its
///   last step instead ("planned failure").
/// - `chain` is submitted `after` other jobs. Each time an actor starts it, it
///   notes the run in its state (the process it ran in, `boot()`, and the wall
///   time), checkpoints, and completes a few ms later with
///   {"after": its `after` ids, "runs": every run noted}.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include "jobrt/jobrt.hpp"

namespace flow_crash {

/// Names the process the jobs run in (the child's seed; "final" in the clean run).
inline std::string& boot() {
  static std::string tag = "unset";
  return tag;
}

/// Called by a fan as it starts to spawn its children (the child process says
/// so on stdout, for kills aimed at that moment); none if empty.
inline std::function<void(jobrt::job_id)>& on_spawn() {
  static std::function<void(jobrt::job_id)> hook;
  return hook;
}

/// Called by a leaf as its first run starts, with its parent (the commit that
/// wrote it with its parent's checkpoint is durable then, and the parent's
/// move to waiting may not be); none if empty.
inline std::function<void(jobrt::job_id)>& on_child_start() {
  static std::function<void(jobrt::job_id)> hook;
  return hook;
}

inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct leaf_params {
  std::int64_t value = 0;
  std::int64_t steps = 1;
  std::int64_t pace_ms = 0;
  bool fail = false;
  std::optional<std::int64_t> parent; ///< for on_child_start
};
BOOST_DESCRIBE_STRUCT(leaf_params, (), (value, steps, pace_ms, fail, parent))

struct leaf_state {
  std::int64_t i = 0;
};
BOOST_DESCRIBE_STRUCT(leaf_state, (), (i))

struct leaf_job : jobrt::job<leaf_params, leaf_state> {
  static constexpr const char* name = "leaf";
  static constexpr const char* description = "A child of a fan in the flow crash loop";

  void finish(jobrt::context& ctx) {
    if (params().fail)
      ctx.fail("planned failure");
    else
      ctx.complete({{"value", params().value}});
  }
  void on_start(jobrt::context&) override {
    if (state().i == 0 && params().parent && on_child_start())
      on_child_start()(static_cast<jobrt::job_id>(*params().parent));
  }
  void step(jobrt::context& ctx) override {
    auto& s = state();
    if (s.i >= params().steps) { // restarted from the checkpoint of its last step
      finish(ctx);
      return;
    }
    ++s.i;
    ctx.checkpoint();
    if (s.i >= params().steps) {
      finish(ctx);
      return;
    }
    ctx.next_step_after(std::chrono::milliseconds(params().pace_ms));
  }
};

struct fan_params {
  std::int64_t children = 1;
  std::int64_t base = 0;      ///< child i has value base + i
  std::int64_t fail_mod = 0;  ///< > 0: child i fails when i % fail_mod == 1
  std::int64_t steps = 2;
  std::int64_t pace_ms = 2;
};
BOOST_DESCRIBE_STRUCT(fan_params, (), (children, base, fail_mod, steps, pace_ms))

struct fan_state {
  bool spawned = false;
  /// Runs after wait_for_children that found a child unfinished (and waited
  /// again): a parent released before its children finished.
  std::int64_t early_runs = 0;
};
BOOST_DESCRIBE_STRUCT(fan_state, (), (spawned, early_runs))

inline bool leaf_fails(std::int64_t i, std::int64_t fail_mod) {
  return fail_mod > 0 && i % fail_mod == 1;
}

struct fan_job : jobrt::job<fan_params, fan_state> {
  static constexpr const char* name = "fan";
  static constexpr const char* description = "A parent of the flow crash loop";

  void step(jobrt::context& ctx) override {
    const auto& p = params();
    if (!state().spawned) {
      if (on_spawn())
        on_spawn()(ctx.id());
      for (std::int64_t i = 0; i < p.children; ++i) {
        auto id = ctx.spawn_child("leaf", {{"value", p.base + i},
                                           {"steps", p.steps},
                                           {"pace_ms", p.pace_ms},
                                           {"fail", leaf_fails(i, p.fail_mod)},
                                           {"parent", static_cast<std::int64_t>(ctx.id())}});
        if (!id) {
          ctx.fail("spawn_child: " + id.error().message);
          return;
        }
      }
      state().spawned = true;
      ctx.wait_for_children();
      return;
    }
    auto kids = ctx.children();
    if (!kids) {
      ctx.fail("children: " + kids.error().message);
      return;
    }
    for (const auto& k : *kids)
      if (!jobrt::is_finished(k.status)) { // released early: note it, and wait again
        ++state().early_runs;
        ctx.wait_for_children(); // checkpoints
        return;
      }
    std::int64_t sum = 0, completed = 0;
    for (const auto& k : *kids)
      if (k.status == jobrt::job_status::completed && k.output.is_object()) {
        ++completed;
        sum += k.output.as_object().at("value").as_int64();
      }
    ctx.complete({{"children", static_cast<std::int64_t>(ctx.child_ids().size())},
                  {"completed", completed},
                  {"sum", sum},
                  {"early_runs", state().early_runs}});
  }
};

struct chain_params {
  std::vector<std::int64_t> after;
};
BOOST_DESCRIBE_STRUCT(chain_params, (), (after))

struct chain_run {
  std::string boot;
  std::int64_t at = 0;
};
BOOST_DESCRIBE_STRUCT(chain_run, (), (boot, at))

struct chain_state {
  std::vector<chain_run> runs;
};
BOOST_DESCRIBE_STRUCT(chain_state, (), (runs))

struct chain_job : jobrt::job<chain_params, chain_state> {
  static constexpr const char* name = "chain";
  static constexpr const char* description = "A job after others in the flow crash loop";

  bool noted = false; ///< this actor's run is in a durable checkpoint

  void on_start(jobrt::context&) override {
    state().runs.push_back({boot(), wall_ms()});
  }
  void step(jobrt::context& ctx) override {
    if (!noted) {
      noted = true;
      ctx.checkpoint();
      ctx.next_step_after(std::chrono::milliseconds(3));
      return;
    }
    boost::json::array after, runs;
    for (auto a : params().after)
      after.emplace_back(a);
    for (const auto& r : state().runs)
      runs.push_back(boost::json::object{{"boot", r.boot}, {"at", r.at}});
    ctx.complete({{"after", after}, {"runs", runs}});
  }
};

} // namespace flow_crash
