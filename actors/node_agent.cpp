#include "actors/node_agent.hpp"

#include <map>

#include "caf/all.hpp"

#include "actors/actor_pool.hpp"
#include "actors/job_actor.hpp"

namespace jobrt {

namespace {

/// One run this node holds.
struct run_slot {
  job_id job = 0;
  std::uint64_t run = 0;
  caf::actor proxy; ///< the run's stand-in on the coordinator
  caf::actor actor; ///< the job actor here
  bool blocking = false; ///< of a blocking type: an actor with a thread of its own
};

/// What becomes of a run's job actor when the agent lets go of the run.
enum class let_go : std::uint8_t {
  kill, ///< taken back: it stops at once, wherever it is
  stop, ///< its job ended: it quits
  keep, ///< its job ended and it can take another: kept idle for the next run
};

struct agent_state {
  env_ptr env;
  caf::actor gate;
  agent_config cfg;
  std::shared_ptr<agent_report> report;
  std::uint64_t node_id = 0;
  std::map<caf::actor_addr, run_slot> runs; ///< by job actor
  std::map<job_id, caf::actor_addr> by_job;
  /// Job actors kept for later runs, as the scheduler keeps them (spawning an
  /// actor per job is what a short job would otherwise cost most).
  actor_pool pool;
  /// The job actors alive, for the exit of the agent to stop (however it ends).
  std::shared_ptr<std::map<caf::actor_addr, caf::actor>> alive =
    std::make_shared<std::map<caf::actor_addr, caf::actor>>();

  static inline const char* name = "jobrt.node_agent";
};

using agent_actor = caf::stateful_actor<agent_state>;

/// Drops job actor `a` for good.
void drop_actor(agent_actor* self, const caf::actor_addr& a) {
  auto& st = self->state;
  st.pool.forget(a);
  st.alive->erase(a);
}

// `a` by value: callers pass keys of the maps this erases from.
void forget_run(agent_actor* self, caf::actor_addr a, let_go how) {
  auto& st = self->state;
  auto i = st.runs.find(a);
  if (i == st.runs.end())
    return;
  auto slot = std::move(i->second);
  st.runs.erase(i);
  if (auto j = st.by_job.find(slot.job); j != st.by_job.end() && j->second == a)
    st.by_job.erase(j);
  if (how == let_go::keep && st.pool.keep_idle(slot.actor, slot.blocking, st.cfg.offer.slots)) {
    // kept, still monitored: it waits for the next run
  } else if (slot.actor) {
    self->demonitor(slot.actor);
    drop_actor(self, a);
    if (how == let_go::kill)
      self->send_exit(slot.actor, caf::exit_reason::kill);
    else
      caf::anon_send<caf::message_priority::high>(slot.actor, proto::stop_atom::value);
  }
  st.report->update([&](worker_stats& s) { s.running = st.runs.size(); });
}

/// Stops every run (the coordinator hands them to others) and ends the agent.
void leave(agent_actor* self, const std::string& why) {
  auto& st = self->state;
  auto held = st.runs.size();
  if (held > 0 || st.node_id != 0)
    log_line("worker node '" + st.cfg.name + "': " + why + "; stopping " + std::to_string(held)
             + " run(s)");
  while (!st.runs.empty())
    forget_run(self, st.runs.begin()->first, let_go::kill);
  st.report->update([&](worker_stats& s) {
    s.connected = false;
    s.runs_stopped += held;
    s.last_error = why;
  });
  self->quit();
}

/// The run a message from the coordinator names, if it comes from its stand-in.
run_slot* run_named(agent_actor* self, job_id job, std::uint64_t run) {
  auto& st = self->state;
  auto j = st.by_job.find(job);
  if (j == st.by_job.end())
    return nullptr;
  auto& slot = st.runs[j->second];
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  return slot.run == run && sender == slot.proxy.address() ? &slot : nullptr;
}

/// The run of the job actor that sent the current message.
run_slot* run_of_sender(agent_actor* self) {
  auto& st = self->state;
  auto i = st.runs.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  return i == st.runs.end() ? nullptr : &i->second;
}

void arm_heartbeat(agent_actor* self) {
  auto& st = self->state;
  caf::actor_addr me = self->address();
  st.env->clock->call_at(saturating_add(st.env->clock->now(), st.cfg.heartbeat_interval.count()),
                         [me] {
                           if (auto a = caf::actor_cast<caf::actor>(me))
                             caf::anon_send(a, proto::heartbeat_atom::value);
                         });
}

void start_run(agent_actor* self, std::uint64_t run, const std::string& text) {
  auto& st = self->state;
  // Only a welcomed node is handed runs; the welcome may still be on its way.
  auto proxy = caf::actor_cast<caf::actor>(self->current_sender());
  if (!proxy)
    return;
  auto js = node_wire::decode_start(text);
  if (!js) {
    log_line("worker node '" + st.cfg.name + "': a start did not decode: " + js.error().message);
    return; // the coordinator's stand-in times out or is taken back with the node
  }
  // An earlier run of the job still here was taken back; its stop is on its way.
  if (auto old = st.by_job.find(js->id); old != st.by_job.end())
    forget_run(self, old->second, let_go::kill);
  auto type = st.env->types->find(js->record->type);
  const bool blocking = type && type->options.blocking;
  js->node = st.cfg.name;
  auto id = js->id;
  auto actor = st.pool.take_idle(blocking, id);
  if (actor) {
    caf::anon_send(actor, proto::run_atom::value, std::move(*js));
  } else {
    actor = spawn_job_actor(self, st.env, std::move(*js), blocking);
    st.pool.assign(actor, id);
    (*st.alive)[actor.address()] = actor;
  }
  st.runs[actor.address()] = run_slot{id, run, proxy, actor, blocking};
  st.by_job[id] = actor.address();
  st.report->update([&](worker_stats& s) {
    s.running = st.runs.size();
    ++s.runs_started;
  });
}

caf::result<proto::write_ack> write_checkpoint(agent_actor* self, storage::write_batch& batch) {
  auto* slot = run_of_sender(self);
  if (slot == nullptr)
    return proto::write_ack{error{errc::storage_error, "this run was stopped"}};
  const storage::write_batch::op* put = nullptr;
  for (const auto& op : batch.ops())
    if (op.what == storage::write_batch::op::kind::put_checkpoint && op.id == slot->job && op.cp)
      put = &op;
  if (put == nullptr) // spawn_child refuses on a worker: nothing else is written here
    return proto::write_ack{error{errc::invalid_argument, "a worker node writes checkpoints only"}};
  auto rp = self->make_response_promise<proto::write_ack>();
  self->request(slot->proxy, caf::infinite, proto::write_atom::value, slot->job, slot->run,
                node_wire::encode_checkpoint(*put->cp))
    .then(
      [=](const std::string& refusal) mutable {
        if (refusal.empty())
          rp.deliver(proto::write_ack{});
        else
          rp.deliver(proto::write_ack{error{errc::storage_error, refusal}});
      },
      [=](caf::error& err) mutable {
        rp.deliver(proto::write_ack{error{
          errc::storage_error, "the coordinator did not take it: " + self->system().render(err)}});
      });
  return rp;
}

caf::behavior agent_fn(agent_actor* self, env_ptr env, caf::actor gate, agent_config cfg,
                       std::shared_ptr<agent_report> report) {
  auto& st = self->state;
  // Its job actors write their checkpoints through it (see write_checkpoint).
  auto own = std::make_shared<actor_env>(*env);
  own->persistence = caf::actor_cast<proto::persistence_actor>(self);
  own->commits = commit_site::persistence_actor;
  st.env = std::move(own);
  st.gate = std::move(gate);
  st.cfg = std::move(cfg);
  st.report = std::move(report);
  // However the agent ends, no job actor of it goes on running.
  self->attach_functor([alive = st.alive](const caf::error&) {
    for (const auto& [addr, a] : *alive)
      caf::anon_send_exit(a, caf::exit_reason::kill);
  });
  self->set_default_handler(caf::drop);
  self->monitor(st.gate);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.gate.address()) {
      leave(self, "the coordinator went away (" + self->system().render(dm.reason) + ")");
      return;
    }
    auto i = st.runs.find(dm.source);
    if (i == st.runs.end()) {
      drop_actor(self, dm.source); // an idle one
      return;
    }
    auto slot = i->second;
    forget_run(self, dm.source, let_go::kill);
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::failed;
    o.transient = true;
    o.error = "job actor died on worker node '" + st.cfg.name + "': " + self->system().render(dm.reason);
    self->send(slot.proxy, proto::done_atom::value, slot.job, slot.run, node_wire::encode_outcome(o));
  });
  self->request(st.gate, std::chrono::seconds(10), proto::hello_atom::value, st.cfg.name,
                st.cfg.secret, node_wire::encode_offer(st.cfg.offer))
    .then(
      [=](const std::string& refusal, std::uint64_t id) {
        auto& st = self->state;
        if (!refusal.empty() || id == 0) {
          log_line("worker node '" + st.cfg.name + "': the coordinator refused it: " + refusal);
          st.report->update([&](worker_stats& s) { ++s.refusals; });
          leave(self, "refused: " + refusal);
          return;
        }
        st.node_id = id;
        st.report->update([&](worker_stats& s) {
          s.connected = true;
          s.node_id = id;
          ++s.joins;
          s.last_error.clear();
        });
        arm_heartbeat(self);
      },
      [=](caf::error& err) { leave(self, "no welcome: " + self->system().render(err)); });
  return {
    // -- from the coordinator's gate
    [=](proto::evict_atom, const std::string& why) {
      auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (sender == self->state.gate.address())
        leave(self, "evicted by the coordinator (" + why + ")");
    },
    [=](proto::heartbeat_atom) { // from itself
      auto& st = self->state;
      if (st.node_id == 0)
        return;
      self->send(st.gate, proto::heartbeat_atom::value, st.node_id);
      arm_heartbeat(self);
    },
    // -- from the coordinator's remote runs
    [=](proto::run_atom, std::uint64_t run, const std::string& text) { start_run(self, run, text); },
    [=](proto::pause_atom, job_id id, std::uint64_t run) {
      if (auto* slot = run_named(self, id, run))
        caf::anon_send(slot->actor, proto::pause_atom::value, id);
    },
    [=](proto::resume_atom, job_id id, std::uint64_t run) {
      if (auto* slot = run_named(self, id, run))
        caf::anon_send(slot->actor, proto::resume_atom::value, id);
    },
    [=](proto::cancel_atom, job_id id, std::uint64_t run) {
      if (auto* slot = run_named(self, id, run))
        caf::anon_send(slot->actor, proto::cancel_atom::value, id);
    },
    [=](proto::signal_atom, job_id id, std::uint64_t run, const std::string& text) {
      auto* slot = run_named(self, id, run);
      if (slot == nullptr)
        return;
      if (auto s = node_wire::decode_signal(text))
        caf::anon_send(slot->actor, proto::signal_atom::value, id, std::move(*s));
    },
    [=](proto::stop_atom, job_id id, std::uint64_t run) {
      auto& st = self->state;
      auto j = st.by_job.find(id);
      if (j == st.by_job.end() || st.runs[j->second].run != run)
        return;
      forget_run(self, j->second, let_go::kill);
      st.report->update([](worker_stats& s) { ++s.runs_stopped; });
    },
    // -- from its job actors, as a scheduler and a persistence actor get them
    [=](proto::progress_atom, job_id, progress& p, millis checkpoint_at) {
      if (auto* slot = run_of_sender(self))
        self->send(slot->proxy, proto::progress_atom::value, slot->job, slot->run,
                   node_wire::encode_progress(p), checkpoint_at);
    },
    [=](proto::paused_atom, job_id) {
      if (auto* slot = run_of_sender(self))
        self->send(slot->proxy, proto::paused_atom::value, slot->job, slot->run);
    },
    [=](proto::done_atom, job_id, proto::job_outcome& o, bool reusable) {
      auto* slot = run_of_sender(self);
      if (slot == nullptr)
        return;
      self->send(slot->proxy, proto::done_atom::value, slot->job, slot->run,
                 node_wire::encode_outcome(o));
      forget_run(self, slot->actor.address(), reusable ? let_go::keep : let_go::stop);
    },
    [=](proto::write_atom, storage::write_batch& batch) -> caf::result<proto::write_ack> {
      return write_checkpoint(self, batch);
    },
  };
}

} // namespace

caf::actor spawn_node_agent(caf::actor_system& sys, env_ptr env, caf::actor gate,
                            agent_config cfg, std::shared_ptr<agent_report> report) {
  return sys.spawn(agent_fn, std::move(env), std::move(gate), std::move(cfg), std::move(report));
}

} // namespace jobrt
