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

struct job_actor_state {
  env_ptr env;
  caf::actor scheduler;
  proto::job_start start;
  std::unique_ptr<job_base> job;
  std::unique_ptr<job_context> ctx;

  progress prog;
  bool progress_dirty = false;
  std::chrono::steady_clock::time_point progress_sent{};

  // What the current step asked for; acted on when it returns (`settle`).
  bool in_step = false;
  bool want_checkpoint = false;
  bool suspended = false;
  std::optional<proto::job_outcome> outcome;

  std::chrono::milliseconds step_delay{0}; ///< set by next_step_after
  bool step_queued = false;         ///< a step message is in the mailbox
  bool checkpoint_in_flight = false;
  bool finished = false;

  static inline const char* name = "jobrt.job";
};

using job_actor = caf::stateful_actor<job_actor_state>;

void settle(job_actor* self);

/// The `context` a job's steps receive; it records what the step asks for.
class job_context final : public context {
public:
  explicit job_context(job_actor* self) : self_(self) {}

  job_id id() const override { return st().start.id; }
  std::uint32_t attempt() const override { return st().start.attempt; }

  void progress(double fraction, std::string_view stage, std::string_view message) override {
    auto& p = st().prog;
    p.fraction = std::isfinite(fraction) ? std::clamp(fraction, 0.0, 1.0) : 0.0;
    set_text(stage, message);
  }

  void progress_indeterminate(std::string_view stage, std::string_view message) override {
    st().prog.fraction.reset();
    set_text(stage, message);
  }

  void progress_detail(boost::json::value detail) override {
    st().prog.detail = has_non_finite(detail) ? boost::json::value{} : std::move(detail);
    st().progress_dirty = true;
  }

  void checkpoint() override {
    st().want_checkpoint = true;
    settle_outside_step();
  }

  void log(std::string_view message) override {
    log_line(std::string{st().start.type} + " #" + std::to_string(id()) + ": "
             + std::string{message});
  }

  void complete(boost::json::value output) override {
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::completed;
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

  void suspend() override { st().suspended = true; }

  void next_step() override {
    st().suspended = false;
    settle_outside_step();
  }

  void next_step_after(std::chrono::milliseconds delay) override {
    st().step_delay = std::max(delay, std::chrono::milliseconds{0});
    st().suspended = false;
    settle_outside_step();
  }

  caf::event_based_actor* self() override { return self_; }

private:
  job_actor_state& st() const { return self_->state; }

  void set_text(std::string_view stage, std::string_view message) {
    auto& p = st().prog;
    if (!stage.empty())
      p.stage.assign(stage.data(), stage.size());
    p.message.assign(message.data(), message.size());
    st().progress_dirty = true;
  }

  void end(proto::job_outcome o) {
    if (!st().outcome)
      st().outcome = std::move(o); // the first ending wins
    settle_outside_step();
  }

  /// Calls made from a reply handler rather than from `step` act at once.
  void settle_outside_step() {
    if (!st().in_step)
      settle(self_);
  }

  job_actor* self_;
};

void send_progress(job_actor* self, millis checkpoint_at) {
  auto& st = self->state;
  st.progress_dirty = false;
  st.progress_sent = std::chrono::steady_clock::now();
  self->send(st.scheduler, proto::progress_atom::value, st.start.id, st.prog, checkpoint_at);
}

void maybe_send_progress(job_actor* self) {
  auto& st = self->state;
  if (!st.progress_dirty)
    return;
  if (std::chrono::steady_clock::now() - st.progress_sent >= st.env->opts.progress_interval)
    send_progress(self, 0);
}

void finish(job_actor* self, proto::job_outcome o) {
  auto& st = self->state;
  if (st.finished)
    return;
  st.finished = true;
  o.last_progress = st.prog;
  self->send(st.scheduler, proto::done_atom::value, st.start.id, std::move(o));
  self->quit();
}

void queue_step(job_actor* self) {
  auto& st = self->state;
  if (st.step_queued || st.finished)
    return;
  st.step_queued = true;
  if (st.step_delay.count() > 0) {
    self->delayed_send(self, st.step_delay, proto::step_atom::value);
    st.step_delay = std::chrono::milliseconds{0};
    return;
  }
  self->send(self, proto::step_atom::value);
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
  st.want_checkpoint = false;
  checkpoint cp;
  try {
    cp.state = st.job->save_state();
  } catch (const std::exception& e) {
    fail_now(self, std::string{"saving the job's state threw: "} + e.what());
    return;
  }
  if (has_non_finite(cp.state)) {
    fail_now(self, "checkpoint state holds a number that is not finite (JSON cannot store it)");
    return;
  }
  auto size = boost::json::serialize(cp.state).size();
  if (size > st.env->opts.max_payload_bytes) {
    fail_now(self, "checkpoint state is " + std::to_string(size) + " bytes, over the limit of "
                     + std::to_string(st.env->opts.max_payload_bytes));
    return;
  }
  cp.progress = st.prog;
  cp.at = st.env->clock->now();
  auto at = cp.at;
  storage::write_batch batch;
  batch.put_checkpoint(st.start.id, cp);
  st.checkpoint_in_flight = true;
  auto asked = std::chrono::steady_clock::now();
  self->request(st.env->persistence, caf::infinite, proto::write_atom::value, std::move(batch))
    .then(
      [=](const proto::write_ack& ack) {
        self->state.checkpoint_in_flight = false;
        self->state.env->checkpoint_latency->record(std::chrono::steady_clock::now() - asked);
        if (ack.failure) {
          fail_now(self, "checkpoint could not be saved: " + ack.failure->message);
          return;
        }
        send_progress(self, at);
        settle(self);
      },
      [=](caf::error& err) {
        self->state.checkpoint_in_flight = false;
        fail_now(self, "checkpoint could not be saved: " + self->system().render(err));
      });
}

/// Whether the job runs again after this ending (and so needs its checkpoint).
bool resumes_later(const proto::job_outcome& o) {
  using kind = proto::job_outcome::kind;
  return o.what == kind::rate_limited || (o.what == kind::failed && o.transient);
}

/// Acts on what the last step (or a reply handler) asked for: a checkpoint
/// first, then the ending, else the next step.
void settle(job_actor* self) {
  auto& st = self->state;
  if (st.finished || st.checkpoint_in_flight)
    return;
  // A run that ends in completion, a permanent failure or a cancel needs no
  // checkpoint: writing one in its own commit before the final record would let
  // a crash between the two restart the job after its last step.
  if (st.want_checkpoint && st.outcome && !resumes_later(*st.outcome))
    st.want_checkpoint = false;
  if (st.want_checkpoint) {
    write_checkpoint(self);
    return;
  }
  if (st.outcome) {
    finish(self, std::move(*st.outcome));
    return;
  }
  maybe_send_progress(self);
  if (!st.suspended)
    queue_step(self);
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

void run_step(job_actor* self) {
  auto& st = self->state;
  st.step_queued = false;
  if (st.finished || st.outcome || st.suspended || st.checkpoint_in_flight)
    return;
  lower_this_thread_once(st.env->job_thread_nice);
  st.in_step = true;
  try {
    st.job->step(*st.ctx);
  } catch (const std::exception& e) {
    if (!st.outcome)
      st.outcome = proto::job_outcome{proto::job_outcome::kind::failed, {},
                                      std::string{"job threw: "} + e.what(), 0, {}, true};
  } catch (...) {
    if (!st.outcome)
      st.outcome = proto::job_outcome{proto::job_outcome::kind::failed, {},
                                      "job threw a non-standard exception", 0, {}, true};
  }
  st.in_step = false;
  settle(self);
}

void cancel_now(job_actor* self) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::cancelled;
  finish(self, std::move(o));
}

caf::behavior paused_behavior(job_actor* self) {
  return {
    [=](proto::resume_atom) {
      self->unbecome();
      settle(self);
    },
    [=](proto::pause_atom) { self->send(self->state.scheduler, proto::paused_atom::value, self->state.start.id); },
    [=](proto::cancel_atom) { cancel_now(self); },
    [=](proto::stop_atom) { self->quit(); },
  };
}

caf::behavior job_actor_fn(job_actor* self, env_ptr env, proto::job_start start,
                           caf::actor scheduler) {
  auto& st = self->state;
  st.env = std::move(env);
  st.scheduler = std::move(scheduler);
  st.start = std::move(start);
  st.ctx = std::make_unique<job_context>(self);
  // Messages the current behavior does not handle stay in the mailbox: this is
  // what keeps `step` waiting while paused.
  self->set_default_handler(caf::skip);

  const boost::json::value* saved = nullptr;
  if (st.start.restored) {
    saved = &st.start.restored->state;
    st.prog = st.start.restored->progress;
  }
  auto made = st.env->types->create(st.start.type, st.start.params, saved);
  if (!made) {
    fail_now(self, made.error().message);
    return {};
  }
  st.job = std::move(*made);
  st.in_step = true;
  try {
    st.job->on_start(*st.ctx);
  } catch (const std::exception& e) {
    st.outcome = proto::job_outcome{proto::job_outcome::kind::failed, {},
                                    std::string{"job threw in on_start: "} + e.what(), 0, {},
                                    true};
  }
  st.in_step = false;
  settle(self);

  return {
    [=](proto::step_atom) { run_step(self); },
    [=](proto::pause_atom) {
      // Once the run's ending is decided (its checkpoint may still be in
      // flight), a pause would race it: the scheduler answers the pause when the
      // ending arrives instead.
      if (self->state.outcome)
        return;
      self->become(caf::keep_behavior, paused_behavior(self));
      if (self->state.progress_dirty)
        send_progress(self, 0);
      self->send(self->state.scheduler, proto::paused_atom::value, self->state.start.id);
    },
    [=](proto::resume_atom) {
      // already running
    },
    [=](proto::cancel_atom) { cancel_now(self); },
    [=](proto::stop_atom) { self->quit(); },
  };
}

} // namespace

caf::actor spawn_job_actor(caf::event_based_actor* scheduler, env_ptr env,
                           proto::job_start start, bool blocking) {
  caf::actor me = caf::actor_cast<caf::actor>(scheduler);
  if (blocking)
    return scheduler->spawn<caf::detached + caf::monitored>(job_actor_fn, std::move(env),
                                                            std::move(start), std::move(me));
  return scheduler->spawn<caf::monitored>(job_actor_fn, std::move(env), std::move(start),
                                          std::move(me));
}

} // namespace jobrt
