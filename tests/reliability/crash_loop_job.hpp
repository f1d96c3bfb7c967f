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
#include <vector>

#include <boost/json/value_from.hpp>

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


// -- jobs that take signals -------------------------------------------------------------
//
// Both report, through `report`:
//   sigstart ID TAKEN   a run begins; TAKEN is the seq of the last signal in the state
//                       it starts from (0: none): the run takes TAKEN+1, TAKEN+2, ...
//   sig ID SEQ NAME     on_signal was called with this signal
// A signal is "final" for a job when the job ends with it: for a `collect` job a
// name that begins with "end", for an `approval` job any name (the first one wins).

struct collect_params {
  std::int64_t every = 1;   ///< checkpoint after every this many signals
  std::int64_t pace_ms = 0; ///< 0: wait for signals without a slot; else step at this pace
};
BOOST_DESCRIBE_STRUCT(collect_params, (), (every, pace_ms))

struct collect_state {
  std::vector<std::int64_t> seqs;
  std::vector<std::string> names;
  std::int64_t saved = 0; ///< how many of them the last checkpoint asked for held
};
BOOST_DESCRIBE_STRUCT(collect_state, (), (seqs, names, saved))

inline bool is_end_signal(const std::string& name) {
  return name.rfind("end", 0) == 0;
}

/// Collects the signals it takes, in order, checkpointing after every `every`;
/// completes with them all ({"seqs": [...], "names": [...]}) at the first one
/// whose name begins with "end". Between signals it either steps at `pace_ms`
/// (holding a slot: signals reach its running actor) or, with pace_ms = 0,
/// waits for the next signal without a slot (checkpointing first if it took
/// any since its last checkpoint, as the docs ask).
struct collect_job : jobrt::job<collect_params, collect_state> {
  static constexpr const char* name = "collect";
  static constexpr const char* description = "Collects signals until one named end...";

  void on_start(jobrt::context& ctx) override {
    auto taken = state().seqs.empty() ? 0 : state().seqs.back();
    report("sigstart " + std::to_string(ctx.id()) + " " + std::to_string(taken));
  }

  void step(jobrt::context& ctx) override {
    if (params().pace_ms > 0) {
      ctx.next_step_after(std::chrono::milliseconds(params().pace_ms));
      return;
    }
    if (state().saved != static_cast<std::int64_t>(state().seqs.size())) {
      state().saved = static_cast<std::int64_t>(state().seqs.size());
      ctx.checkpoint();
    }
    ctx.wait_for_signal(std::chrono::hours{2});
  }

  void on_signal(jobrt::context& ctx, const jobrt::job_signal& s) override {
    report("sig " + std::to_string(ctx.id()) + " " + std::to_string(s.seq) + " " + s.name);
    auto& st = state();
    st.seqs.push_back(static_cast<std::int64_t>(s.seq));
    st.names.push_back(s.name);
    if (is_end_signal(s.name)) {
      ctx.complete({{"seqs", boost::json::value_from(st.seqs)},
                    {"names", boost::json::value_from(st.names)}});
      return;
    }
    ctx.progress_indeterminate("collecting", std::to_string(st.seqs.size()) + " signals");
    if (static_cast<std::int64_t>(st.seqs.size()) % std::max<std::int64_t>(1, params().every) == 0) {
      st.saved = static_cast<std::int64_t>(st.seqs.size());
      ctx.checkpoint();
    }
  }
};

struct approval_state {
  bool asked = false;        ///< stage one ran (and was checkpointed)
  std::string approved_by;   ///< the first signal's name
  std::int64_t approved_seq = 0;
  std::int64_t last_seq = 0; ///< the last signal taken
};
BOOST_DESCRIBE_STRUCT(approval_state, (), (asked, approved_by, approved_seq, last_seq))

/// Stage one, then waits (without a slot, up to two hours) for a signal, then
/// stage two: completes with {"approved_by": NAME, "seq": SEQ} of the first
/// signal it took. A signal taken before stage one skips the wait.
struct approval_job : jobrt::job<jobrt::no_fields, approval_state> {
  static constexpr const char* name = "approval";
  static constexpr const char* description = "Waits for a signal between two stages";

  void on_start(jobrt::context& ctx) override {
    report("sigstart " + std::to_string(ctx.id()) + " " + std::to_string(state().last_seq));
  }

  void step(jobrt::context& ctx) override {
    auto& st = state();
    if (!st.asked) {
      st.asked = true; // stage one
      ctx.progress(0.5, "asked");
      ctx.checkpoint();
    }
    if (st.approved_by.empty()) {
      // Also after a restart from stage one's checkpoint: wait (again). Only the
      // two-hour timeout would wake it without a signal, and the loop is shorter.
      ctx.wait_for_signal(std::chrono::hours{2});
      return;
    }
    ctx.complete({{"approved_by", st.approved_by}, {"seq", st.approved_seq}});
  }

  void on_signal(jobrt::context& ctx, const jobrt::job_signal& s) override {
    report("sig " + std::to_string(ctx.id()) + " " + std::to_string(s.seq) + " " + s.name);
    auto& st = state();
    st.last_seq = static_cast<std::int64_t>(s.seq);
    if (st.approved_by.empty()) {
      st.approved_by = s.name;
      st.approved_seq = static_cast<std::int64_t>(s.seq);
    }
  }
};

} // namespace crash_loop
