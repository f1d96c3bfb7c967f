/// The scheduler's administration: deleting finished jobs (one, by status, and
/// retention's sweep), failing a stuck job, and pausing a job type.

#include <limits>

#include "actors/recovery_plan.hpp"
#include "actors/retention_plan.hpp"
#include "actors/scheduler_state.hpp"

namespace jobrt::scheduling {

namespace {

/// Deletes the finished jobs for which `wanted(summary)` holds, at most `limit`,
/// and runs `then(count, result)` once the deletion is durable.
template <class Wanted, class Then>
void erase_finished(scheduler_ptr self, Wanted wanted, std::size_t limit, Then then) {
  auto& st = self->state;
  auto plan = plan_erase(
    *st.env->store, wanted,
    [&](job_id id) { return st.jobs.find(id) != nullptr || st.deleting.count(id) != 0; },
    limit);
  if (!plan.problem.empty())
    log_line(plan.problem);
  for (auto id : plan.ids)
    st.deleting.insert(id);
  persist_batch(self, std::move(plan.writes), [=, ids = std::move(plan.ids)](result<void> r) {
    for (auto id : ids)
      self->state.deleting.erase(id);
    if (r)
      self->state.counters.deleted += ids.size();
    then(ids.size(), r);
  });
}

/// Stores which types are paused, so that a restart keeps them paused.
void save_paused_types(scheduler_ptr self, write_callback then) {
  storage::write_batch batch;
  batch.put_setting(paused_types_setting, encode_paused_types(self->state.limits->paused_types()));
  persist_batch(self, std::move(batch), std::move(then));
}

} // namespace

void on_remove(scheduler_ptr self, job_id id, proto::reply<void> rp) {
  auto& st = self->state;
  if (auto* e = st.jobs.find(id)) {
    answer<void>(rp, error{errc::illegal_transition, std::string{"cannot delete a "}
                                                       + to_string(e->status)
                                                       + " job; cancel it first"});
    return;
  }
  auto rec = st.env->store->get(id);
  if (!rec && rec.error().code == errc::not_found) {
    answer<void>(rp, no_such_job(id));
    return;
  }
  storage::write_batch batch;
  add_erase(*st.env->store, batch, id);
  persist_batch(self, std::move(batch), [=](result<void> r) {
    if (r)
      ++self->state.counters.deleted;
    answer<void>(rp, r);
  });
}

void on_clear(scheduler_ptr self, job_status status, proto::reply<std::size_t> rp) {
  if (!is_finished(status)) {
    answer<std::size_t>(rp, error{errc::invalid_argument,
                                  std::string{"only completed, failed or cancelled jobs can be "
                                              "cleared, not "}
                                    + to_string(status) + " ones"});
    return;
  }
  erase_finished(
    self, [status](const storage::job_summary& s) { return s.status == status; },
    std::numeric_limits<std::size_t>::max(), [=](std::size_t n, const result<void>& r) {
      answer<std::size_t>(rp, r ? result<std::size_t>{n} : result<std::size_t>{r.error()});
    });
}

void on_force_fail(scheduler_ptr self, job_id id, const std::string& reason,
                   proto::reply<void> rp) {
  auto* e = job_that_may_move(self, id, job_status::failed, rp);
  if (e == nullptr)
    return;
  if (!e->record) {
    auto rec = take_record(self, *e);
    if (!rec) {
      answer<void>(rp, rec.error());
      return;
    }
    e->record = std::move(*rec);
  }
  self->state.jobs.dequeue(*e);
  ++e->timer_generation;
  if (e->actor) {
    self->send_exit(e->actor, caf::exit_reason::kill);
    forget_actor(self, *e);
  }
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.error = reason;
  o.last_progress = e->record->progress;
  apply_outcome(self, *e, o);
  // Writes commit in order: once this empty one is durable, so is the failure.
  persist_batch(self, storage::write_batch{}, [=](result<void> r) { answer<void>(rp, r); });
}

void on_switch_type(scheduler_ptr self, const std::string& type, bool with_running,
                    proto::reply<void> rp, type_switch to) {
  auto& st = self->state;
  if (!st.env->types->find(type) && !st.limits->interned(type)) {
    answer<void>(rp, error{errc::unknown_job_type, "unknown job type '" + type + "'"});
    return;
  }
  auto idx = st.limits->intern(type);
  st.limits->type(idx).paused = to == type_switch::pause;
  if (to == type_switch::pause && with_running) {
    std::vector<job_id> running;
    for (const auto& [id, e] : st.jobs)
      if (e.type == idx && e.status == job_status::running)
        running.push_back(id);
    for (auto id : running)
      on_pause(self, id, nullptr);
  }
  save_paused_types(self, [=](result<void> r) {
    answer<void>(rp, r);
    try_start(self);
  });
}

void arm_sweep(scheduler_ptr self) {
  auto every = self->state.env->opts.retention_sweep_every.count();
  if (every > 0)
    send_at(self, saturating_add(now(self), every), proto::sweep_atom::value);
}

/// Retention: deletes finished jobs (and their checkpoints) past their status's
/// retention period, a bounded number per sweep.
void on_sweep(scheduler_ptr self) {
  auto& st = self->state;
  auto t = now(self);
  const auto& periods = st.env->opts.retention;
  erase_finished(
    self, [&](const storage::job_summary& s) { return past_retention(periods, s, t); }, 10'000,
    [](std::size_t, const result<void>& r) {
      if (!r)
        log_line("retention could not delete jobs: " + r.error().message);
    });
  if (!st.stopping)
    arm_sweep(self);
}

} // namespace jobrt::scheduling
