/// Flows in the scheduler: jobs that wait for other jobs. A job submitted
/// `after` others waits (`waiting_for: "dependencies"`) until they finished,
/// then runs, fails or is cancelled as its policy says; a parent that called
/// `wait_for_children` waits (`waiting_for: "children"`) until its children
/// finished, then runs again. Neither holds a slot or a timer meanwhile.
/// Pausing, resuming or cancelling a job reaches its descendants.
///
/// The flow table (actors/flow_table.hpp) counts what each waiting job still
/// waits for; what it waits for is durable (the record's `after`, the
/// checkpoint's `children`), so recovery builds the table again.

#include <algorithm>
#include <deque>
#include <unordered_set>

#include "actors/scheduler_state.hpp"

namespace jobrt::scheduling {

namespace {

/// What a job waits for: its `after` list, or its children (from its checkpoint).
std::vector<job_id> awaited_jobs(scheduler_ptr self, const job_record& r) {
  if (r.waiting_for == lifecycle::to_string(lifecycle::wait_reason::children)) {
    auto cp = self->state.env->store->get_checkpoint(r.id);
    return cp && *cp ? (*cp)->children : std::vector<job_id>{};
  }
  return r.after;
}

/// A parent waiting for its children: how many have finished.
progress children_progress(const flow_table::waiter& w) {
  progress p;
  auto done = w.total - w.pending;
  p.fraction = w.total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(w.total);
  p.stage = "children";
  p.message = std::to_string(done) + " of " + std::to_string(w.total) + " children finished";
  return p;
}

void publish_children_progress(scheduler_ptr self, const job_entry& e,
                               const flow_table::waiter& w) {
  job_event ev;
  ev.what = job_event::kind::progress;
  ev.id = e.id;
  ev.type = self->state.limits->type(e.type).name;
  ev.owner = e.owner;
  ev.status = e.status;
  ev.progress = children_progress(w);
  ev.at = now(self);
  publish(self, std::move(ev));
}

} // namespace

void add_children_progress(scheduler_ptr self, job_record& r) {
  auto* w = self->state.flows.find(r.id);
  if (w != nullptr && w->children && r.status == job_status::waiting)
    r.progress = children_progress(*w);
}

result<dependency_state> dependencies_of(scheduler_ptr self, const std::vector<job_id>& ids,
                                         bool must_exist) {
  auto& st = self->state;
  dependency_state out;
  for (auto id : ids) {
    if (st.jobs.find(id) != nullptr) {
      out.unfinished.push_back(id);
      continue;
    }
    auto rec = st.env->store->get(id);
    if (!rec) {
      if (rec.error().code == errc::not_found && !must_exist)
        continue; // deleted after it finished: counts as completed
      if (rec.error().code == errc::not_found)
        return error{errc::not_found, "job " + std::to_string(id)
                                        + " in `after` does not exist"};
      return rec.error();
    }
    if (!is_finished(rec->status)) // written, not yet taken into the table
      out.unfinished.push_back(id);
    else
      out.ended.note(id, rec->status);
  }
  return out;
}

void release(scheduler_ptr self, job_entry& e, std::optional<lifecycle::wait_reason> why) {
  auto& st = self->state;
  if (e.status != job_status::waiting && e.status != job_status::queued)
    return; // paused: a resume looks again
  // Read, not taken: a record the entry holds means "never started" to `start`.
  auto loaded = e.record ? result<job_record>{*e.record} : st.env->store->get(e.id);
  if (!loaded) {
    log_line("job " + std::to_string(e.id) + " cannot be released: " + loaded.error().message);
    return;
  }
  const auto& r = *loaded;
  using lifecycle::wait_reason;
  const bool for_children = why ? *why == wait_reason::children
                                : r.waiting_for == lifecycle::to_string(wait_reason::children);
  const bool for_dependencies =
    why ? *why == wait_reason::dependencies
        : r.waiting_for == lifecycle::to_string(wait_reason::dependencies)
            || (e.status == job_status::queued && !r.after.empty() && r.attempts == 0);
  auto waited = for_children ? std::vector<job_id>{} : r.after;
  if (for_children && !why)
    waited = awaited_jobs(self, r);
  auto policy = r.on_dependency_failure;
  if (!for_children && !for_dependencies)
    return;
  auto deps = dependencies_of(self, waited, false);
  if (!deps) {
    log_line("job " + std::to_string(e.id) + ": its dependencies cannot be read: "
             + deps.error().message);
    return;
  }
  if (!deps->unfinished.empty()) { // one came back (retried): wait for it too
    if (e.status == job_status::waiting) {
      deps->ended.children = for_children;
      st.flows.wait(e.id, deps->ended, deps->unfinished);
    }
    return;
  }
  const auto id = e.id;
  auto finish = [self, id](result<void> r) {
    if (auto* job = self->state.jobs.find(id)) {
      answer_finish_waiters(self, *job, r);
      forget_job(self, id);
    }
  };
  auto bad = deps->ended.failed != 0 ? deps->ended.failed : deps->ended.cancelled;
  if (for_dependencies && bad != 0 && policy != dependency_failure::run) {
    auto because = "job " + std::to_string(bad) + " it was to run after "
                   + (deps->ended.failed != 0 ? "failed" : "was cancelled");
    auto t = now(self);
    if (policy == dependency_failure::fail) {
      ++st.counters.failed;
      move_idle_job(self, e, job_event_kind::fail,
                    [because, t](job_record& rec) { return lifecycle::fail(rec, because, t); },
                    finish);
    } else {
      move_idle_job(self, e, job_event_kind::cancel,
                    [because, t](job_record& rec) {
                      rec.error = because;
                      return lifecycle::cancel(rec, t);
                    },
                    finish);
    }
    return;
  }
  if (e.status == job_status::waiting)
    move_idle_job(self, e, job_event_kind::wake, lifecycle::wake,
                  [self](result<void>) { try_start(self); });
}

void wait_for_jobs(scheduler_ptr self, job_entry& e, const std::vector<job_id>& jobs,
                   lifecycle::wait_reason why) {
  auto deps = dependencies_of(self, jobs, false);
  if (!deps)
    return;
  deps->ended.children = why == lifecycle::wait_reason::children;
  auto distinct = jobs;
  std::sort(distinct.begin(), distinct.end());
  deps->ended.total =
    static_cast<std::size_t>(std::unique(distinct.begin(), distinct.end()) - distinct.begin());
  self->state.flows.wait(e.id, deps->ended, deps->unfinished);
}

bool wait_for_children_first(scheduler_ptr self, job_entry& e,
                             const std::vector<job_id>& children) {
  using lifecycle::wait_reason;
  auto deps = dependencies_of(self, children, false);
  if (!deps || deps->unfinished.empty())
    return false;
  deps->ended.children = true;
  deps->ended.total = children.size();
  self->state.flows.wait(e.id, deps->ended, deps->unfinished);
  move_idle_job(self, e, job_event_kind::wait,
                [](job_record& r) {
                  return lifecycle::wait(r, lifecycle::no_wake, wait_reason::children);
                },
                nullptr);
  return true;
}

void release_if_free(scheduler_ptr self, job_id id) {
  auto& st = self->state;
  auto* e = st.jobs.find(id);
  if (e != nullptr && e->status == job_status::waiting && st.flows.find(id) == nullptr)
    release(self, *e);
}

void job_ended(scheduler_ptr self, job_id id, job_status status) {
  auto& st = self->state;
  st.flows.forget(id);
  for (const auto& t : st.flows.ended(id, status)) {
    auto* w = st.jobs.find(t.id);
    if (w == nullptr || w->status != job_status::waiting)
      continue;
    if (t.freed)
      release(self, *w,
              t.w.children ? lifecycle::wait_reason::children
                           : lifecycle::wait_reason::dependencies);
    else if (t.w.children && anyone_listens(self))
      publish_children_progress(self, *w, t.w);
  }
  after_scheduled_job(self, id);
}

void recover_flows(scheduler_ptr self, const std::vector<job_id>& waiting_for_jobs) {
  auto& st = self->state;
  for (auto id : waiting_for_jobs) {
    auto* e = st.jobs.find(id);
    auto rec = st.env->store->get(id);
    if (e == nullptr || !rec)
      continue;
    if (rec->waiting_for == lifecycle::to_string(lifecycle::wait_reason::signal))
      continue; // waits for a signal without a timeout: a signal wakes it
    auto why = rec->waiting_for == lifecycle::to_string(lifecycle::wait_reason::children)
                 ? lifecycle::wait_reason::children
                 : lifecycle::wait_reason::dependencies;
    wait_for_jobs(self, *e, awaited_jobs(self, *rec), why);
    release_if_free(self, id);
  }
}

void rewait_after_resume(scheduler_ptr self, job_entry& e, const job_record& before) {
  using lifecycle::wait_reason;
  const bool children = before.waiting_for == lifecycle::to_string(wait_reason::children);
  const bool dependencies =
    before.waiting_for == lifecycle::to_string(wait_reason::dependencies);
  if (!children && !dependencies)
    return;
  auto deps = dependencies_of(self, awaited_jobs(self, before), false);
  if (deps && !deps->unfinished.empty()) {
    auto why = children ? wait_reason::children : wait_reason::dependencies;
    deps->ended.children = children;
    self->state.flows.wait(e.id, deps->ended, deps->unfinished);
    move_idle_job(self, e, job_event_kind::wait,
                  [why](job_record& r) { return lifecycle::wait(r, lifecycle::no_wake, why); },
                  nullptr);
    return;
  }
  if (dependencies)
    release(self, e); // the policy for a dependency that failed, if one did
}

void reach_descendants(scheduler_ptr self, job_id root,
                       const std::function<void(job_id)>& act) {
  auto& store = *self->state.env->store;
  std::deque<job_id> todo{root};
  std::unordered_set<job_id> seen{root};
  while (!todo.empty()) {
    auto id = todo.front();
    todo.pop_front();
    auto cp = store.get_checkpoint(id);
    if (!cp || !*cp)
      continue;
    for (auto child : (*cp)->children)
      if (seen.insert(child).second) {
        todo.push_back(child);
        if (self->state.jobs.find(child) != nullptr)
          act(child);
      }
  }
}

void on_children(scheduler_ptr self, job_id parent,
                 std::vector<std::shared_ptr<const job_record>>& children) {
  auto& st = self->state;
  for (const auto& rec : children) {
    submit_options opts;
    opts.owner = rec->owner;
    opts.priority = rec->priority;
    admit(self, st.limits->intern(rec->type), opts, rec);
  }
  // A parent paused or cancelled while its children were being written: they
  // follow it.
  auto* p = st.jobs.find(parent);
  if (p == nullptr || p->status == job_status::paused) {
    auto stored = st.env->store->get(parent);
    bool cancelled = stored && stored->status == job_status::cancelled;
    for (const auto& rec : children) {
      if (cancelled)
        on_cancel(self, rec->id, nullptr);
      else if (p != nullptr)
        on_pause(self, rec->id, nullptr);
    }
  }
  try_start(self);
}

} // namespace jobrt::scheduling
