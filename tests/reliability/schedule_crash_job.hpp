#pragma once

/// What the schedule crash loop shares between its child (schedule_crash_child.cpp)
/// and its test (schedule_crash_tests.cpp): the job type its schedules submit and
/// the schedules themselves.
///
/// A `tick` job takes `steps` steps `pace_ms` apart, checkpointing after each, and
/// completes with {"steps": steps}: long enough (0.6 to 1.6 s) that jobs of
/// consecutive ticks overlap, that kills land while they run, and that the
/// overlap policies (allow, queue, skip) all come into play.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/describe.hpp>

#include "jobrt/jobrt.hpp"

namespace schedule_crash {

struct tick_params {
  std::int64_t steps = 1;
  std::int64_t pace_ms = 0;
};
BOOST_DESCRIBE_STRUCT(tick_params, (), (steps, pace_ms))

struct tick_state {
  std::int64_t i = 0;
};
BOOST_DESCRIBE_STRUCT(tick_state, (), (i))

struct tick_job : jobrt::job<tick_params, tick_state> {
  static constexpr const char* name = "tick";
  static constexpr const char* description = "A scheduled job of the schedule crash loop";

  void step(jobrt::context& ctx) override {
    auto& s = state();
    if (s.i >= params().steps) { // restarted from the checkpoint of its last step
      ctx.complete({{"steps", s.i}});
      return;
    }
    ++s.i;
    ctx.checkpoint();
    if (s.i >= params().steps) {
      ctx.complete({{"steps", s.i}});
      return;
    }
    ctx.next_step_after(std::chrono::milliseconds(params().pace_ms));
  }
};

/// One schedule of the loop. Every one ticks "@every N s" (intervals count from
/// the schedule's `created_at`, so its ticks are created_at + k * N s, k >= 1).
struct spec {
  std::string name;
  std::int64_t interval_ms;
  jobrt::missed_ticks on_missed;
  jobrt::overlapping_ticks on_overlap;
  std::uint32_t max_catch_up;
  jobrt::millis grace_ms;
  std::int64_t steps;
  std::int64_t pace_ms;

  std::string rule() const { return "@every " + std::to_string(interval_ms / 1000) + "s"; }
  /// Whether no tick may be lost: every tick up to `last_tick` submits a job.
  bool fires_every_tick() const { return on_missed == jobrt::missed_ticks::run_each; }
  /// Whether it keeps up with the clock in a clean run: one that fires each
  /// missed tick, one job at a time, may still be working off a backlog.
  bool keeps_up() const {
    return !(fires_every_tick() && on_overlap == jobrt::overlapping_ticks::queue);
  }
  jobrt::schedule_options options() const {
    jobrt::schedule_options o;
    o.on_missed = on_missed;
    o.on_overlap = on_overlap;
    o.max_catch_up = max_catch_up;
    o.grace_ms = grace_ms;
    return o;
  }
  boost::json::object params() const { return {{"steps", steps}, {"pace_ms", pace_ms}}; }
};

inline const std::vector<spec>& schedules() {
  using jobrt::missed_ticks;
  using jobrt::overlapping_ticks;
  static const std::vector<spec> all{
    // Every tick a job, however long the process was down; jobs run side by side.
    {"each", 1000, missed_ticks::run_each, overlapping_ticks::allow, 10000, 60'000, 4, 150},
    // Every tick a job, one job at a time: missed ticks queue behind each other.
    {"each-queued", 2000, missed_ticks::run_each, overlapping_ticks::queue, 10000, 60'000, 3, 400},
    // Missed ticks together one job; a tick waits for the previous job.
    {"once", 1000, missed_ticks::run_once, overlapping_ticks::queue, 100, 500, 4, 300},
    // Missed ticks (over 0.5 s late) nothing; a tick while the previous job runs nothing.
    {"skip", 1000, missed_ticks::skip, overlapping_ticks::skip, 100, 500, 8, 200},
  };
  return all;
}

} // namespace schedule_crash
