/// The job actor (see actors/job_actor.hpp): starting a job, running its steps
/// and signals, and the behaviors that take pause, resume, cancel and stop
/// between them. What a job's code asks for through its `context` is acted on in
/// actors/job_context.cpp.

#include "actors/job_actor.hpp"

#include <cerrno>
#include <string>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "actors/job_actor_state.hpp"
#include "actors/test_hooks.hpp"

namespace jobrt {

namespace job_actor_detail {

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

void fail_now(job_actor* self, std::string message) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.error = std::move(message);
  finish(self, std::move(o));
}

void report_if_paused_at_rest(job_actor* self) {
  if (!test_hooks::observed())
    return;
  auto& st = self->state;
  auto& cur = st.cur;
  if (st.busy && cur.paused && !cur.checkpoint_in_flight && !cur.step_queued)
    test_hooks::report(test_hooks::sighting::paused_at_rest, cur.start.id);
}

namespace {

caf::message_handler running_handlers(job_actor* self);

/// For tests: a paused job whose step was just left in the mailbox (it has at
/// most one), with no checkpoint in flight, can take no step before a resume.
void report_skipped(job_actor* self, const caf::type_erased_tuple& msg) {
  auto& st = self->state;
  auto& cur = st.cur;
  if (st.busy && cur.paused && !cur.checkpoint_in_flight
      && msg.match_elements<proto::step_atom, std::uint64_t>()
      && msg.get_as<std::uint64_t>(1) == st.run)
    test_hooks::report(test_hooks::sighting::paused_at_rest, cur.start.id);
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
      cur.outcome = transient_failure("job threw" + where + ": " + e.what());
  } catch (...) {
    if (!cur.outcome)
      cur.outcome = transient_failure("job threw a non-standard exception" + where);
  }
  cur.in_step = false;
}

void run_step(job_actor* self, std::uint64_t run) {
  auto& st = self->state;
  auto& cur = st.cur;
  if (run != st.run || !st.busy) {
    test_hooks::report(test_hooks::sighting::stale_dropped, 0);
    return; // a step of an earlier job
  }
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
void begin_job(job_actor* self, proto::job_start start) {
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
    cur.children = cur.start.restored->children;
  }
  cur.type = cur.start.record->type;
  cur.owner = cur.start.record->owner;
  auto created = st.env->types->create(cur.type, cur.start.record->params, saved);
  // Let go of what the job is built from: the scheduler changes the record
  // next (copy on write), and a checkpoint's state can be large.
  cur.start.record.reset();
  cur.start.restored.reset();
  if (!created) {
    fail_now(self, created.error().message);
    return;
  }
  cur.job = std::move(*created);
  call_job(self, " in on_start", [&] { cur.job->on_start(*st.ctx); });
  if (!cur.outcome)
    call_job(self, " in handlers", [&] {
      if (auto job_handlers = cur.job->handlers(*st.ctx)) {
        // Messages meant for this job must never reach another one.
        st.reusable = false;
        self->become(running_handlers(self).or_else(job_handlers));
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
bool names_current_job(job_actor* self, job_id id) {
  return self->state.busy && self->state.cur.start.id == id;
}

// The behaviors are dynamic `caf::behavior`s, not typed ones: the job's own
// handlers join the running behavior (see actors/job_actor.hpp).

/// While paused: control messages only. A step (or signal) finds no handler
/// here and stays in the mailbox (`skip`, the default handler) until resume.
caf::behavior paused_behavior(job_actor* self) {
  return {
    [=](proto::resume_atom, job_id id) {
      if (!names_current_job(self, id))
        return;
      self->state.cur.paused = false;
      self->unbecome();
      test_hooks::report(test_hooks::sighting::resumed, id);
      settle(self);
    },
    [=](proto::pause_atom, job_id id) {
      if (names_current_job(self, id))
        self->send(self->state.scheduler, proto::paused_atom::value, id);
    },
    [=](proto::cancel_atom, job_id id) {
      if (names_current_job(self, id))
        cancel_now(self);
    },
    [=](proto::stop_atom) { self->quit(); },
  };
}

/// The runtime's own handlers of a running job; a job's own handlers (see
/// `job_base::handlers`) are added behind them.
caf::message_handler running_handlers(job_actor* self) {
  return {
    [=](proto::run_atom, proto::job_start& next) { begin_job(self, std::move(next)); },
    [=](proto::step_atom, std::uint64_t run) { run_step(self, run); },
    [=](proto::overdue_atom, std::uint64_t run, std::uint64_t suspension) {
      on_overdue(self, run, suspension);
    },
    [=](proto::signal_atom, job_id id, const job_signal& s) {
      if (!names_current_job(self, id))
        return; // for a job this actor no longer runs: it gets it when it starts
      take_signal(self, s);
      settle(self);
    },
    [=](proto::pause_atom, job_id id) {
      auto& cur = self->state.cur;
      // Once the run's ending is decided (its checkpoint may still be in
      // flight), a pause would race it: the scheduler answers the pause when the
      // ending arrives instead.
      if (!names_current_job(self, id) || cur.outcome)
        return;
      cur.paused = true;
      self->become(caf::keep_behavior, paused_behavior(self));
      if (cur.progress_dirty)
        send_progress(self, 0);
      self->send(self->state.scheduler, proto::paused_atom::value, id);
      report_if_paused_at_rest(self);
    },
    [=](proto::resume_atom, job_id) {
      // already running
    },
    [=](proto::cancel_atom, job_id id) {
      if (names_current_job(self, id))
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
  // what keeps `step` waiting while paused. (CAF offers a skipped message again
  // after each message the actor handles, and after each behavior change.)
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view& msg) {
    if (test_hooks::observed())
      report_skipped(self, msg.content());
    return caf::result<caf::message>{caf::skip};
  });
  // The behavior is in place before the first job begins (its first step runs
  // right away, and may pause the actor or end the job); nothing is returned,
  // so CAF keeps it.
  self->become(running_behavior(self));
  begin_job(self, std::move(first));
  return {};
}

} // namespace

} // namespace job_actor_detail

caf::behavior job_base::handlers(context&) {
  return {};
}

caf::actor spawn_job_actor(caf::local_actor* scheduler, env_ptr env, proto::job_start first,
                           bool blocking) {
  using job_actor_detail::job_actor_fn;
  caf::actor me = caf::actor_cast<caf::actor>(scheduler);
  if (blocking)
    return scheduler->spawn<caf::detached + caf::monitored>(job_actor_fn, std::move(env),
                                                            std::move(first), std::move(me));
  return scheduler->spawn<caf::monitored>(job_actor_fn, std::move(env), std::move(first),
                                          std::move(me));
}

} // namespace jobrt
