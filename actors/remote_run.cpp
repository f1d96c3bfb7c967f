#include "actors/remote_run.hpp"

#include <memory>
#include <string>

#include "caf/all.hpp"

#include "jobrt/fields.hpp"

#include "actors/node_wire.hpp"

namespace jobrt {

namespace {

/// The run a stand-in holds now, for its exit to stop on the node.
struct current_run {
  job_id job = 0;
  std::uint64_t run = 0;
  bool live = false; ///< handed to the node and not yet ended
};

struct remote_run_state {
  env_ptr env;
  caf::actor scheduler;
  caf::actor agent;
  /// Shared with the exit handler, which stops a live run on the node.
  std::shared_ptr<current_run> now = std::make_shared<current_run>();

  /// Whether `job` is the run this stand-in holds now.
  bool holds(job_id job) const { return now->live && job == now->job; }

  static inline const char* name = "jobrt.remote_run";
};

using remote_run_actor = caf::stateful_actor<remote_run_state>;

/// Whether a message from a peer names this run and comes from its node's
/// agent; anything else is dropped and counted.
bool from_this_run(remote_run_actor* self, job_id job, std::uint64_t run) {
  auto& st = self->state;
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  if (sender == st.agent.address() && st.holds(job) && run == st.now->run)
    return true;
  ++st.env->node_traffic->messages_dropped;
  return false;
}

template <class... Ts>
void to_agent(remote_run_actor* self, std::size_t payload, Ts&&... xs) {
  self->state.env->node_traffic->sent(payload);
  self->send(self->state.agent, std::forward<Ts>(xs)...);
}

/// The worker sent what it should not have: the run fails (and is retried
/// while it has attempts left) instead of hanging.
void run_broke(remote_run_actor* self, std::string why) {
  auto& st = self->state;
  ++st.env->node_traffic->messages_dropped;
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.transient = true;
  o.error = "worker node sent a malformed message: " + why;
  self->send(st.scheduler, proto::done_atom::value, st.now->job, std::move(o), false);
  self->quit(); // the exit tells the agent to stop the run
}

/// Hands the node the next run (a stand-in is kept for the node's next run
/// once one ends, like a local job actor).
void begin_run(remote_run_actor* self, proto::job_start& start) {
  auto& st = self->state;
  *st.now = current_run{start.id, start.run, true};
  auto text = node_wire::encode_start(start);
  to_agent(self, text.size(), proto::run_atom::value, start.run, std::move(text));
}

/// Writes the checkpoint the worker sent for this run; the answer is empty
/// once it is durable.
caf::result<std::string> write_checkpoint(remote_run_actor* self, const std::string& text) {
  auto& st = self->state;
  auto cp = node_wire::decode_checkpoint(text);
  if (!cp)
    return "the checkpoint did not decode: " + cp.error().message;
  if (has_non_finite(cp->state))
    return std::string{"checkpoint state holds a number that is not finite"};
  if (auto size = json_size(cp->state); size > st.env->opts.max_payload_bytes)
    return "checkpoint state is " + std::to_string(size) + " bytes, over the limit of "
           + std::to_string(st.env->opts.max_payload_bytes);
  storage::write_batch batch;
  auto taken = cp->signals_taken;
  batch.put_checkpoint(st.now->job, std::move(*cp));
  if (taken != 0) // delivered and saved: not delivered again (as for a local job)
    batch.erase_signals(st.now->job, taken);
  auto latency = st.env->checkpoint_latency;
  auto asked_at = std::chrono::steady_clock::now();
  if (st.env->commits == commit_site::in_place) {
    auto r = st.env->store->commit(batch);
    latency->record(std::chrono::steady_clock::now() - asked_at);
    return r ? std::string{} : r.error().message;
  }
  auto rp = self->make_response_promise<std::string>();
  self->request(st.env->persistence, caf::infinite, proto::write_atom::value, std::move(batch))
    .then(
      [=](const proto::write_ack& ack) mutable {
        latency->record(std::chrono::steady_clock::now() - asked_at);
        rp.deliver(ack.failure ? ack.failure->message : std::string{});
      },
      [=](caf::error& err) mutable { rp.deliver(self->system().render(err)); });
  return rp;
}

caf::behavior remote_run_fn(remote_run_actor* self, env_ptr env, caf::actor scheduler,
                            caf::actor agent, proto::job_start start) {
  auto& st = self->state;
  st.env = std::move(env);
  st.scheduler = std::move(scheduler);
  st.agent = std::move(agent);
  self->set_default_handler([](caf::scheduled_actor* me, caf::message_view&) {
    ++static_cast<remote_run_actor*>(me)->state.env->node_traffic->messages_dropped;
    return caf::result<caf::message>{caf::message{}};
  });
  // However it ends (taken back, killed on a timeout, shutdown), a run that did
  // not end on its own is stopped on its node.
  self->attach_functor([agent = st.agent, now = st.now,
                        traffic = st.env->node_traffic](const caf::error&) {
    if (!now->live)
      return;
    traffic->sent(0);
    caf::anon_send(agent, proto::stop_atom::value, now->job, now->run);
  });
  begin_run(self, start);
  return {
    [=](proto::run_atom, proto::job_start& next) { begin_run(self, next); },
    // -- from the scheduler, as a job actor gets it
    [=](proto::pause_atom, job_id id) {
      if (self->state.holds(id))
        to_agent(self, 0, proto::pause_atom::value, id, self->state.now->run);
    },
    [=](proto::resume_atom, job_id id) {
      if (self->state.holds(id))
        to_agent(self, 0, proto::resume_atom::value, id, self->state.now->run);
    },
    [=](proto::cancel_atom, job_id id) {
      if (self->state.holds(id))
        to_agent(self, 0, proto::cancel_atom::value, id, self->state.now->run);
    },
    [=](proto::signal_atom, job_id id, const job_signal& s) {
      if (!self->state.holds(id))
        return;
      auto text = node_wire::encode_signal(s);
      to_agent(self, text.size(), proto::signal_atom::value, id, self->state.now->run,
               std::move(text));
    },
    [=](proto::stop_atom) { self->quit(); }, // shutdown: the exit stops the run
    // -- from the node's agent
    [=](proto::progress_atom, job_id id, std::uint64_t r, const std::string& text,
        millis checkpoint_at) {
      if (!from_this_run(self, id, r))
        return;
      self->state.env->node_traffic->received(text.size());
      auto p = node_wire::decode_progress(text);
      if (!p) {
        ++self->state.env->node_traffic->messages_dropped;
        return;
      }
      self->send(self->state.scheduler, proto::progress_atom::value, id, std::move(*p),
                 checkpoint_at);
    },
    [=](proto::paused_atom, job_id id, std::uint64_t r) {
      if (!from_this_run(self, id, r))
        return;
      self->state.env->node_traffic->received(0);
      self->send(self->state.scheduler, proto::paused_atom::value, id);
    },
    [=](proto::done_atom, job_id id, std::uint64_t r, const std::string& text) {
      if (!from_this_run(self, id, r))
        return;
      auto& st = self->state;
      st.env->node_traffic->received(text.size());
      if (text.size() > node_wire::max_text(st.env->opts.max_payload_bytes)) {
        run_broke(self, "an outcome of " + std::to_string(text.size()) + " bytes");
        return;
      }
      auto o = node_wire::decode_outcome(text);
      if (!o) {
        run_broke(self, o.error().message);
        return;
      }
      // Kept for the node's next run: messages of this one are stale from now on.
      st.now->live = false;
      self->send(st.scheduler, proto::done_atom::value, id, std::move(*o), true);
    },
    [=](proto::write_atom, job_id id, std::uint64_t r,
        const std::string& text) -> caf::result<std::string> {
      if (!from_this_run(self, id, r))
        return std::string{"this run was taken back"};
      auto& st = self->state;
      st.env->node_traffic->received(text.size());
      if (text.size() > node_wire::max_text(st.env->opts.max_payload_bytes))
        return "a checkpoint of " + std::to_string(text.size()) + " bytes is over the limit";
      return write_checkpoint(self, text);
    },
  };
}

} // namespace

caf::actor spawn_remote_run(caf::local_actor* scheduler, env_ptr env, caf::actor agent,
                            proto::job_start start) {
  caf::actor me = caf::actor_cast<caf::actor>(scheduler);
  return scheduler->spawn<caf::monitored>(remote_run_fn, std::move(env), std::move(me),
                                          std::move(agent), std::move(start));
}

} // namespace jobrt
