#pragma once

/// The job type of the node-loss tests, shared by their child program (a
/// coordinator, or a worker node that runs the job) and the tests (which check
/// its output).
///
/// A `node_steps` job runs `steps` steps, `pace_ms` apart, and checkpoints every
/// `every` steps. Each step appends to its state the run that did it: the
/// attempt (`context::attempt`) and the worker node (`context::node`). The
/// state, and so the output it completes with, is the job's history:
///   {"steps": [1, 2, ...], "attempts": [1, 1, 2, ...], "nodes": ["w1", "w1", "w2", ...]}
/// A run that resumes from a checkpoint keeps the entries up to it and
/// overwrites those after it: the output shows, for each step, the run whose
/// work was kept. It reports, through `report`:
///   start ID FROM ATTEMPT NODE T   a run begins at step FROM+1 (FROM 0: fresh)
///   step ID N ATTEMPT NODE T       step N ran (so the checkpoint of the steps
///                                  before its interval is durable)
/// T is CLOCK_MONOTONIC in microseconds, the same clock in every process.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include "jobrt/jobrt.hpp"

namespace node_loss {

struct steps_params {
  std::int64_t steps = 40;
  std::int64_t every = 1;
  std::int64_t pace_ms = 25;
};
BOOST_DESCRIBE_STRUCT(steps_params, (), (steps, every, pace_ms))

struct steps_state {
  std::vector<std::int64_t> steps;
  std::vector<std::int64_t> attempts;
  std::vector<std::string> nodes;
};
BOOST_DESCRIBE_STRUCT(steps_state, (), (steps, attempts, nodes))

/// Where the job's facts go: one call per line, without the newline.
inline std::function<void(const std::string&)> report = [](const std::string&) {};

/// CLOCK_MONOTONIC (steady_clock on Linux), in microseconds: comparable across processes.
inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

struct steps_job : jobrt::job<steps_params, steps_state> {
  static constexpr const char* name = "node_steps";
  static constexpr const char* description =
    "Runs its steps, recording which attempt on which node did each";

  /// A node lost counts as an attempt (as a crash does); the tests lose many.
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.max_attempts = 1000;
    o.backoff_base_ms = 10;
    o.backoff_max_ms = 100;
    return o;
  }

  static std::string who(jobrt::context& ctx) {
    auto n = std::string{ctx.node()};
    return n.empty() ? "-" : n;
  }

  void on_start(jobrt::context& ctx) override {
    report("start " + std::to_string(ctx.id()) + " " + std::to_string(state().steps.size()) + " "
           + std::to_string(ctx.attempt()) + " " + who(ctx) + " " + std::to_string(now_us()));
  }

  void step(jobrt::context& ctx) override {
    auto& s = state();
    auto n = static_cast<std::int64_t>(s.steps.size()) + 1;
    s.steps.push_back(n);
    s.attempts.push_back(ctx.attempt());
    s.nodes.push_back(who(ctx));
    report("step " + std::to_string(ctx.id()) + " " + std::to_string(n) + " "
           + std::to_string(ctx.attempt()) + " " + who(ctx) + " " + std::to_string(now_us()));
    ctx.progress(static_cast<double>(n) / static_cast<double>(params().steps), "stepping");
    if (n >= params().steps) {
      // The completion supersedes a checkpoint of the last step.
      ctx.complete(jobrt::encode(s));
      return;
    }
    if (n % params().every == 0)
      ctx.checkpoint();
    ctx.next_step_after(std::chrono::milliseconds(params().pace_ms));
  }
};

} // namespace node_loss
