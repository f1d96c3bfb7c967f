#pragma once

/// The job actor's private parts, shared by actors/job_actor.cpp (the actor:
/// starting a job, its steps, its behaviors) and actors/job_context.cpp (the
/// `context` a job's code receives, and acting on what it asked for).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caf/stateful_actor.hpp"

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt::job_actor_detail {

class job_context;

/// Everything about the job an actor runs now; reset for each job.
struct current_job {
  proto::job_start start;
  std::string type;
  std::string owner; ///< the children it spawns get it unless they name another
  std::unique_ptr<job_base> job;

  progress prog;
  bool progress_dirty = false;
  std::chrono::steady_clock::time_point progress_sent{};

  // What the current step asked for; acted on when it returns (`settle`).
  bool in_step = false;
  bool want_checkpoint = false;
  bool suspended = false;
  std::optional<proto::job_outcome> outcome;

  std::chrono::milliseconds step_delay{0}; ///< set by next_step_after
  /// Counts the times this run was suspended; an overdue timer names the one it
  /// was armed for, and is stale once the job moved on.
  std::uint64_t suspension = 0;
  bool overdue_armed = false;
  std::optional<std::chrono::milliseconds> max_suspended; ///< set by the job
  std::uint64_t signals_taken = 0; ///< the last signal delivered to the job
  bool step_queued = false;                ///< a step message is in the mailbox
  bool checkpoint_in_flight = false;
  bool paused = false; ///< the paused behavior is on top of the behavior stack
  std::vector<job_id> children; ///< every child spawned (the checkpoint's list)
  /// Children spawned since the last checkpoint: written with the next one.
  std::vector<std::shared_ptr<const job_record>> new_children;
};

struct job_actor_state {
  env_ptr env;
  caf::actor scheduler;
  std::unique_ptr<job_context> ctx;
  current_job cur;
  /// Counts the jobs this actor has started. Step messages and checkpoint
  /// replies carry it, so that those of an earlier job are recognised as stale.
  std::uint64_t run = 0;
  bool busy = false; ///< a job is between its start and its outcome
  /// False once job code used the actor itself (`ctx.self()`): replies to its
  /// requests, or handlers it installed, may still arrive, so the actor is not
  /// given another job.
  bool reusable = true;

  static inline const char* name = "jobrt.job";
};

/// A dynamically typed actor, not a `caf::typed_actor`: the job's own handlers
/// (`job_base::handlers`, messages only the job's code knows) join its behavior,
/// and job code gets it as a `caf::event_based_actor*` (`context::self`). See
/// actors/job_actor.hpp.
using job_actor = caf::stateful_actor<job_actor_state>;

/// The `context` a job's steps receive; it records what the step asks for.
class job_context final : public context {
public:
  explicit job_context(job_actor* self) : self_(self) {}

  job_id id() const override;
  std::uint32_t attempt() const override;
  std::string_view node() const override;
  void progress(double fraction, std::string_view stage, std::string_view message) override;
  void progress_indeterminate(std::string_view stage, std::string_view message) override;
  void progress_detail(boost::json::value detail) override;
  void checkpoint() override;
  void log(std::string_view message) override;
  void complete(boost::json::value output) override;
  void fail(std::string message) override;
  void fail_transient(std::string message) override;
  void rate_limited(std::chrono::milliseconds retry_after) override;
  void wait_for_signal(std::chrono::milliseconds timeout) override;
  result<job_id> spawn_child(std::string_view type, boost::json::value params,
                             const submit_options& opts) override;
  void wait_for_children() override;
  const std::vector<job_id>& child_ids() const override;
  result<std::vector<job_record>> children() const override;
  void suspend() override;
  void next_step() override;
  void next_step_after(std::chrono::milliseconds delay) override;
  void max_suspended(std::chrono::milliseconds limit) override;
  const jobrt::services& services() const override;
  caf::event_based_actor* self() override;

private:
  current_job& cur() const { return self_->state.cur; }

  /// Ends a suspension: an overdue timer armed for it is stale from now on.
  void unsuspend();

  void set_text(std::string_view stage, std::string_view message);

  /// Records how the run ends; the first ending wins.
  void set_outcome(proto::job_outcome o);

  /// Calls made from a reply handler rather than from `step` act at once.
  void settle_outside_step();

  job_actor* self_;
};

// -- acting on what the job asked for (actors/job_context.cpp) ------------------------

/// Acts on what the last step (or a reply handler) asked for: a checkpoint
/// first, then the ending, else the next step.
void settle(job_actor* self);

/// Sends the job's progress to the scheduler now; `checkpoint_at` is the time of
/// the checkpoint it goes with, else 0.
void send_progress(job_actor* self, millis checkpoint_at);

/// A transient failure: the job is retried while it has attempts left.
std::optional<proto::job_outcome> transient_failure(std::string what);

/// A run still suspended when its overdue timer fires fails, to be retried.
void on_overdue(job_actor* self, std::uint64_t run, std::uint64_t suspension);

// -- the actor (actors/job_actor.cpp) --------------------------------------------------

/// Reports how the job ended. A reusable actor then waits for its next job;
/// any other quits.
void finish(job_actor* self, proto::job_outcome o);

/// Ends the run at once as a (permanent) failure.
void fail_now(job_actor* self, std::string message);

/// For tests (actors/test_hooks.hpp): reports a paused job that can take no
/// step before a resume, because it has none queued or armed and no checkpoint
/// in flight. Does nothing unless a test observes.
void report_if_paused_at_rest(job_actor* self);

} // namespace jobrt::job_actor_detail
