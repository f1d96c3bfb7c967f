/// The scheduler's runs: starting jobs, the status changes of jobs with and
/// without an actor, and how runs end.
///
/// Every status change moves the entry with `job_table::move` and its record
/// with a function of actors/lifecycle.hpp, both checked against the one table,
/// and writes the record expecting the status it replaces. Subscribers hear of
/// a change, and callers are answered, once it is durable.

#include <boost/json.hpp>

#include "jobrt/backoff.hpp"

#include "actors/job_actor.hpp"
#include "actors/scheduler_state.hpp"

namespace jobrt::scheduling {

result<shared_record> take_record(scheduler_ptr self, job_entry& e) {
  if (e.record)
    return std::move(e.record);
  auto r = self->state.env->store->get(e.id);
  if (!r)
    return r.error();
  // The scheduler's view: a write of the record may still be on its way to the
  // store, and the next one expects the status that write sets.
  r->status = e.status;
  return shared_record{std::move(*r)};
}

void forget_job(scheduler_ptr self, job_id id) {
  auto* e = self->state.jobs.find(id);
  auto status = e != nullptr ? e->status : job_status::failed;
  self->state.jobs.forget(id);
  job_ended(self, id, status);
}

void answer_finish_waiters(scheduler_ptr self, job_entry& e, const result<void>& written) {
  if (e.finish_waiters.empty())
    return;
  auto final = !written ? result<job_record>{written.error()}
               : e.record && is_finished(e.record->status) ? result<job_record>{*e.record}
                                                           : self->state.env->store->get(e.id);
  for (auto& w : e.finish_waiters)
    answer<job_record>(w, final);
  e.finish_waiters.clear();
}

void move_idle_job(scheduler_ptr self, job_entry& e, job_event_kind kind,
                   const std::function<result<void>(job_record&)>& change,
                   write_callback done) {
  auto& jobs = self->state.jobs;
  if (auto ok = lifecycle::check(e.status, kind); !ok) {
    done(ok);
    return;
  }
  const bool held = static_cast<bool>(e.record);
  auto loaded = take_record(self, e);
  if (!loaded) {
    done(result<void>{loaded.error()});
    return;
  }
  auto rec = std::move(*loaded);
  auto& r = rec.edit();
  const auto replaces = r.status;
  if (auto ok = change(r); !ok) {
    if (held)
      e.record = std::move(rec);
    done(ok);
    return;
  }
  jobs.dequeue(e);
  ++e.timer_generation; // any pending timer is stale now
  moved(self, e.id, jobs.move(e, kind)); // checked above
  e.waits_for_signal = false;
  if (e.status == job_status::queued)
    jobs.enqueue(e);
  // An idle job holds its record only while queued (or while it keeps an actor).
  if (held && (e.actor || e.status == job_status::queued))
    e.record = rec.second_holder();
  auto written = rec.share();
  persist(self, written, replaces, [self, written, done = std::move(done)](result<void> r) {
    if (auto* j = self->state.jobs.find(written->id); r && j != nullptr)
      publish_status(self, *j, written->status, {}, &written->progress);
    if (done)
      done(r);
  });
}

void apply_held_steering(scheduler_ptr self, job_entry& e) {
  auto id = e.id;
  auto cancels = std::move(e.cancel_waiters);
  auto pauses = std::move(e.pause_waiters);
  e.cancel_waiters.clear();
  e.pause_waiters.clear();
  for (auto& rp : cancels)
    on_cancel(self, id, rp);
  for (auto& rp : pauses)
    on_pause(self, id, rp);
}

namespace {

/// Ends a job with its final record (moved there from `replaces` by a lifecycle
/// function). Subscribers hear of it, and waiters get the record, once it is
/// durable; then the entry goes.
void finish_job(scheduler_ptr self, job_entry& e, job_event_kind kind, shared_record rec,
                job_status replaces) {
  auto id = e.id;
  if (!moved(self, id, self->state.jobs.move(e, kind)))
    return;
  auto to = e.status;
  e.record = rec.second_holder();
  auto& counters = self->state.counters;
  if (to == job_status::completed)
    ++counters.completed;
  else if (to == job_status::failed)
    ++counters.failed;
  // A final record that no caller waits for (the subscribers can wait a
  // moment) joins a later commit.
  const bool caller_waits = !e.finish_waiters.empty() || !e.pause_waiters.empty()
                            || !e.cancel_waiters.empty();
  // Captures no more than fits in std::function without a heap allocation:
  // this runs for every job.
  persist(self, rec.share(), replaces, [self, id](result<void> r) {
    auto* job = self->state.jobs.find(id);
    if (job == nullptr)
      return;
    auto to = job->status;
    if (!r)
      log_line("job " + std::to_string(id) + ": final status could not be saved: "
               + r.error().message);
    bool failed = to == job_status::failed && job->record;
    publish_status(self, *job, to, failed ? job->record->error : std::string{});
    // A pause or cancel that was waiting for the run to reach a step boundary
    // learns how it ended instead.
    if (!job->pause_waiters.empty())
      answer_all(job->pause_waiters, check_transition(to, job_status::paused));
    if (!job->cancel_waiters.empty())
      answer_all(job->cancel_waiters, to == job_status::cancelled
                                        ? result<void>{}
                                        : check_transition(to, job_status::cancelled));
    answer_finish_waiters(self, *job, r);
    forget_job(self, id);
  }, caller_waits ? proto::write_urgency::caller_waits : proto::write_urgency::can_wait);
}

/// Parks a job whose run ended in a rate limit, a transient error or a wait for
/// a signal until `wake_at`. A pause or cancel asked for while it ran applies
/// to it then.
void to_waiting(scheduler_ptr self, job_entry& e, shared_record rec, millis wake_at,
                lifecycle::wait_reason why) {
  auto id = e.id;
  auto& r = rec.edit();
  const auto replaces = r.status;
  if (!moved(self, id, lifecycle::wait(r, wake_at, why))
      || !moved(self, id, self->state.jobs.move(e, job_event_kind::wait)))
    return;
  e.waits_for_signal = why == lifecycle::wait_reason::signal;
  arm_timer(self, e, wake_at);
  auto written = rec.share();
  persist(self, written, replaces, [=](result<void> r) {
    auto* job = self->state.jobs.find(id);
    if (job == nullptr)
      return;
    if (!r)
      log_line("job " + std::to_string(id) + ": waiting status could not be saved: "
               + r.error().message);
    publish_status(self, *job, job_status::waiting, {}, &written->progress);
    apply_held_steering(self, *job);
    if (why == lifecycle::wait_reason::children)
      release_if_free(self, id); // waited for children that have all finished
  });
}

} // namespace

/// An ending that the table does not allow from the job's status (a run that
/// ends while the job is paused, say) is not applied: the job keeps its status,
/// and a resume starts it again from its checkpoint. The job actor holds such
/// endings itself; this is the guard behind it.
void apply_outcome(scheduler_ptr self, job_entry& e, proto::job_outcome& o) {
  auto& st = self->state;
  st.limits->release(e);
  shared_record rec = std::move(e.record);
  if (!rec)
    rec = shared_record{job_record{}};
  auto& r = rec.edit();
  r.progress = std::move(o.last_progress);
  const auto replaces = r.status;
  auto t = now(self);
  auto refused = [&](const result<void>& ok) {
    if (ok)
      return false;
    log_line("job " + std::to_string(e.id) + ": its run ended as it was " + to_string(e.status)
             + "; the ending is dropped (" + ok.error().message + ")");
    e.record = std::move(rec);
    return true;
  };
  auto fail = [&](std::string why) {
    if (refused(lifecycle::fail(r, std::move(why), t)))
      return;
    finish_job(self, e, job_event_kind::fail, std::move(rec), replaces);
  };
  using kind = proto::job_outcome::kind;
  switch (o.what) {
    case kind::completed: {
      if (has_non_finite(o.output)) {
        fail("output holds a number that is not finite (JSON cannot store it)");
        break;
      }
      auto size = json_size(o.output);
      if (size > st.env->opts.max_payload_bytes) {
        fail("output is " + std::to_string(size) + " bytes, over the limit of "
             + std::to_string(st.env->opts.max_payload_bytes));
        break;
      }
      if (refused(lifecycle::complete(r, std::move(o.output), t)))
        break;
      finish_job(self, e, job_event_kind::complete, std::move(rec), replaces);
      break;
    }
    case kind::failed: {
      if (o.transient && r.attempts < r.max_attempts) {
        if (refused(lifecycle::check(r.status, job_event_kind::wait)))
          break;
        r.error = o.error;
        const auto& opts = st.limits->type(e.type).options;
        std::uniform_real_distribution<double> unit{0.0, 1.0};
        auto delay =
          backoff_delay(r.attempts, opts.backoff_base_ms, opts.backoff_max_ms, unit(st.rng));
        to_waiting(self, e, std::move(rec), saturating_add(t, delay),
                   lifecycle::wait_reason::retry);
        break;
      }
      fail(o.error);
      break;
    }
    case kind::cancelled: {
      if (refused(lifecycle::cancel(r, t)))
        break;
      finish_job(self, e, job_event_kind::cancel, std::move(rec), replaces);
      break;
    }
    case kind::rate_limited:
    case kind::awaiting_signal: {
      if (refused(lifecycle::check(r.status, job_event_kind::wait)))
        break;
      // A wait, not a failure: the attempt does not count.
      if (r.attempts > 0)
        --r.attempts;
      auto wake_at = saturating_add(t, o.retry_after_ms);
      // A signal sent while the run was ending reached an actor that no longer
      // took signals: it is stored, and the job wakes for it at once.
      if (o.what == kind::awaiting_signal && e.last_signal > o.signals_taken)
        wake_at = t;
      to_waiting(self, e, std::move(rec), wake_at,
                 o.what == kind::rate_limited ? lifecycle::wait_reason::rate_limit
                                              : lifecycle::wait_reason::signal);
      break;
    }
    case kind::interrupted: {
      // As after a crash: the attempt counts, and it resumes from its checkpoint.
      if (refused(lifecycle::requeue(r)))
        break;
      r.error = o.error;
      requeue_interrupted(self, e, std::move(rec), replaces);
      break;
    }
    case kind::awaiting_children: {
      if (refused(lifecycle::check(r.status, job_event_kind::wait)))
        break;
      if (r.attempts > 0) // a wait, not a failure
        --r.attempts;
      wait_for_jobs(self, e, o.children, lifecycle::wait_reason::children);
      to_waiting(self, e, std::move(rec), lifecycle::no_wake, lifecycle::wait_reason::children);
      break;
    }
  }
  try_start(self);
}

void on_done(scheduler_ptr self, job_id id, proto::job_outcome& o, bool reusable) {
  auto* e = self->state.jobs.find(id);
  if (e == nullptr || !e->actor)
    return;
  if (reusable)
    return_actor(self, *e);
  else
    forget_actor(self, *e);
  apply_outcome(self, *e, o);
}

namespace {

/// Publishes `running` once the record that says so is durable (what a
/// subscriber hears, a crash cannot take back), if the run is still on.
write_callback publish_running(scheduler_ptr self, job_id id, std::uint64_t run) {
  return [self, id, run](result<void> r) {
    if (!r) {
      log_line("job " + std::to_string(id) + ": running status could not be saved: "
               + r.error().message);
      return;
    }
    if (auto* e = self->state.jobs.find(id); e != nullptr && e->run == run)
      publish_status(self, *e, job_status::running);
  };
}

/// Goes on with a run that paused with its actor: no new attempt.
void resume_kept_actor(scheduler_ptr self, job_entry& e) {
  auto& r = e.record.edit();
  const auto replaces = r.status;
  if (!moved(self, e.id, lifecycle::resume_run(r))
      || !moved(self, e.id, self->state.jobs.move(e, job_event_kind::start)))
    return;
  self->state.limits->take(e, now(self));
  // Normal priority on purpose: CAF re-examines skipped messages of a mailbox
  // queue only when it consumes a message of that same queue, and the skipped
  // steps sit in the normal queue.
  tell(e.actor, proto::resume_atom::value, e.id);
  // Nobody waits for a running record: it can join a later commit.
  persist(self, e.record.share(), replaces, publish_running(self, e.id, e.run),
          proto::write_urgency::can_wait);
}

/// Starts one queued job: a new actor from its checkpoint, or the actor it kept
/// while paused.
void start(scheduler_ptr self, job_entry& e) {
  auto& st = self->state;
  if (e.actor) {
    resume_kept_actor(self, e);
    return;
  }
  // A job that never started has no checkpoint to read. (A record held here is
  // usually such a job's; a paused job whose kept actor was lost holds one too.)
  const bool fresh = e.record && e.record->started_at == 0;
  auto loaded = take_record(self, e);
  if (!loaded) {
    const auto& why = loaded.error();
    log_line("job " + std::to_string(e.id) + " cannot start: " + why.message);
    if (why.code == errc::corrupt_record) {
      storage::write_batch batch;
      batch.quarantine(e.id, why.message);
      persist_batch(self, std::move(batch), nullptr);
      ++st.counters.quarantined;
    }
    forget_job(self, e.id);
    return;
  }
  auto rec = std::move(*loaded);
  auto cp = fresh ? result<std::optional<checkpoint>>{std::nullopt}
                  : st.env->store->get_checkpoint(e.id);
  // Its last checkpoint was saved as it began to wait for its children, and a
  // crash (or a resume) came before it was `waiting`: it waits now instead.
  if (cp && *cp && (*cp)->awaiting_children
      && wait_for_children_first(self, e, (*cp)->children))
    return;
  std::vector<job_signal> signals;
  if (e.may_have_signals) {
    if (auto stored = st.env->store->signals_of(e.id))
      signals = std::move(*stored);
    else
      log_line("job " + std::to_string(e.id) + ": its signals cannot be read now: "
               + stored.error().message);
  }
  auto& r = rec.edit();
  const auto replaces = r.status;
  if (!moved(self, e.id, lifecycle::start(r, now(self)))
      || !moved(self, e.id, st.jobs.move(e, job_event_kind::start))) {
    e.record = std::move(rec);
    return;
  }
  ++e.run;
  // The store's status index then lists the job as running, and after a crash
  // `attempts` counts the run it cut short.
  persist(self, rec.share(), replaces, publish_running(self, e.id, e.run),
          proto::write_urgency::can_wait);
  proto::job_start js;
  js.id = e.id;
  js.record = rec.share();
  js.attempt = rec->attempts;
  js.signals = std::move(signals);
  if (cp && *cp)
    js.restored = std::move(**cp);
  e.record = std::move(rec);
  st.limits->take(e, now(self));
  if (!cp) {
    // The checkpoint is unreadable: running from scratch could repeat side
    // effects, so the job fails with the reason instead.
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::failed;
    o.error = cp.error().message;
    apply_outcome(self, e, o);
    return;
  }
  const bool blocking = st.limits->type(e.type).options.blocking;
  if (start_on_node(self, e, js)) {
    // runs on a worker node
  } else if (auto idle = st.actors.take_idle(blocking, e.id)) {
    e.actor = std::move(idle);
    tell(e.actor, proto::run_atom::value, std::move(js));
  } else {
    e.actor = spawn_job_actor(self, st.env, std::move(js), blocking);
    st.actors.assign(e.actor, e.id);
  }
  if (e.record->timeout_ms > 0)
    send_at(self, saturating_add(now(self), e.record->timeout_ms), proto::timeout_atom::value,
            e.id, e.run);
}

} // namespace

void on_timeout(scheduler_ptr self, job_id id, std::uint64_t run) {
  auto* e = self->state.jobs.find(id);
  if (e == nullptr || e->run != run || e->status != job_status::running || !e->actor
      || !e->record)
    return; // finished, paused or started again since
  // A run past its deadline is stopped (its actor killed) and counts as a
  // transient error, so it is retried while it has attempts left.
  self->send_exit(e->actor, caf::exit_reason::kill);
  forget_actor(self, *e);
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.transient = true;
  o.error = "timed out after " + std::to_string(e->record->timeout_ms) + " ms";
  o.last_progress = e->record->progress;
  apply_outcome(self, *e, o);
}

void try_start(scheduler_ptr self) {
  auto& st = self->state;
  while (!st.stopping && st.limits->has_free_slot() && st.jobs.queued() > 0) {
    millis free_at = 0;
    // Only a coordinator that runs no job itself can have a job with nowhere to run.
    const auto& workers = st.env->opts.workers;
    auto id = workers.port && !workers.run_locally
                ? st.limits->pick_next(st.jobs, now(self), free_at,
                                       [self](const job_entry& e) { return has_place(self, e); })
                : st.limits->pick_next(st.jobs, now(self), free_at);
    if (id == 0) {
      arm_recheck(self, free_at);
      return;
    }
    auto& e = *st.jobs.find(id);
    st.jobs.dequeue(e);
    start(self, e);
  }
}

void on_paused(scheduler_ptr self, job_id id) {
  auto* e = self->state.jobs.find(id);
  if (e == nullptr || e->status != job_status::running)
    return;
  auto& rec = e->record.edit(); // a running job holds its record
  const auto replaces = rec.status;
  if (!moved(self, id, lifecycle::pause(rec))
      || !moved(self, id, self->state.jobs.move(*e, job_event_kind::pause)))
    return;
  self->state.limits->release(*e);
  persist(self, e->record.share(), replaces, [=](result<void> r) {
    auto* job = self->state.jobs.find(id);
    if (job == nullptr)
      return;
    if (r)
      publish_status(self, *job, job_status::paused);
    answer_all(job->pause_waiters, r);
  });
  try_start(self);
}

void on_progress(scheduler_ptr self, job_id id, progress& p, millis checkpoint_at) {
  auto* e = self->state.jobs.find(id);
  if (e == nullptr || !e->record)
    return;
  auto& r = e->record.edit();
  r.progress = std::move(p);
  if (checkpoint_at != 0)
    r.checkpoint_at = checkpoint_at;
  if (!anyone_listens(self))
    return;
  job_event ev;
  ev.what = job_event::kind::progress;
  ev.id = id;
  ev.type = self->state.limits->type(e->type).name;
  ev.owner = e->owner;
  ev.status = e->status;
  ev.progress = e->record->progress;
  ev.at = now(self);
  publish(self, std::move(ev));
}

void on_wake(scheduler_ptr self, job_id id, std::uint64_t generation) {
  auto* e = self->state.jobs.find(id);
  if (e == nullptr || e->status != job_status::waiting || e->timer_generation != generation)
    return; // stale: cancelled, paused or re-armed since
  move_idle_job(self, *e, job_event_kind::wake, lifecycle::wake,
                [self](result<void>) { try_start(self); });
}

} // namespace jobrt::scheduling
