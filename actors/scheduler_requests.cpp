/// What the facade asks of the scheduler: submits, control of one job, reads,
/// waits and signals. Each answers through the request's `reply`, once what it
/// changed is durable.

#include <algorithm>

#include "actors/scheduler_state.hpp"

namespace jobrt::scheduling {

namespace {

error shutting_down() {
  return error{errc::shutting_down, "the runtime is shutting down"};
}

using owner_key = std::pair<std::string, std::string>;

/// Answers a submit whose idempotency key is already taken by the same owner
/// with the job that holds it. Returns false if the key is free.
bool answer_existing_key(scheduler_ptr self, const owner_key& key,
                         const proto::reply<submitted>& rp) {
  auto& st = self->state;
  if (auto p = st.pending_keys.find(key); p != st.pending_keys.end()) {
    st.key_waiters[p->second].push_back(rp); // answered when the first submit is durable
    return true;
  }
  auto found = st.env->store->find_unique_key(key.first, key.second);
  if (!found) {
    answer<submitted>(rp, found.error());
    return true;
  }
  if (!*found)
    return false; // free
  auto holder = st.env->store->get(**found);
  if (!holder)
    return false; // held by a job that no longer exists
  answer<submitted>(rp, submitted{holder->id, holder->status, false});
  return true;
}

} // namespace

std::shared_ptr<const job_record> new_record(scheduler_ptr self, std::uint16_t type_index,
                                             const std::string& type, boost::json::value params,
                                             const submit_options& opts) {
  auto& st = self->state;
  const auto& defaults = st.limits->type(type_index).options;
  auto made = std::make_shared<job_record>();
  auto& rec = *made;
  rec.id = st.env->next_id();
  rec.type = type;
  rec.params = std::move(params);
  rec.owner = opts.owner;
  rec.priority = opts.priority;
  rec.created_at = now(self);
  rec.max_attempts = std::max<std::uint32_t>(
    1, opts.max_attempts != 0 ? opts.max_attempts : defaults.max_attempts);
  rec.timeout_ms = opts.timeout_ms != 0 ? opts.timeout_ms : defaults.timeout_ms;
  rec.idempotency_key = opts.idempotency_key;
  rec.after = opts.after;
  rec.on_dependency_failure = opts.on_dependency_failure;
  // It waits for the jobs even if all have finished: once it is durable,
  // `admit` lets it go on as its policy says.
  if (!rec.after.empty())
    moved(self, rec.id,
          lifecycle::wait(rec, lifecycle::no_wake, lifecycle::wait_reason::dependencies));
  else if (opts.run_at > rec.created_at)
    moved(self, rec.id, lifecycle::wait(rec, opts.run_at, lifecycle::wait_reason::scheduled));
  return made;
}

namespace {

/// At most this many queued jobs keep their submitted record in memory (see
/// `job_entry::record`); the others are read from the store when they start.
/// The bound keeps memory per queued job small when millions are queued.
constexpr std::size_t max_held_records = 256;

} // namespace

void admit(scheduler_ptr self, std::uint16_t type_index, const submit_options& opts,
           const std::shared_ptr<const job_record>& rec) {
  auto& st = self->state;
  job_entry e;
  e.id = rec->id;
  e.type = type_index;
  e.owner = opts.owner;
  e.priority = opts.priority;
  e.status = rec->status;
  e.limit_keys = st.limits->keys_for(type_index, e.owner, rec->params);
  if (rec->status == job_status::queued && st.jobs.queued() < max_held_records)
    e.record = shared_record::held_elsewhere(rec);
  auto& stored = st.jobs.add(std::move(e));
  if (stored.status == job_status::waiting)
    arm_timer(self, stored, rec->wake_at);
  else
    st.jobs.enqueue(stored);
  ++st.counters.submitted;
  publish_status(self, stored, stored.status);
  if (!rec->after.empty())
    release_if_free(self, rec->id);
}

void on_submit(scheduler_ptr self, proto::submit_request& req, proto::reply<submitted> rp) {
  auto& st = self->state;
  if (st.stopping) {
    answer<submitted>(rp, shutting_down());
    return;
  }
  const bool keyed = !req.options.idempotency_key.empty();
  const auto key = owner_key{req.options.owner, req.options.idempotency_key};
  if (keyed && answer_existing_key(self, key, rp))
    return;
  auto deps = dependencies_of(self, req.options.after, true);
  if (!deps) {
    answer<submitted>(rp, deps.error());
    return;
  }
  auto type_index = st.limits->intern(req.type);
  auto rec = new_record(self, type_index, req.type, std::move(req.params), req.options);
  deps->ended.children = false;
  st.flows.wait(rec->id, deps->ended, deps->unfinished);
  storage::write_batch batch;
  batch.put_record(rec);
  if (keyed) {
    batch.put_unique_key(key.first, key.second, rec->id);
    st.pending_keys.emplace(key, rec->id);
  }
  auto opts = std::move(req.options);
  persist_batch(self, std::move(batch), [=](result<void> r) {
    auto& st = self->state;
    std::vector<proto::reply<submitted>> later_submits;
    if (keyed) {
      st.pending_keys.erase(key);
      if (auto w = st.key_waiters.find(rec->id); w != st.key_waiters.end()) {
        later_submits = std::move(w->second);
        st.key_waiters.erase(w);
      }
    }
    if (r)
      admit(self, type_index, opts, rec);
    else
      st.flows.forget(rec->id);
    auto answer_with = [&](const proto::reply<submitted>& w, bool created) {
      answer<submitted>(w, r ? result<submitted>{submitted{rec->id, rec->status, created}}
                             : result<submitted>{r.error()});
    };
    answer_with(rp, true);
    for (auto& w : later_submits)
      answer_with(w, false);
    if (r)
      try_start(self);
  });
}

void on_submit_many(scheduler_ptr self, proto::bulk_submit_request& req,
                    proto::reply<std::vector<job_id>> rp) {
  auto& st = self->state;
  if (st.stopping) {
    answer<std::vector<job_id>>(rp, shutting_down());
    return;
  }
  auto deps = dependencies_of(self, req.options.after, true);
  if (!deps) {
    answer<std::vector<job_id>>(rp, deps.error());
    return;
  }
  auto type_index = st.limits->intern(req.type);
  storage::write_batch batch;
  std::vector<std::shared_ptr<const job_record>> records;
  records.reserve(req.params.size());
  for (auto& p : req.params) {
    records.push_back(new_record(self, type_index, req.type, std::move(p), req.options));
    batch.put_record(records.back());
    st.flows.wait(records.back()->id, deps->ended, deps->unfinished);
  }
  auto opts = std::move(req.options);
  persist_batch(self, std::move(batch), [=](result<void> r) {
    if (!r) {
      for (const auto& rec : records)
        self->state.flows.forget(rec->id);
      answer<std::vector<job_id>>(rp, r.error());
      return;
    }
    std::vector<job_id> ids;
    ids.reserve(records.size());
    for (const auto& rec : records) {
      admit(self, type_index, opts, rec);
      ids.push_back(rec->id);
    }
    answer<std::vector<job_id>>(rp, std::move(ids));
    try_start(self);
  });
}

namespace {

void pause_one(scheduler_ptr self, job_id id, proto::reply<void> rp) {
  auto* e = job_that_may_move(self, id, job_status::paused, rp);
  if (e == nullptr)
    return;
  if (e->status == job_status::running) {
    // The actor pauses between two steps and answers with paused_atom. Normal
    // priority, like resume: a high-priority pause could overtake the resume
    // that restarted a kept actor, which would then answer "paused" and run on.
    // Behind it in the mailbox is at most the one step the actor queued itself.
    e->pause_waiters.push_back(rp);
    if (e->pause_waiters.size() == 1)
      tell(e->actor, proto::pause_atom::value, e->id);
    return;
  }
  move_idle_job(self, *e, job_event_kind::pause, lifecycle::pause,
                [=](result<void> r) { answer<void>(rp, r); });
}

void resume_one(scheduler_ptr self, job_id id, proto::reply<void> rp) {
  auto* e = self->state.jobs.find(id);
  if (e == nullptr) {
    answer<void>(rp, refuse_finished(self, id, job_status::queued));
    return;
  }
  if (e->status != job_status::paused) {
    answer<void>(rp, error{errc::illegal_transition, std::string{"cannot resume a "}
                                                       + to_string(e->status)
                                                       + " job (only paused jobs resume)"});
    return;
  }
  // What it waited for before the pause (jobs, for one): it may wait again.
  job_record before;
  before.id = id;
  if (e->record) {
    before.waiting_for = e->record->waiting_for;
    before.after = e->record->after;
  } else if (auto stored = self->state.env->store->get(id)) {
    before.waiting_for = std::move(stored->waiting_for);
    before.after = std::move(stored->after);
  }
  move_idle_job(self, *e, job_event_kind::resume, lifecycle::resume, [=](result<void> r) {
    answer<void>(rp, r);
    try_start(self);
  });
  if (auto* resumed = self->state.jobs.find(id); resumed && resumed->status == job_status::queued)
    rewait_after_resume(self, *resumed, before);
}

void cancel_one(scheduler_ptr self, job_id id, proto::reply<void> rp) {
  auto& jobs = self->state.jobs;
  auto* e = job_that_may_move(self, id, job_status::cancelled, rp);
  if (e == nullptr)
    return;
  if (e->actor) {
    // Running, or paused with its actor: it stops at its next step boundary.
    if (e->status == job_status::queued) {
      // Resumed but not started yet: held back again, until its actor ends it.
      jobs.dequeue(*e);
      moved(self, id, jobs.move(*e, job_event_kind::pause));
    }
    e->cancel_waiters.push_back(rp);
    if (e->cancel_waiters.size() == 1)
      tell(e->actor, proto::cancel_atom::value, e->id); // normal priority: see on_pause
    return;
  }
  auto t = now(self);
  move_idle_job(self, *e, job_event_kind::cancel,
                [t](job_record& r) { return lifecycle::cancel(r, t); },
                [=](result<void> r) {
                  if (auto* job = self->state.jobs.find(id)) {
                    answer_finish_waiters(self, *job, r);
                    forget_job(self, id);
                  }
                  answer<void>(rp, r);
                });
}

/// Does `one` to job `id`, then (if the job was unfinished) to each of its
/// unfinished descendants, nobody waiting for their answers: a flow is
/// steered as a whole. Moves of idle descendants join the commit of the
/// job's own move, which `rp` is answered after.
void with_descendants(scheduler_ptr self, job_id id, proto::reply<void> rp,
                      void (*one)(scheduler_ptr, job_id, proto::reply<void>)) {
  const bool unfinished = self->state.jobs.find(id) != nullptr;
  one(self, id, std::move(rp));
  if (unfinished)
    reach_descendants(self, id, [&](job_id child) { one(self, child, nullptr); });
}

} // namespace

void on_pause(scheduler_ptr self, job_id id, proto::reply<void> rp) {
  with_descendants(self, id, std::move(rp), pause_one);
}

void on_resume(scheduler_ptr self, job_id id, proto::reply<void> rp) {
  with_descendants(self, id, std::move(rp), resume_one);
}

void on_cancel(scheduler_ptr self, job_id id, proto::reply<void> rp) {
  with_descendants(self, id, std::move(rp), cancel_one);
}

void on_retry(scheduler_ptr self, job_id id, proto::reply<void> rp) {
  auto& st = self->state;
  auto only_failed = [&](job_status s) {
    answer<void>(rp, error{errc::illegal_transition, std::string{"cannot retry a "}
                                                       + to_string(s)
                                                       + " job (only failed jobs retry)"});
  };
  if (auto* e = st.jobs.find(id)) {
    only_failed(e->status);
    return;
  }
  auto rec = st.env->store->get(id);
  if (!rec) {
    answer<void>(rp, read_failure(id, rec.error()));
    return;
  }
  if (rec->status != job_status::failed) {
    only_failed(rec->status);
    return;
  }
  if (auto ok = lifecycle::retry(*rec); !ok) {
    answer<void>(rp, ok);
    return;
  }
  job_entry e;
  e.id = id;
  e.type = st.limits->intern(rec->type);
  e.owner = rec->owner;
  e.priority = rec->priority;
  e.status = job_status::queued;
  e.may_have_signals = true; // sent before it failed, and never taken
  e.limit_keys = st.limits->keys_for(e.type, e.owner, rec->params);
  st.jobs.add(std::move(e));
  persist(self, std::make_shared<const job_record>(std::move(*rec)), job_status::failed,
          [=](result<void> r) {
            auto* job = self->state.jobs.find(id);
            if (job != nullptr && !r)
              forget_job(self, id);
            if (job != nullptr && r) {
              publish_status(self, *job, job_status::queued);
              if (job->status == job_status::queued)
                self->state.jobs.enqueue(*job);
            }
            answer<void>(rp, r);
            if (job != nullptr && r)
              try_start(self);
          });
}

void add_live_progress(scheduler_ptr self, list_page& page) {
  for (auto& rec : page.jobs) {
    add_children_progress(self, rec);
    auto* e = self->state.jobs.find(rec.id);
    if (e == nullptr || !e->record || is_finished(rec.status))
      continue;
    if (e->node != 0)
      if (const auto* n = self->state.nodes.find(e->node))
        rec.node = n->info.name;
    // The status stays the stored one: what a caller reads, a crash cannot take
    // back. The store may already hold a checkpoint the job actor has not
    // reported yet; its progress is then the newer one.
    if (e->record->checkpoint_at >= rec.checkpoint_at)
      rec.progress = e->record->progress;
    rec.checkpoint_at = std::max(rec.checkpoint_at, e->record->checkpoint_at);
  }
}

void on_get(scheduler_ptr self, job_id id, proto::reply<job_record> rp) {
  auto rec = self->state.env->store->get(id);
  if (!rec) {
    answer<job_record>(rp, read_failure(id, rec.error()));
    return;
  }
  list_page one;
  one.jobs.push_back(std::move(*rec));
  add_live_progress(self, one);
  answer<job_record>(rp, std::move(one.jobs.front()));
}

/// Answers with the job's final record once it is durable: at once for a job
/// that has finished.
void on_wait(scheduler_ptr self, job_id id, proto::reply<job_record> rp) {
  if (auto* e = self->state.jobs.find(id)) {
    e->finish_waiters.push_back(std::move(rp));
    return;
  }
  auto rec = self->state.env->store->get(id);
  answer<job_record>(rp, rec ? result<job_record>{std::move(*rec)}
                             : result<job_record>{read_failure(id, rec.error())});
}

/// A caller of `runtime::wait` gave up: its promise is dropped.
void on_unwait(scheduler_ptr self, job_id id, const proto::reply<job_record>& rp) {
  if (auto* e = self->state.jobs.find(id)) {
    auto& w = e->finish_waiters;
    w.erase(std::remove(w.begin(), w.end(), rp), w.end());
  }
}

namespace {

/// The seq the next signal of `e` gets: one past the highest it ever had,
/// stored (pending) or taken (in its checkpoint).
result<std::uint64_t> next_signal_seq(scheduler_ptr self, job_entry& e) {
  if (e.last_signal == 0) {
    auto& store = *self->state.env->store;
    auto pending = store.signals_of(e.id);
    if (!pending)
      return pending.error();
    auto cp = store.get_checkpoint(e.id);
    if (!cp)
      return cp.error();
    std::uint64_t last = cp->has_value() ? (*cp)->signals_taken : 0;
    if (!pending->empty())
      last = std::max(last, pending->back().seq);
    e.last_signal = last;
  }
  return ++e.last_signal;
}

/// Hands a durable signal to its job: to its actor if it has one (a paused
/// actor takes it on resume), by waking it if it waits for a signal, else when
/// it starts next.
void deliver_signal(scheduler_ptr self, job_entry& job, const job_signal& sig) {
  if (job.actor) {
    tell(job.actor, proto::signal_atom::value, job.id, sig);
    return;
  }
  if (job.status != job_status::waiting)
    return; // queued or paused: it reads its signals when it starts
  // A job that went waiting in this process says so itself (its record may
  // still be on its way to the store); one recovered waiting, its record.
  if (!job.waits_for_signal) {
    auto rec = self->state.env->store->get(job.id);
    if (!rec || !lifecycle::waits_for(*rec, lifecycle::wait_reason::signal))
      return;
  }
  move_idle_job(self, job, job_event_kind::wake, lifecycle::wake,
                [self](result<void>) { try_start(self); });
}

} // namespace

void on_signal(scheduler_ptr self, job_id id, job_signal& sig, proto::reply<void> rp) {
  auto* e = self->state.jobs.find(id);
  if (e == nullptr) {
    auto rec = self->state.env->store->get(id);
    if (!rec)
      answer<void>(rp, read_failure(id, rec.error()));
    else
      answer<void>(rp, error{errc::illegal_transition, std::string{"cannot signal a "}
                                                         + to_string(rec->status) + " job"});
    return;
  }
  auto seq = next_signal_seq(self, *e);
  if (!seq) {
    answer<void>(rp, seq.error());
    return;
  }
  sig.seq = *seq;
  sig.at = now(self);
  e->may_have_signals = true;
  auto shared = std::make_shared<const job_signal>(std::move(sig));
  storage::write_batch batch;
  batch.put_signal(id, shared);
  persist_batch(self, std::move(batch), [=](result<void> r) {
    answer<void>(rp, r);
    if (auto* job = self->state.jobs.find(id); r && job != nullptr)
      deliver_signal(self, *job, *shared);
  });
}

/// The actor of a job that has one now: running, or paused with its actor.
void on_actor_of(scheduler_ptr self, job_id id, proto::reply<caf::actor> rp) {
  auto* e = self->state.jobs.find(id);
  if (e != nullptr && e->actor && e->node != 0) {
    const auto* n = self->state.nodes.find(e->node);
    answer<caf::actor>(rp, error{errc::illegal_transition,
                                 "job " + std::to_string(id) + " runs on worker node '"
                                   + (n != nullptr ? n->info.name : std::string{"?"})
                                   + "': its actor is in that process (send it a signal)"});
    return;
  }
  if (e != nullptr && e->actor) {
    answer<caf::actor>(rp, e->actor);
    return;
  }
  job_status status;
  if (e != nullptr) {
    status = e->status;
  } else {
    auto rec = self->state.env->store->get(id);
    if (!rec) {
      answer<caf::actor>(rp, read_failure(id, rec.error()));
      return;
    }
    status = rec->status;
  }
  answer<caf::actor>(rp, error{errc::illegal_transition,
                               "job " + std::to_string(id) + " is " + to_string(status)
                                 + ": it has no actor now (only a running job has one)"});
}

} // namespace jobrt::scheduling
