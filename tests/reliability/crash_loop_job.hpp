#pragma once

/// The job type of the crash loop, shared by the child (which runs it under load
/// until it is killed) and the test (which finishes the last jobs in a clean run).
///
/// A `loop` job counts i = 1..steps, one number per step, adds each to a total,
/// and checkpoints every `every` steps. It reports what it does through `report`:
///   start ID I    a run of the job begins with i = I (0 fresh, else from a checkpoint)
///   overrun ID I  a run began at i = steps: it resumed from the checkpoint its
///                 completing step asked for, whose completion was not durable
///   step ID N     step N ran (so the checkpoint of floor((N-1)/every)*every is durable:
///                 a step runs only after the previous step's checkpoint is durable)
/// Rework after a crash is then (highest N seen) - I of the next `start` line, and
/// must never exceed `every`. Its output is {"total": steps*(steps+1)/2, "steps": steps},
/// whatever the crashes: the total is carried in the checkpointed state.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/describe.hpp>

#include "jobrt/jobrt.hpp"

namespace crash_loop {

struct loop_params {
  std::int64_t steps = 0;
  std::int64_t every = 1;
  std::int64_t pace_ms = 0;
  /// true: the documented pattern, which also checkpoints in the completing step.
  /// false (the default): the completing step does not checkpoint. See below.
  std::optional<bool> final_checkpoint;
};
BOOST_DESCRIBE_STRUCT(loop_params, (), (steps, every, pace_ms, final_checkpoint))

struct loop_state {
  std::int64_t i = 0;
  std::int64_t total = 0;
};
BOOST_DESCRIBE_STRUCT(loop_state, (), (i, total))

/// Where the job's facts go: one call per line, without the newline.
inline std::function<void(const std::string&)> report = [](const std::string&) {};

inline std::int64_t expected_total(std::int64_t steps) {
  return steps * (steps + 1) / 2;
}

struct loop_job : jobrt::job<loop_params, loop_state> {
  static constexpr const char* name = "loop";
  static constexpr const char* description = "Counts to steps, checkpointing every `every`";

  void on_start(jobrt::context& ctx) override {
    report("start " + std::to_string(ctx.id()) + " " + std::to_string(state().i));
  }

  void step(jobrt::context& ctx) override {
    auto& s = state();
    if (s.i >= params().steps && !params().final_checkpoint.value_or(false)) {
      // Restarted from the checkpoint of its completing step: the checkpoint was
      // durable, the completion was not. Written the usual way (increment, then
      // check) the job would count past the end and complete with a wrong total.
      report("overrun " + std::to_string(ctx.id()) + " " + std::to_string(s.i));
      ctx.complete({{"total", s.total}, {"steps", s.i}});
      return;
    }
    s.total += ++s.i;
    report("step " + std::to_string(ctx.id()) + " " + std::to_string(s.i));
    ctx.progress(static_cast<double>(s.i) / static_cast<double>(params().steps), "counting");
    bool last = s.i >= params().steps;
    // A step that checkpoints and completes writes the checkpoint and the
    // completion in two commits (job_actor.cpp, settle): a crash between them
    // restarts the job past its end, and a pause acknowledged between them is
    // followed by the completion. Unless asked to show that, skip the checkpoint
    // of the completing step: the completion supersedes it.
    if (s.i % params().every == 0 && (!last || params().final_checkpoint.value_or(false)))
      ctx.checkpoint();
    if (last) {
      ctx.complete({{"total", s.total}, {"steps", s.i}});
      return;
    }
    if (params().pace_ms > 0)
      ctx.next_step_after(std::chrono::milliseconds(params().pace_ms));
  }
};

} // namespace crash_loop
