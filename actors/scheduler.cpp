#include "actors/scheduler.hpp"

#include <utility>

#include "actors/job_actor.hpp"
#include "actors/recovery_plan.hpp"
#include "actors/scheduler_state.hpp"

namespace jobrt {

namespace scheduling {

millis now(scheduler_ptr self) {
  return self->state.env->clock->now();
}

bool moved(scheduler_ptr self, job_id id, const result<void>& r) {
  if (!r) {
    log_line("job " + std::to_string(id) + ": " + r.error().message);
    ++self->state.counters.refused_transitions;
  }
  return r.ok();
}

error no_such_job(job_id id) {
  return error{errc::not_found, "no job with id " + std::to_string(id)};
}

error read_failure(job_id id, const error& e) {
  return e.code == errc::not_found ? no_such_job(id) : e;
}

result<void> refuse_finished(scheduler_ptr self, job_id id, job_status to) {
  auto rec = self->state.env->store->get(id);
  if (!rec)
    return read_failure(id, rec.error());
  return check_transition(rec->status, to);
}

job_entry* job_that_may_move(scheduler_ptr self, job_id id, job_status to,
                             const proto::reply<void>& rp) {
  auto* e = self->state.jobs.find(id);
  if (e == nullptr) {
    answer<void>(rp, refuse_finished(self, id, to));
    return nullptr;
  }
  if (auto ok = check_transition(e->status, to); !ok) {
    answer<void>(rp, ok);
    return nullptr;
  }
  return e;
}

// -- events ------------------------------------------------------------------------------

bool anyone_listens(scheduler_ptr self) {
  return self->state.env->subscribers->load() > 0;
}

void publish(scheduler_ptr self, job_event ev) {
  self->send(self->state.env->events, proto::publish_atom::value, std::move(ev));
}

void publish_status(scheduler_ptr self, const job_entry& e, job_status written,
                    const std::string& error, const progress* last) {
  if (!anyone_listens(self))
    return;
  job_event ev;
  ev.what = job_event::kind::status;
  ev.id = e.id;
  ev.type = self->state.limits->type(e.type).name;
  ev.owner = e.owner;
  ev.status = written;
  if (last)
    ev.progress = *last; // the written record's: a queued or waiting job keeps its progress
  else if (e.record)
    ev.progress = e.record->progress;
  ev.error = error;
  ev.at = now(self);
  publish(self, std::move(ev));
}

// -- writes ------------------------------------------------------------------------------

namespace {

void flush_outbox(scheduler_ptr self);
void send_writes(scheduler_ptr self);

/// Once the commit that holds them returned: each write's callback runs with its
/// outcome, and the writes the callbacks made are sent in turn.
void writes_done(scheduler_ptr self, std::vector<write_callback> callbacks,
                 std::vector<result<void>> results) {
  write_outbox::settle(std::move(callbacks), std::move(results));
  send_writes(self);
}

/// Once a message is handled: the writes it made leave now if the write path
/// says so, else once the messages waiting are handled too (a flush message
/// behind them), so that their writes travel together.
void send_writes(scheduler_ptr self) {
  auto& st = self->state;
  if (st.outbox.empty())
    return;
  if (st.writes->send_now(self)) {
    flush_outbox(self);
  } else if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, proto::flush_atom::value);
  }
}

/// Sends what the outbox gathered down the write path, together.
void flush_outbox(scheduler_ptr self) {
  auto& st = self->state;
  if (!st.outbox.empty())
    st.writes->send(self, st.outbox.take());
}

/// The persistence actor commits, on its own thread; its answer is a response.
class through_persistence final : public write_path {
public:
  /// Writes wait for the messages in the mailbox, whose writes join them in one
  /// message (and one transaction): a commit costs an fsync, a message little.
  bool send_now(scheduler_ptr self) override { return self->mailbox().empty(); }

  void send(scheduler_ptr self, write_outbox::departure writes) override {
    auto n = writes.ends.size();
    // Shared by both handlers, and let go of once one of them ran: what the
    // callbacks capture (records, among others) lives no longer than that.
    auto callbacks = std::make_shared<std::vector<write_callback>>(std::move(writes.callbacks));
    auto finish = [self, callbacks](std::vector<result<void>> results) {
      writes_done(self, std::exchange(*callbacks, {}), std::move(results));
    };
    self->request(self->state.env->persistence, caf::infinite, proto::write_atom::value,
                  std::move(writes.batch), std::move(writes.ends), writes.awaited)
      .then(
        [=](const std::vector<proto::write_ack>& acks) {
          std::vector<result<void>> results;
          results.reserve(n);
          for (const auto& a : acks)
            results.push_back(a.failure ? result<void>{*a.failure} : result<void>{});
          finish(std::move(results));
        },
        [=](caf::error& err) {
          error e{errc::storage_error, self->system().render(err)};
          finish(std::vector<result<void>>(n, result<void>{e}));
        });
  }
};

/// The scheduler commits on its own thread, as the handler that made the writes
/// ends; the callbacks run then.
class in_place final : public write_path {
public:
  /// A commit costs less than a flush message: each handler commits its own.
  bool send_now(scheduler_ptr) override { return true; }

  void send(scheduler_ptr self, write_outbox::departure writes) override {
    auto results = storage::commit_segments(*self->state.env->store, writes.batch, writes.ends);
    writes_done(self, std::move(writes.callbacks), std::move(results));
  }
};

/// Runs the handler body `fn`, then sends the writes it made (see `send_writes`).
template <class F>
void handle(scheduler_ptr self, F fn) {
  fn();
  send_writes(self);
}

} // namespace

void persist_batch(scheduler_ptr self, storage::write_batch batch, write_callback then) {
  self->state.outbox.add(std::move(batch), std::move(then));
}

void persist(scheduler_ptr self, std::shared_ptr<const job_record> rec, job_status replaces,
             write_callback then, proto::write_urgency u) {
  self->state.outbox.add_record(std::move(rec), replaces, std::move(then), u);
}

// -- timers --------------------------------------------------------------------------------

void arm_timer(scheduler_ptr self, job_entry& e, millis at) {
  if (at == lifecycle::no_wake) { // waits for jobs, not for a time
    ++e.timer_generation;
    return;
  }
  send_at(self, at, proto::wake_atom::value, e.id, ++e.timer_generation);
}

void arm_recheck(scheduler_ptr self, millis at) {
  auto& st = self->state;
  if (at == 0 || (st.recheck_at != 0 && st.recheck_at <= at))
    return;
  st.recheck_at = at;
  send_at(self, at, proto::recheck_atom::value);
}

// -- job actors ---------------------------------------------------------------------------

namespace {

/// One monitored actor fewer to wait for. During shutdown, the last one gone
/// lets the stop finish.
void actor_gone(scheduler_ptr self) {
  auto& st = self->state;
  if (st.stopping && st.actors_to_stop > 0 && --st.actors_to_stop == 0)
    self->send(self, proto::stop_atom::value, proto::reply<void>{});
}

void stop_actor(const caf::actor& a) {
  caf::anon_send<caf::message_priority::high>(a, proto::stop_atom::value);
}

} // namespace

void forget_actor(scheduler_ptr self, job_entry& e) {
  if (!e.actor)
    return;
  self->state.actors.forget(e.actor.address());
  self->demonitor(e.actor);
  leave_node(self, e);
  e.actor = nullptr;
  actor_gone(self);
}

void return_actor(scheduler_ptr self, job_entry& e) {
  auto& st = self->state;
  if (e.node != 0 && !st.stopping && st.nodes.keep_idle(e.node, e.actor)) {
    st.actors.mark_idle(e.actor.address()); // a worker node's stand-in, for its next run
    leave_node(self, e);
    e.actor = nullptr;
    return;
  }
  auto blocking = st.limits->type(e.type).options.blocking;
  if (st.stopping || e.node != 0
      || !st.actors.keep_idle(e.actor, blocking, st.env->opts.max_running)) {
    stop_actor(e.actor);
    forget_actor(self, e);
  }
}

namespace {

void on_down(scheduler_ptr self, caf::down_msg& dm) {
  auto& st = self->state;
  auto job = st.actors.job_of(dm.source);
  if (!job)
    return;
  auto* e = *job != 0 ? st.jobs.find(*job) : nullptr;
  if (e == nullptr) { // an idle actor, or one whose job is gone
    st.actors.forget(dm.source);
    if (*job == 0)
      actor_gone(self);
    return;
  }
  forget_actor(self, *e);
  if (st.stopping) {
    st.limits->release(*e);
    return; // stopped on purpose: the job stays recoverable
  }
  // The actor died without reporting an outcome: supervision marks it failed.
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.error = "job actor died: " + self->system().render(dm.reason);
  o.transient = true;
  if (e->record)
    o.last_progress = e->record->progress;
  apply_outcome(self, *e, o);
}

/// Shutdown: running jobs stop at their next step, stay `running` in the store
/// and resume from their checkpoint on the next start. Answers once every job
/// actor is gone and every write before this point is durable.
void on_stop(scheduler_ptr self, proto::reply<void> rp) {
  auto& st = self->state;
  if (rp)
    st.stop_reply = rp;
  if (!st.stopping) {
    st.stopping = true;
    for (auto& [id, e] : st.jobs) {
      for (auto& w : e.finish_waiters)
        answer<job_record>(w, error{errc::shutting_down, "the runtime is shutting down"});
      e.finish_waiters.clear();
      if (e.actor) {
        ++st.actors_to_stop;
        stop_actor(e.actor);
      }
    }
    auto stop_idle = [&](const caf::actor& a) { // their down messages are counted
      ++st.actors_to_stop;
      stop_actor(a);
    };
    st.actors.for_each_idle(stop_idle);
    st.nodes.for_each_idle(stop_idle);
  }
  if (st.actors_to_stop > 0)
    return; // on_down sends stop again when the last one is gone
  auto reply = std::move(st.stop_reply);
  st.stop_reply = nullptr;
  if (!reply)
    return;
  // Writes commit in order: once this empty one is durable, so is every write before it.
  persist_batch(self, storage::write_batch{}, [=](result<void>) { answer<void>(reply, {}); });
}

runtime_stats stats_of(scheduler_ptr self) {
  auto& st = self->state;
  auto s = st.counters;
  s.jobs_by_status.clear();
  for (auto status : all_statuses)
    if (auto n = st.jobs.count(status))
      s.jobs_by_status[status] = n;
  s.running = st.limits->running();
  s.checkpoint_latency = st.env->checkpoint_latency->snapshot();
  s.paused_types = st.limits->paused_types();
  s.queued = st.jobs.queued();
  s.commits = st.env->store->commits();
  s.schedules = st.schedules.size();
  s.nodes = st.nodes.stats();
  s.node_counters = st.env->node_traffic->snapshot();
  return s;
}

// -- recovery ------------------------------------------------------------------------------

/// Takes the store's unfinished jobs into the table, as recovery's plan says.
void recover(scheduler_ptr self) {
  auto& st = self->state;
  std::vector<job_id> waiting_for_jobs;
  auto take = [&](const storage::job_summary& s) {
    job_entry e;
    e.id = s.id;
    e.type = st.limits->intern(s.type);
    e.owner = s.owner;
    e.priority = s.priority;
    e.status = s.status; // as stored: a run that was cut short is requeued below
    e.may_have_signals = true; // sent before the restart; read when it starts
    boost::json::value params; // read only if a limit is keyed by one
    if (st.limits->type(e.type).keys_from_params)
      if (auto rec = st.env->store->get(s.id))
        params = std::move(rec->params);
    e.limit_keys = st.limits->keys_for(e.type, e.owner, params);
    auto& entry = st.jobs.add(std::move(e));
    ++st.counters.recovered;
    if (entry.status == job_status::running
        && !moved(self, entry.id, st.jobs.move(entry, job_event_kind::requeue)))
      return;
    if (entry.status == job_status::queued)
      st.jobs.enqueue(entry);
    else if (entry.status == job_status::waiting && s.wake_at == lifecycle::no_wake)
      waiting_for_jobs.push_back(entry.id); // or for a signal without a timeout
    else if (entry.status == job_status::waiting)
      arm_timer(self, entry, s.wake_at); // fires at once if its time has passed
    // paused stays paused
  };
  auto plan = plan_recovery(*st.env->store, take);
  for (const auto& line : plan.problems)
    log_line(line);
  st.env->last_id->store(plan.last_id);
  st.counters.quarantined += plan.quarantined;
  if (!plan.fixes.empty())
    persist_batch(self, std::move(plan.fixes), nullptr);
  for (auto id : plan.wake_now)
    if (auto* e = st.jobs.find(id))
      arm_timer(self, *e, now(self));
  for (const auto& name : plan.paused_types)
    st.limits->type(st.limits->intern(name)).paused = true;
  recover_flows(self, waiting_for_jobs);
}

proto::scheduler_actor::behavior_type
scheduler(proto::scheduler_actor::stateful_pointer<scheduler_state> self, env_ptr env) {
  self->state.env = std::move(env);
  if (self->state.env->commits == commit_site::in_place)
    self->state.writes = std::make_unique<in_place>();
  else
    self->state.writes = std::make_unique<through_persistence>();
  self->state.limits.emplace(*self->state.env->types, self->state.env->opts);
  self->set_down_handler([=](caf::down_msg& dm) { handle(self, [&] { on_down(self, dm); }); });
  recover(self);
  recover_schedules(self);
  arm_sweep(self);
  try_start(self);
  if (!self->state.outbox.empty()) { // recovery's fixes, the first starts
    self->state.flush_queued = true;
    self->send(self, proto::flush_atom::value);
  }
  // A handler that may write runs inside `handle`, which sends the writes it
  // made. The messages of every job come first: CAF tries them in this order.
  return {
    [=](proto::done_atom, job_id id, proto::job_outcome& o, bool reusable) {
      handle(self, [&] { on_done(self, id, o, reusable); });
    },
    [=](proto::progress_atom, job_id id, progress& p, millis checkpoint_at) {
      on_progress(self, id, p, checkpoint_at); // writes nothing
    },
    [=](proto::flush_atom) {
      self->state.flush_queued = false;
      flush_outbox(self);
    },
    [=](proto::submit_atom, proto::submit_request& req, proto::reply<submitted>& rp) {
      handle(self, [&] { on_submit(self, req, std::move(rp)); });
    },
    [=](proto::submit_atom, proto::bulk_submit_request& req,
        proto::reply<std::vector<job_id>>& rp) {
      handle(self, [&] { on_submit_many(self, req, std::move(rp)); });
    },
    [=](proto::pause_atom, job_id id, proto::reply<void>& rp) {
      handle(self, [&] { on_pause(self, id, rp); });
    },
    [=](proto::resume_atom, job_id id, proto::reply<void>& rp) {
      handle(self, [&] { on_resume(self, id, rp); });
    },
    [=](proto::cancel_atom, job_id id, proto::reply<void>& rp) {
      handle(self, [&] { on_cancel(self, id, rp); });
    },
    [=](proto::retry_atom, job_id id, proto::reply<void>& rp) {
      handle(self, [&] { on_retry(self, id, rp); });
    },
    [=](proto::get_atom, job_id id, proto::reply<job_record>& rp) { on_get(self, id, rp); },
    [=](proto::wait_atom, job_id id, proto::reply<job_record>& rp) { on_wait(self, id, rp); },
    [=](proto::unwait_atom, job_id id, proto::reply<job_record>& rp) {
      on_unwait(self, id, rp);
    },
    [=](proto::actor_of_atom, job_id id, proto::reply<caf::actor>& rp) {
      on_actor_of(self, id, rp);
    },
    [=](proto::signal_atom, job_id id, job_signal& s, proto::reply<void>& rp) {
      handle(self, [&] { on_signal(self, id, s, rp); });
    },
    [=](proto::live_progress_atom, list_page& page, proto::reply<list_page>& rp) {
      add_live_progress(self, page);
      answer<list_page>(rp, std::move(page));
    },
    [=](proto::stats_atom, proto::reply<runtime_stats>& rp) {
      answer<runtime_stats>(rp, stats_of(self));
    },
    [=](proto::stop_atom, proto::reply<void>& rp) { handle(self, [&] { on_stop(self, rp); }); },
    [=](proto::remove_atom, job_id id, proto::reply<void>& rp) {
      handle(self, [&] { on_remove(self, id, rp); });
    },
    [=](proto::clear_atom, job_status s, proto::reply<std::size_t>& rp) {
      handle(self, [&] { on_clear(self, s, rp); });
    },
    [=](proto::force_fail_atom, job_id id, const std::string& reason, proto::reply<void>& rp) {
      handle(self, [&] { on_force_fail(self, id, reason, rp); });
    },
    [=](proto::pause_type_atom, const std::string& type, bool with_running,
        proto::reply<void>& rp) {
      handle(self, [&] { on_switch_type(self, type, with_running, rp, type_switch::pause); });
    },
    [=](proto::resume_type_atom, const std::string& type, bool with_running,
        proto::reply<void>& rp) {
      handle(self, [&] { on_switch_type(self, type, with_running, rp, type_switch::resume); });
    },
    [=](proto::paused_atom, job_id id) { handle(self, [&] { on_paused(self, id); }); },
    [=](proto::children_atom, job_id parent,
        std::vector<std::shared_ptr<const job_record>>& children) {
      handle(self, [&] { on_children(self, parent, children); });
    },
    [=](proto::wake_atom, job_id id, std::uint64_t generation) {
      handle(self, [&] { on_wake(self, id, generation); });
    },
    [=](proto::timeout_atom, job_id id, std::uint64_t run) {
      handle(self, [&] { on_timeout(self, id, run); });
    },
    [=](proto::sweep_atom) { handle(self, [&] { on_sweep(self); }); },
    [=](proto::schedule_atom, schedule_info& s, proto::reply<schedule_info>& rp) {
      handle(self, [&] { on_schedule(self, s, std::move(rp)); });
    },
    [=](proto::unschedule_atom, const std::string& name, proto::reply<void>& rp) {
      handle(self, [&] { on_unschedule(self, name, std::move(rp)); });
    },
    [=](proto::pause_schedule_atom, const std::string& name, bool pause,
        proto::reply<void>& rp) {
      handle(self, [&] { on_pause_schedule(self, name, pause, std::move(rp)); });
    },
    [=](proto::list_schedules_atom, proto::reply<std::vector<schedule_info>>& rp) {
      on_list_schedules(self, std::move(rp));
    },
    [=](proto::node_up_atom, proto::node_joined& j) {
      handle(self, [&] { on_node_up(self, j); });
    },
    [=](proto::node_down_atom, std::uint64_t id, const std::string& why) {
      handle(self, [&] { on_node_down(self, id, why); });
    },
    [=](proto::heartbeat_atom, std::uint64_t id, millis at) { on_node_heartbeat(self, id, at); },
    [=](proto::tick_atom, std::uint64_t generation) {
      handle(self, [&] { on_schedule_tick(self, generation); });
    },
    [=](proto::recheck_atom) {
      handle(self, [&] {
        self->state.recheck_at = 0;
        try_start(self);
      });
    },
  };
}

} // namespace

} // namespace scheduling

proto::scheduler_actor spawn_scheduler(caf::actor_system& sys, env_ptr env) {
  return sys.spawn(scheduling::scheduler, std::move(env));
}

} // namespace jobrt
