/// The scheduler's worker nodes: which node a job runs on, and what happens to
/// a node's runs when it is lost. The nodes join and leave through the gate
/// (actors/node_gate.hpp); a run on a node is a remote run
/// (actors/remote_run.hpp), which the scheduler treats as the job's actor.

#include "actors/remote_run.hpp"
#include "actors/scheduler_state.hpp"

namespace jobrt::scheduling {

void on_node_up(scheduler_ptr self, proto::node_joined& j) {
  self->state.nodes.join(std::move(j));
  try_start(self);
}

void on_node_down(scheduler_ptr self, std::uint64_t id, const std::string& why) {
  auto& st = self->state;
  auto gone = st.nodes.leave(id);
  if (!gone)
    return;
  for (const auto& a : gone->idle) // their down messages drop them from the pool
    self->send_exit(a, caf::exit_reason::kill);
  for (auto job : gone->jobs) {
    auto* e = st.jobs.find(job);
    if (e == nullptr || e->node != id || !e->actor)
      continue;
    // Fencing: with its stand-in gone, nothing this run still sends is taken.
    self->send_exit(e->actor, caf::exit_reason::kill);
    forget_actor(self, *e);
    if (e->status != job_status::running)
      continue; // paused with its actor: a resume starts it again from its checkpoint
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::interrupted;
    o.error = "worker node '" + gone->info.name + "' was lost (" + why + ")";
    if (e->record)
      o.last_progress = e->record->progress;
    apply_outcome(self, *e, o);
  }
}

void on_node_heartbeat(scheduler_ptr self, std::uint64_t id, millis at) {
  self->state.nodes.heard(id, at);
}

bool has_place(scheduler_ptr self, const job_entry& e) {
  auto& st = self->state;
  return e.actor || st.env->opts.workers.run_locally
         || st.nodes.pick(st.limits->type(e.type).name) != 0;
}

bool start_on_node(scheduler_ptr self, job_entry& e, proto::job_start& js) {
  auto& st = self->state;
  if (st.nodes.empty())
    return false;
  const auto& type = st.limits->type(e.type).name;
  auto id = st.nodes.pick(type);
  if (id == 0)
    return false;
  const auto* n = st.nodes.find(id);
  js.node = n->info.name;
  js.run = e.run;
  e.node = id;
  st.nodes.take(id, type, e.id);
  if (auto idle = st.nodes.take_idle(id)) {
    e.actor = std::move(idle);
    tell(e.actor, proto::run_atom::value, std::move(js));
  } else {
    e.actor = spawn_remote_run(self, st.env, n->agent, std::move(js));
  }
  st.actors.assign(e.actor, e.id);
  return true;
}

void leave_node(scheduler_ptr self, job_entry& e) {
  if (e.node == 0)
    return;
  auto& st = self->state;
  st.nodes.release(e.node, st.limits->type(e.type).name, e.id);
  e.node = 0;
}

void requeue_interrupted(scheduler_ptr self, job_entry& e, shared_record rec,
                         job_status replaces) {
  auto id = e.id;
  auto& st = self->state;
  if (!moved(self, id, st.jobs.move(e, job_event_kind::requeue)))
    return;
  st.jobs.enqueue(e);
  ++st.env->node_traffic->runs_taken_back;
  auto written = rec.share();
  persist(self, written, replaces, [=](result<void> r) {
    auto* job = self->state.jobs.find(id);
    if (job == nullptr)
      return;
    if (!r) {
      log_line("job " + std::to_string(id) + ": queued status could not be saved: "
               + r.error().message);
      return;
    }
    publish_status(self, *job, job_status::queued, {}, &written->progress);
    apply_held_steering(self, *job); // asked for while the run was on the lost node
  });
}

} // namespace jobrt::scheduling
