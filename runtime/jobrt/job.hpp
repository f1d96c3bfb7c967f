#pragma once

/// Writing a job. A job is a message-driven actor: the runtime sends it one work
/// message at a time and calls `step` for each, so pause, resume and cancel are
/// handled between steps, never in the middle of one. A job keeps its progress in
/// `state()`, saves it with `ctx.checkpoint()`, and ends with `ctx.complete()` or
/// `ctx.fail()`. After a crash, a new actor is built from the last checkpoint and
/// the steps after it run again (at-least-once).
///
/// `Params` and `State` are plain structs, each described with
/// `BOOST_DESCRIBE_STRUCT(the_struct, (), (each, member))` next to its definition,
/// in its namespace (fields.hpp lists the member types that decode); a job that
/// forgets it does not compile, and says so. A complete job, registered,
/// submitted and watched until it ends: examples/readme/first_job.cpp, the
/// README's first example (CTest builds and runs it, and checks that the README
/// shows it as it is).

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/describe/members.hpp>
#include <boost/json/value.hpp>

#include "jobrt/fields.hpp"
#include "jobrt/limits.hpp"
#include "jobrt/options.hpp"
#include "jobrt/record.hpp"
#include "jobrt/services.hpp"

namespace caf {
class behavior;
class event_based_actor;
} // namespace caf

namespace jobrt {

/// What a step can do. The runtime's job actor implements it and a job receives
/// it in every call of `step`. It lives as long as the job's actor: a reply
/// handler that a step installed with `self()->request(...).then(...)` may
/// capture it and use it (see `suspend`), but nothing else should keep it.
class context {
public:
  virtual ~context() = default;

  virtual job_id id() const = 0;
  /// 1 on the first run, 2 after one failed attempt, ...
  virtual std::uint32_t attempt() const = 0;
  /// The worker node this run is on (its `worker_options::name`); empty in the
  /// process that owns the store. See jobrt/worker.hpp.
  virtual std::string_view node() const { return {}; }

  // -- progress: coalesced before it reaches subscribers ------------------------

  /// Reports a fraction in 0..1 (clamped), with an optional stage and message.
  virtual void progress(double fraction, std::string_view stage = {},
                        std::string_view message = {}) = 0;
  /// Reports progress that cannot be measured as a fraction.
  virtual void progress_indeterminate(std::string_view stage,
                                      std::string_view message = {}) = 0;
  /// Attaches structured detail (counts, current item, ...) to the progress.
  virtual void progress_detail(boost::json::value detail) = 0;

  // -- durability ---------------------------------------------------------------------

  /// Saves `state()` and the current progress together, atomically, once this
  /// step returns. The next step runs only after the checkpoint is durable.
  virtual void checkpoint() = 0;

  /// A line for the host's log (stderr by default).
  virtual void log(std::string_view message) = 0;

  // -- ending ---------------------------------------------------------------------------

  /// Finishes the job with an output; the output is durable before anyone is
  /// told the job completed.
  virtual void complete(boost::json::value output = nullptr) = 0;
  /// Finishes the job with a permanent error: it fails at once, no retry.
  virtual void fail(std::string message) = 0;
  /// Ends this run with a transient error: the job is retried after a backoff
  /// while it has attempts left, and fails after the last. An exception thrown
  /// from `step` counts as a transient error too.
  virtual void fail_transient(std::string message) = 0;
  /// Gives the concurrency slot back and waits: the job becomes `waiting`, keeps
  /// its checkpoint, and is queued again after `retry_after`. Not a failure: the
  /// attempt count does not grow. Checkpoint first if the state moved on.
  virtual void rate_limited(std::chrono::milliseconds retry_after) = 0;

  // -- message-driven work ----------------------------------------------------------

  /// Stops the automatic next step: use it when the step started asynchronous
  /// work (a request to another actor, say) and call `next_step()` from its
  /// reply. Pause and cancel still act between steps.
  virtual void suspend() = 0;
  /// Schedules the next step after a `suspend()`.
  virtual void next_step() = 0;
  /// Runs the next step only after `delay` (pacing, polling); the actor stays
  /// responsive to pause and cancel meanwhile.
  virtual void next_step_after(std::chrono::milliseconds delay) = 0;
  /// Ends this run and waits for a signal (`runtime::signal`) without holding a
  /// slot: the job becomes `waiting` (`waiting_for: "signal"`) and is queued
  /// again when a signal arrives, whatever its name, or after `timeout`, also
  /// across restarts. The signal is delivered (`on_signal`) before the next step.
  /// Not a failure: the attempt does not count. Checkpoint first if the state
  /// moved on.
  virtual void wait_for_signal(std::chrono::milliseconds timeout) = 0;

  // -- flows: child jobs ------------------------------------------------------------

  /// Creates a child job of this one and returns its id. The child is written
  /// with this job's next checkpoint, in the same commit (the call asks for
  /// one), and starts once that commit is durable; a crash before it leaves
  /// neither. The child's record names this job as its `parent`; pausing,
  /// resuming or cancelling this job reaches it too. Errors: unknown_job_type,
  /// invalid_params, payload_too_large, invalid_argument (an idempotency key, a
  /// run_at or `after`: a child starts when written), and illegal_transition
  /// after an ending. `opts` otherwise as for `runtime::submit`; the child's
  /// owner is this job's when `opts.owner` is empty. On a worker node it fails
  /// (invalid_argument): children are spawned by jobs in the coordinator.
  virtual result<job_id> spawn_child(std::string_view type, boost::json::value params,
                                     const submit_options& opts = {}) = 0;
  /// Ends this run and waits, without a slot, until every child this job has
  /// spawned has finished (completed, failed or cancelled): the job becomes
  /// `waiting` (`waiting_for: "children"`), then runs again from its last
  /// checkpoint (written with the children, so nothing is lost), where
  /// `children()` has their outcomes. At once if all have finished already.
  /// Not a failure: the attempt does not count.
  virtual void wait_for_children() = 0;
  /// The children this job has spawned, in order (kept in its checkpoint).
  virtual const std::vector<job_id>& child_ids() const = 0;
  /// The children's records as stored now: status, output, error. A child
  /// deleted since (by retention) is left out. Not on a worker node, which
  /// holds no store (invalid_argument).
  virtual result<std::vector<job_record>> children() const = 0;
  /// The job's own actor, for requests to other actors. An actor whose job used
  /// it is not reused for another job, so late replies reach no other job.
  virtual caf::event_based_actor* self() = 0;
  /// A run that stays suspended this long without a reply handler moving it on
  /// (`next_step`, an ending) fails with a transient error, and is retried like
  /// any other: a reply that never comes does not hold a slot forever. The
  /// default is `runtime_options::max_suspended`; 0 turns it off for this run.
  virtual void max_suspended(std::chrono::milliseconds limit) = 0;

  // -- what the host provides --------------------------------------------------------

  /// Everything in `runtime_options::services`.
  virtual const jobrt::services& services() const = 0;
  /// The `T` the host provided (`runtime_options::services`), or nullptr.
  template <class T>
  T* service() const {
    return services().template find<T>();
  }
};

/// The type-erased job the runtime drives. Derive from `job<Params, State>`.
class job_base {
public:
  virtual ~job_base() = default;
  /// Called once each time an actor starts this job (fresh or from a checkpoint),
  /// before the first step.
  virtual void on_start(context&) {
    // nop
  }
  /// One unit of work. Keep it short: pause and cancel wait for it to return.
  virtual void step(context& ctx) = 0;
  /// Message handlers of the job's own, besides `step`: typed CAF messages
  /// that other actors send to the job's actor (`runtime::actor_of(id)` gives
  /// its address), with replies. Called once per run, after `on_start`; the
  /// handlers run between steps, as a step does, and may use `ctx` (call
  /// `ctx.next_step()` or an ending from them). While the job is paused the
  /// messages wait in the mailbox; a cancel or the job's end ends the actor, and
  /// requests still waiting get an error. A job with handlers runs on an actor
  /// of its own, never reused, so no message meant for it reaches another job.
  /// Include "caf/all.hpp" to write them; the default has none.
  virtual caf::behavior handlers(context& ctx);
  /// A signal sent with `runtime::signal`, between two steps, in the order they
  /// were sent (and before the first step for those sent while the job was not
  /// running). It may use the context as a step does. A signal taken after the
  /// last checkpoint is delivered again after a crash (at-least-once).
  virtual void on_signal(context&, const job_signal&) {
    // nop: signals are ignored unless the job overrides this
  }
  /// The state to save in a checkpoint.
  virtual boost::json::value save_state() const = 0;
};

/// Per-type settings a job type may declare as
/// `static jobrt::job_type_options options() { ... }`.
struct job_type_options {
  /// How many jobs of this type may run at once; 0 = only the global cap.
  std::size_t max_running = 0;
  /// Run each job of this type on its own thread, for blocking I/O in `step`.
  bool blocking = false;
  /// Runs allowed before a transient error fails a job (a job may override it).
  std::uint32_t max_attempts = 3;
  /// Retry backoff: base * 2^(attempt-1), capped at max, with jitter (see backoff.hpp).
  std::int64_t backoff_base_ms = 1'000;
  std::int64_t backoff_max_ms = 300'000;
  /// Longest time one run may take; 0 = no limit (a job may override it).
  std::int64_t timeout_ms = 0;
  /// This type's own limits.
  std::vector<resource_limit> limits;
  /// Names of shared limits (`runtime_options::resources`) this type obeys too.
  std::vector<std::string> uses;
};

/// The base of every job: typed parameters (decoded from JSON by the registry)
/// and typed state (saved in checkpoints, restored on resume).
template <class Params, class State = no_fields>
class job : public job_base {
  // Checked here, where a job type is defined, so that these messages come
  // before any error from inside Boost.Describe.
  static_assert(boost::describe::has_describe_members<Params>::value,
                "jobrt: a job's Params must be described: add "
                "BOOST_DESCRIBE_STRUCT(your_params, (), (each, member)) next to the struct, "
                "in its namespace");
  static_assert(boost::describe::has_describe_members<State>::value,
                "jobrt: a job's State must be described: add "
                "BOOST_DESCRIBE_STRUCT(your_state, (), (each, member)) next to the struct, "
                "in its namespace (jobrt::no_fields for a job without state)");

public:
  using params_type = Params;
  using state_type = State;

  const Params& params() const noexcept { return params_; }
  State& state() noexcept { return state_; }
  const State& state() const noexcept { return state_; }

  boost::json::value save_state() const override { return encode(state_); }

  /// Used by the registry: decodes parameters and, when resuming, the state.
  result<void> load(const boost::json::value& params, const boost::json::value* state) {
    auto p = decode<Params>(params);
    if (!p)
      return p.error();
    params_ = std::move(*p);
    if (state != nullptr && !state->is_null()) {
      auto s = decode<State>(*state);
      if (!s)
        return error{errc::corrupt_record, "checkpoint state: " + s.error().message};
      state_ = std::move(*s);
    }
    return {};
  }

private:
  Params params_{};
  State state_{};
};

} // namespace jobrt
