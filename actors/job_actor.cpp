#include "actors/job_actor.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>

#include <boost/json/serialize.hpp>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace jobrt {

namespace {

class job_context;

/// Everything about the job an actor runs now; reset for each job.
struct current_job {
  proto::job_start start;
  std::string type;
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

using job_actor = caf::stateful_actor<job_actor_state>;

void settle(job_actor* self);
void arm_overdue(job_actor* self);
caf::message_handler running_handlers(job_actor* self);

/// The `context` a job's steps receive; it records what the step asks for.
class job_context final : public context {
public:
  explicit job_context(job_actor* self) : self_(self) {}

  job_id id() const override { return cur().start.id; }
  std::uint32_t attempt() const override { return cur().start.attempt; }

  void progress(double fraction, std::string_view stage, std::string_view message) override {
    auto& p = cur().prog;
    p.fraction = std::isfinite(fraction) ? std::clamp(fraction, 0.0, 1.0) : 0.0;
    set_text(stage, message);
  }

  void progress_indeterminate(std::string_view stage, std::string_view message) override {
    cur().prog.fraction.reset();
    set_text(stage, message);
  }

  void progress_detail(boost::json::value detail) override {
    canonicalize_numbers(detail);
    cur().prog.detail = has_non_finite(detail) ? boost::json::value{} : std::move(detail);
    cur().progress_dirty = true;
  }

  void checkpoint() override {
    cur().want_checkpoint = true;
    settle_outside_step();
  }

  void log(std::string_view message) override {
    log_line(cur().type + " #" + std::to_string(id()) + ": "
             + std::string{message});
  }

  void complete(boost::json::value output) override {
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::completed;
    canonicalize_numbers(output);
    o.output = std::move(output);
    end(std::move(o));
  }

  void fail(std::string message) override {
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::failed;
    o.error = std::move(message);
    end(std::move(o));
  }

  void fail_transient(std::string message) override {
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::failed;
    o.error = std::move(message);
    o.transient = true;
    end(std::move(o));
  }

  void rate_limited(std::chrono::milliseconds retry_after) override {
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::rate_limited;
    o.retry_after_ms = std::max<millis>(0, retry_after.count());
    end(std::move(o));
  }

  void wait_for_signal(std::chrono::milliseconds timeout) override {
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::awaiting_signal;
    o.retry_after_ms = std::max<millis>(0, timeout.count());
    end(std::move(o));
  }

  void suspend() override { cur().suspended = true; }

  void next_step() override {
    unsuspend();
    settle_outside_step();
  }

  void next_step_after(std::chrono::milliseconds delay) override {
    cur().step_delay = std::max(delay, std::chrono::milliseconds{0});
    unsuspend();
    settle_outside_step();
  }

  void max_suspended(std::chrono::milliseconds limit) override {
    cur().max_suspended = std::max(limit, std::chrono::milliseconds{0});
  }

  const jobrt::services& services() const override { return self_->state.env->opts.services; }

  caf::event_based_actor* self() override {
    self_->state.reusable = false;
    return self_;
  }

private:
  current_job& cur() const { return self_->state.cur; }

  /// Ends a suspension: an overdue timer armed for it is stale from now on.
  void unsuspend() {
    auto& c = cur();
    c.suspended = false;
    if (c.overdue_armed) {
      c.overdue_armed = false;
      ++c.suspension;
    }
  }

  void set_text(std::string_view stage, std::string_view message) {
    auto& p = cur().prog;
    if (!stage.empty())
      p.stage.assign(stage.data(), stage.size());
    p.message.assign(message.data(), message.size());
    cur().progress_dirty = true;
  }

  void end(proto::job_outcome o) {
    if (!cur().outcome)
      cur().outcome = std::move(o); // the first ending wins
    settle_outside_step();
  }

  /// Calls made from a reply handler rather than from `step` act at once.
  void settle_outside_step() {
    if (!cur().in_step)
      settle(self_);
  }

  job_actor* self_;
};

void send_progress(job_actor* self, millis checkpoint_at) {
  auto& cur = self->state.cur;
  cur.progress_dirty = false;
  cur.progress_sent = std::chrono::steady_clock::now();
  self->send(self->state.scheduler, proto::progress_atom::value, cur.start.id, cur.prog,
             checkpoint_at);
}

void maybe_send_progress(job_actor* self) {
  auto& cur = self->state.cur;
  if (!cur.progress_dirty)
    return;
  if (std::chrono::steady_clock::now() - cur.progress_sent
      >= bounded_wait(self->state.env->opts.progress_interval))
    send_progress(self, 0);
}

/// Reports how the job ended. A reusable actor then waits for its next job;
/// any other quits.
void finish(job_actor* self, proto::job_outcome o) {
  auto& st = self->state;
  if (!st.busy)
    return;
  st.busy = false;
  o.last_progress = std::move(st.cur.prog);
  o.signals_taken = st.cur.signals_taken;
  self->send(st.scheduler, proto::done_atom::value, st.cur.start.id, std::move(o), st.reusable);
  if (st.cur.paused)
    self->unbecome();
  if (!st.reusable) {
    // The job's own handlers may still be running up the stack: its object
    // goes with the actor's state, after this handler returns.
    self->quit();
    return;
  }
  // Nothing of the job is on the stack here (finish is only reached from the
  // runtime's own handlers), so it is destroyed now rather than when the next
  // job starts.
  st.cur = current_job{};
}

void queue_step(job_actor* self) {
  auto& st = self->state;
  auto& cur = st.cur;
  if (cur.step_queued || !st.busy)
    return;
  cur.step_queued = true;
  if (cur.step_delay.count() > 0) {
    // Paced steps wait on the runtime's clock, like every other timer: tests
    // drive them with a manual clock, and a delay of centuries saturates there.
    // The clock holds only a weak handle, so a long delay keeps no actor alive.
    caf::actor_addr me = self->address();
    auto run = st.run;
    st.env->clock->call_at(saturating_add(st.env->clock->now(), cur.step_delay.count()),
                           [me, run] {
                             if (auto a = caf::actor_cast<caf::actor>(me))
                               caf::anon_send(a, proto::step_atom::value, run);
                           });
    cur.step_delay = std::chrono::milliseconds{0};
    return;
  }
  self->send(self, proto::step_atom::value, st.run);
}

void fail_now(job_actor* self, std::string message) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.error = std::move(message);
  finish(self, std::move(o));
}

/// Writes state and progress as one checkpoint, then settles again.
void write_checkpoint(job_actor* self) {
  auto& st = self->state;
  auto& cur = st.cur;
  cur.want_checkpoint = false;
  checkpoint cp;
  try {
    cp.state = cur.job->save_state();
    canonicalize_numbers(cp.state);
  } catch (const std::exception& e) {
    fail_now(self, std::string{"saving the job's state threw: "} + e.what());
    return;
  }
  if (has_non_finite(cp.state)) {
    fail_now(self, "checkpoint state holds a number that is not finite (JSON cannot store it)");
    return;
  }
  auto size = json_size(cp.state);
  if (size > st.env->opts.max_payload_bytes) {
    fail_now(self, "checkpoint state is " + std::to_string(size) + " bytes, over the limit of "
                     + std::to_string(st.env->opts.max_payload_bytes));
    return;
  }
  cp.progress = cur.prog;
  cp.at = st.env->clock->now();
  cp.signals_taken = cur.signals_taken;
  auto at = cp.at;
  storage::write_batch batch;
  batch.put_checkpoint(cur.start.id, std::move(cp));
  // The signals the job took are in the state it saves: in the same commit,
  // they are not delivered again.
  if (cur.signals_taken != 0)
    batch.erase_signals(cur.start.id, cur.signals_taken);
  cur.checkpoint_in_flight = true;
  auto asked = std::chrono::steady_clock::now();
  auto run = st.run;
  // Once the checkpoint is durable, the job goes on. A cancel or stop can end
  // the job while it is in flight: the outcome then belongs to a job that is over.
  auto saved = [self, run, at, asked](const result<void>& r) {
    auto& st = self->state;
    if (!st.busy || st.run != run)
      return;
    st.cur.checkpoint_in_flight = false;
    st.env->checkpoint_latency->record(std::chrono::steady_clock::now() - asked);
    if (!r) {
      // The failure replaces any ending the job chose; like every ending, it
      // waits for a resume if the job was paused meanwhile.
      st.cur.outcome = proto::job_outcome{proto::job_outcome::kind::failed, {},
                                          "checkpoint could not be saved: " + r.error().message,
                                          0, {}, false};
      settle(self);
      return;
    }
    send_progress(self, at);
    settle(self);
  };
  if (st.env->store->commits_inline()) {
    saved(st.env->store->commit(batch));
    return;
  }
  self->request(st.env->persistence, caf::infinite, proto::write_atom::value, std::move(batch))
    .then(
      [=](const proto::write_ack& ack) {
        saved(ack.failure ? result<void>{*ack.failure} : result<void>{});
      },
      [=](caf::error& err) {
        saved(error{errc::storage_error, self->system().render(err)});
      });
}

/// Whether the job runs again after this ending (and so needs its checkpoint).
bool resumes_later(const proto::job_outcome& o) {
  using kind = proto::job_outcome::kind;
  return o.what == kind::rate_limited || o.what == kind::awaiting_signal
         || (o.what == kind::failed && o.transient);
}

/// A transient failure: the job is retried while it has attempts left.
std::optional<proto::job_outcome> thrown(std::string what) {
  return proto::job_outcome{proto::job_outcome::kind::failed, {}, std::move(what), 0, {}, true};
}

/// Arms the timer after which a suspended run that no reply moved on fails.
void arm_overdue(job_actor* self) {
  auto& st = self->state;
  auto& cur = st.cur;
  auto limit = cur.max_suspended.value_or(st.env->opts.max_suspended);
  if (limit.count() <= 0)
    return;
  cur.overdue_armed = true;
  caf::actor_addr me = self->address();
  auto run = st.run;
  auto suspension = cur.suspension;
  st.env->clock->call_at(saturating_add(st.env->clock->now(), limit.count()),
                         [me, run, suspension] {
                           if (auto a = caf::actor_cast<caf::actor>(me))
                             caf::anon_send(a, proto::overdue_atom::value, run, suspension);
                         });
}

/// A run still suspended when its overdue timer fires fails, to be retried.
void on_overdue(job_actor* self, std::uint64_t run, std::uint64_t suspension) {
  auto& st = self->state;
  auto& cur = st.cur;
  if (run != st.run || !st.busy || !cur.suspended || !cur.overdue_armed
      || cur.suspension != suspension || cur.outcome)
    return;
  auto limit = cur.max_suspended.value_or(st.env->opts.max_suspended);
  cur.outcome = thrown("suspended for " + std::to_string(limit.count())
                       + " ms with no reply moving it on (max_suspended)");
  settle(self);
}

/// Acts on what the last step (or a reply handler) asked for: a checkpoint
/// first, then the ending, else the next step.
///
/// A paused job acts on nothing. Replies to its requests still reach their
/// handlers while it is paused (CAF runs response handlers whatever the
/// behavior), and what they ask for (an ending, a checkpoint, the next step) is
/// held here until the job is resumed; a cancel drops it. So a pause the caller
/// saw acknowledged holds until the caller changes it.
void settle(job_actor* self) {
  auto& st = self->state;
  auto& cur = st.cur;
  if (!st.busy || cur.checkpoint_in_flight || cur.paused)
    return;
  // A run that ends in completion, a permanent failure or a cancel needs no
  // checkpoint: writing one in its own commit before the final record would let
  // a crash between the two restart the job after its last step.
  if (cur.want_checkpoint && cur.outcome && !resumes_later(*cur.outcome))
    cur.want_checkpoint = false;
  if (cur.want_checkpoint) {
    write_checkpoint(self);
    return;
  }
  if (cur.outcome) {
    finish(self, std::move(*cur.outcome));
    return;
  }
  // The next step is queued (or its timer armed) before the progress goes out,
  // so whoever sees the progress sees a job whose pace is already set.
  if (!cur.suspended)
    queue_step(self);
  else if (!cur.overdue_armed)
    arm_overdue(self);
  maybe_send_progress(self);
}

/// Lowers the CPU priority of the calling thread to nice value `target`, once
/// per thread (Linux niceness is per thread). Threads that run job code then
/// yield the CPU to the host's threads and to the writer's thread, so a facade
/// call or a commit is not queued behind job code on a busy machine.
void lower_this_thread_once(std::optional<int> target) {
  thread_local bool lowered = false;
  if (lowered || !target)
    return;
  lowered = true;
  auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  int current = ::getpriority(PRIO_PROCESS, tid);
  if (errno == 0 && current < *target)
    ::setpriority(PRIO_PROCESS, tid, *target);
}


/// Calls job code (`fn`) as a step is called: what it asks for is recorded and
/// acted on after; an exception it throws fails the run (transient), naming
/// `where` ("" for step itself), unless the run's ending was decided already.
template <class F>
void call_job(job_actor* self, const std::string& where, F fn) {
  auto& cur = self->state.cur;
  cur.in_step = true;
  try {
    fn();
  } catch (const std::exception& e) {
    if (!cur.outcome)
      cur.outcome = thrown("job threw" + where + ": " + e.what());
  } catch (...) {
    if (!cur.outcome)
      cur.outcome = thrown("job threw a non-standard exception" + where);
  }
  cur.in_step = false;
}

void run_step(job_actor* self, std::uint64_t run) {
  auto& st = self->state;
  auto& cur = st.cur;
  if (run != st.run || !st.busy)
    return; // a step of an earlier job
  cur.step_queued = false;
  if (cur.outcome || cur.suspended || cur.checkpoint_in_flight)
    return;
  lower_this_thread_once(st.env->job_thread_nice);
  call_job(self, "", [&] { cur.job->step(*st.ctx); });
  settle(self);
}

/// Gives the job one signal, as a step: what it asks for is settled after.
/// A signal it already took (a copy read at its start) is not given again.
void take_signal(job_actor* self, const job_signal& s) {
  auto& cur = self->state.cur;
  if (s.seq <= cur.signals_taken || cur.outcome)
    return;
  cur.signals_taken = s.seq;
  call_job(self, " in on_signal", [&] { cur.job->on_signal(*self->state.ctx, s); });
}

/// Builds the job from its parameters (and checkpoint) and takes its first step.
void begin(job_actor* self, proto::job_start start) {
  auto& st = self->state;
  if (st.busy) {
    // The scheduler hands a job only to an idle actor; this is a bug.
    log_line("job actor given job " + std::to_string(start.id) + " while it runs job "
             + std::to_string(st.cur.start.id) + "; the new one is refused");
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::failed;
    o.error = "internal error: handed to a busy job actor";
    o.transient = true;
    self->send(st.scheduler, proto::done_atom::value, start.id, std::move(o), false);
    return;
  }
  ++st.run;
  st.busy = true;
  st.cur = current_job{};
  auto& cur = st.cur;
  cur.start = std::move(start);
  const boost::json::value* saved = nullptr;
  if (cur.start.restored) {
    saved = &cur.start.restored->state;
    cur.prog = cur.start.restored->progress;
    cur.signals_taken = cur.start.restored->signals_taken;
  }
  cur.type = cur.start.record->type;
  auto made = st.env->types->create(cur.type, cur.start.record->params, saved);
  // Let go of what the job is built from: the scheduler changes the record
  // next (copy on write), and a checkpoint's state can be large.
  cur.start.record.reset();
  cur.start.restored.reset();
  if (!made) {
    fail_now(self, made.error().message);
    return;
  }
  cur.job = std::move(*made);
  call_job(self, " in on_start", [&] { cur.job->on_start(*st.ctx); });
  if (!cur.outcome)
    call_job(self, " in handlers", [&] {
      if (auto own = cur.job->handlers(*st.ctx)) {
        // Messages meant for this job must never reach another one.
        st.reusable = false;
        self->become(running_handlers(self).or_else(own));
      }
    });
  // Signals sent while the job was not running come first, in order.
  auto signals = std::move(cur.start.signals);
  for (const auto& s : signals)
    take_signal(self, s);
  // The first step runs at once rather than from a message to itself: many jobs
  // are one step long. A pause or cancel sent after the start is taken after it.
  if (!cur.outcome && !cur.want_checkpoint && !cur.suspended && cur.step_delay.count() == 0)
    run_step(self, st.run);
  else
    settle(self);
}

void cancel_now(job_actor* self) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::cancelled;
  finish(self, std::move(o));
}

/// Whether a control message names the job this actor runs now. One that
/// names an earlier job crossed that job's outcome on its way here: the
/// scheduler answers it from the outcome.
bool for_current(job_actor* self, job_id id) {
  return self->state.busy && self->state.cur.start.id == id;
}

caf::behavior paused_behavior(job_actor* self) {
  return {
    [=](proto::resume_atom, job_id id) {
      if (!for_current(self, id))
        return;
      self->state.cur.paused = false;
      self->unbecome();
      settle(self);
    },
    [=](proto::pause_atom, job_id id) {
      if (for_current(self, id))
        self->send(self->state.scheduler, proto::paused_atom::value, id);
    },
    [=](proto::cancel_atom, job_id id) {
      if (for_current(self, id))
        cancel_now(self);
    },
    [=](proto::stop_atom) { self->quit(); },
  };
}

/// The runtime's own handlers of a running job; a job's own handlers (see
/// `job_base::handlers`) are added behind them.
caf::message_handler running_handlers(job_actor* self) {
  return {
    [=](proto::run_atom, proto::job_start& next) { begin(self, std::move(next)); },
    [=](proto::step_atom, std::uint64_t run) { run_step(self, run); },
    [=](proto::overdue_atom, std::uint64_t run, std::uint64_t suspension) {
      on_overdue(self, run, suspension);
    },
    [=](proto::signal_atom, job_id id, const job_signal& s) {
      if (!for_current(self, id))
        return; // for a job this actor no longer runs: it gets it when it starts
      take_signal(self, s);
      settle(self);
    },
    [=](proto::pause_atom, job_id id) {
      auto& cur = self->state.cur;
      // Once the run's ending is decided (its checkpoint may still be in
      // flight), a pause would race it: the scheduler answers the pause when the
      // ending arrives instead.
      if (!for_current(self, id) || cur.outcome)
        return;
      cur.paused = true;
      self->become(caf::keep_behavior, paused_behavior(self));
      if (cur.progress_dirty)
        send_progress(self, 0);
      self->send(self->state.scheduler, proto::paused_atom::value, id);
    },
    [=](proto::resume_atom, job_id) {
      // already running
    },
    [=](proto::cancel_atom, job_id id) {
      if (for_current(self, id))
        cancel_now(self);
    },
    [=](proto::stop_atom) { self->quit(); },
  };
}

caf::behavior running_behavior(job_actor* self) {
  return caf::behavior{running_handlers(self)};
}

caf::behavior job_actor_fn(job_actor* self, env_ptr env, proto::job_start first,
                           caf::actor scheduler) {
  auto& st = self->state;
  st.env = std::move(env);
  st.scheduler = std::move(scheduler);
  st.ctx = std::make_unique<job_context>(self);
  // Messages the current behavior does not handle stay in the mailbox: this is
  // what keeps `step` waiting while paused.
  self->set_default_handler(caf::skip);
  // The behavior is in place before the first job begins (its first step runs
  // right away, and may pause the actor or end the job); nothing is returned,
  // so CAF keeps it.
  self->become(running_behavior(self));
  begin(self, std::move(first));
  return {};
}

} // namespace

caf::behavior job_base::handlers(context&) {
  return {};
}

caf::actor spawn_job_actor(caf::event_based_actor* scheduler, env_ptr env,
                           proto::job_start first, bool blocking) {
  caf::actor me = caf::actor_cast<caf::actor>(scheduler);
  if (blocking)
    return scheduler->spawn<caf::detached + caf::monitored>(job_actor_fn, std::move(env),
                                                            std::move(first), std::move(me));
  return scheduler->spawn<caf::monitored>(job_actor_fn, std::move(env), std::move(first),
                                          std::move(me));
}

} // namespace jobrt
