/// Recurring schedules in the scheduler: what the facade asks (create, delete,
/// pause, list), the one timer for the earliest due schedule, and firing ticks.
///
/// The book (actors/schedule_book.hpp) is the store plus the writes on their
/// way: each change is made there at once and written; a write that fails puts
/// the schedule back as the store holds it. A tick's jobs and the schedule's
/// new `last_tick` are one batch, so a crash keeps both or neither; and each
/// tick's job carries the idempotency key of the schedule and the tick, which
/// is looked up before a tick fires, so no tick submits two jobs.

#include <algorithm>

#include "actors/scheduler_state.hpp"

namespace jobrt::scheduling {

namespace {

error no_such_schedule(const std::string& name) {
  return error{errc::not_found, "no schedule named '" + name + "'"};
}

/// Arms the timer for the earliest due schedule, unless one fires by then.
void arm_schedule_timer(scheduler_ptr self) {
  auto& st = self->state;
  auto at = st.schedules.earliest_due();
  if (at == 0 || (st.schedule_timer_at != 0 && st.schedule_timer_at <= at))
    return;
  st.schedule_timer_at = at;
  send_at(self, at, proto::tick_atom::value, ++st.schedule_timer_generation);
}

/// Puts schedule `name` back as the store holds it (or drops it if the store
/// has none): a write of it failed.
void reload_schedule(scheduler_ptr self, const std::string& name) {
  auto& book = self->state.schedules;
  auto stored = self->state.env->store->schedules();
  if (!stored) {
    log_line("schedule '" + name + "': cannot read it back: " + stored.error().message);
    return;
  }
  auto it = std::find_if(stored->begin(), stored->end(),
                         [&](const schedule_info& s) { return s.name == name; });
  auto rule = it == stored->end() ? result<tick_rule>{no_such_schedule(name)}
                                  : tick_rule::parse(it->spec, it->options.time_zone);
  if (!rule) {
    book.erase(name);
    return;
  }
  book.put(schedule_entry{std::move(*it), std::move(*rule)});
}

/// Writes the schedule as the book now holds it; `then` runs once it is
/// durable. A failure puts the book's entry back as stored.
void write_schedule(scheduler_ptr self, const schedule_entry& e, write_callback then) {
  storage::write_batch batch;
  batch.put_schedule(std::make_shared<const schedule_info>(e.info));
  auto name = e.info.name;
  persist_batch(self, std::move(batch), [self, name, then](result<void> r) {
    if (!r && self->state.schedules.find(name) != nullptr) // not deleted meanwhile
      reload_schedule(self, name);
    arm_schedule_timer(self);
    if (then)
      then(r);
  });
}

schedule_info with_next_tick(const schedule_entry& e) {
  auto s = e.info;
  s.next_tick = s.paused ? 0 : e.rule.next_after(s.last_tick, s.created_at).value_or(0);
  return s;
}

/// Why a tick of `s` cannot submit a job now (its type is no longer
/// registered, or its parameters no longer pass), or empty.
std::optional<error> refusal(scheduler_ptr self, const schedule_info& s) {
  if (auto ok = self->state.env->types->validate(s.type, s.params); !ok)
    return ok.error();
  return std::nullopt;
}

/// The ticks fired while one message is handled: one batch, one callback, so
/// that ten thousand schedules due in the same minute cost one commit.
struct firing {
  struct fired {
    std::string name;
    std::uint16_t type = 0;
    submit_options opts;
    std::vector<std::shared_ptr<const job_record>> jobs;
  };
  storage::write_batch batch;
  std::vector<fired> schedules;
};

/// Adds what schedule `name`'s due ticks do at `at` (see `plan_ticks`) to `out`.
void fire(scheduler_ptr self, const std::string& name, millis at, bool was_queued,
          firing& out) {
  auto& st = self->state;
  auto* e = st.schedules.find(name);
  if (e == nullptr || e->writing || e->info.paused)
    return;
  auto& info = e->info;
  const bool previous_unfinished = info.last_job != 0 && st.jobs.find(info.last_job) != nullptr;
  auto plan = plan_ticks(info, e->rule, at, previous_unfinished, was_queued);
  e->waits_for_previous = plan.wait_for_previous;
  if (plan.wait_for_previous || plan.last_tick == info.last_tick) {
    st.schedules.update_due(*e);
    return;
  }
  if (!plan.fire.empty())
    if (auto no = refusal(self, info)) {
      log_line("schedule '" + name + "': " + std::to_string(plan.fire.size())
               + " tick(s) submit nothing: " + no->message);
      plan.skipped += plan.fire.size();
      plan.fire.clear();
    }
  submit_options opts;
  opts.owner = info.options.owner;
  opts.priority = info.options.priority;
  opts.max_attempts = info.options.max_attempts;
  opts.timeout_ms = info.options.timeout_ms;
  auto type_index = st.limits->intern(info.type);
  auto& batch = out.batch;
  std::vector<std::shared_ptr<const job_record>> jobs;
  for (auto tick : plan.fire) {
    opts.idempotency_key = schedule_tick_key(name, tick);
    auto taken = st.env->store->find_unique_key(opts.owner, opts.idempotency_key);
    if (!taken || *taken) { // fired before (or unreadable: firing again could repeat it)
      ++plan.skipped;
      continue;
    }
    jobs.push_back(new_record(self, type_index, info.type, info.params, opts));
    batch.put_record(jobs.back());
    batch.put_unique_key(opts.owner, opts.idempotency_key, jobs.back()->id);
    info.last_job = jobs.back()->id;
    info.last_fired_at = tick;
    ++info.fired;
  }
  info.last_tick = plan.last_tick;
  st.counters.schedule_ticks_skipped += plan.skipped;
  e->writing = true;
  st.schedules.update_due(*e);
  batch.put_schedule(std::make_shared<const schedule_info>(info));
  opts.idempotency_key.clear();
  out.schedules.push_back(firing::fired{name, type_index, std::move(opts), std::move(jobs)});
}

/// Writes the ticks fired; once they are durable, their jobs join the table
/// and the schedules are due again at their next ticks.
void send(scheduler_ptr self, firing&& f) {
  if (f.schedules.empty())
    return;
  persist_batch(self, std::move(f.batch), [self, fired = std::move(f.schedules)](result<void> r) {
    auto& st = self->state;
    bool started = false;
    for (const auto& s : fired) {
      if (r) {
        for (const auto& rec : s.jobs) {
          auto keyed = s.opts;
          keyed.idempotency_key = rec->idempotency_key;
          admit(self, s.type, keyed, rec);
        }
        st.counters.schedule_ticks_fired += s.jobs.size();
        started = started || !s.jobs.empty();
      } else if (st.schedules.find(s.name) != nullptr) { // not deleted meanwhile
        log_line("schedule '" + s.name + "': a tick could not be saved: " + r.error().message);
        reload_schedule(self, s.name);
      }
      if (auto* e = st.schedules.find(s.name)) {
        e->writing = false;
        st.schedules.update_due(*e);
      }
    }
    arm_schedule_timer(self);
    if (started)
      try_start(self);
  });
}

} // namespace

void recover_schedules(scheduler_ptr self) {
  auto& st = self->state;
  std::vector<std::pair<std::string, std::string>> corrupt;
  auto stored = st.env->store->schedules(&corrupt);
  if (!stored) {
    log_line("cannot read the schedules: " + stored.error().message);
    return;
  }
  for (const auto& [name, why] : corrupt)
    log_line("schedule '" + name + "' cannot be read and does not tick: " + why);
  for (auto& s : *stored) {
    auto rule = tick_rule::parse(s.spec, s.options.time_zone);
    if (!rule) {
      log_line("schedule '" + s.name + "' does not tick: " + rule.error().message);
      continue;
    }
    st.schedules.put(schedule_entry{std::move(s), std::move(*rule)});
  }
  arm_schedule_timer(self); // fires at once for a schedule that came due while down
}

void on_schedule(scheduler_ptr self, schedule_info& s, proto::reply<schedule_info> rp) {
  auto& st = self->state;
  if (st.stopping) {
    answer<schedule_info>(rp, error{errc::shutting_down, "the runtime is shutting down"});
    return;
  }
  auto rule = tick_rule::parse(s.spec, s.options.time_zone);
  if (!rule) {
    answer<schedule_info>(rp, rule.error());
    return;
  }
  s.paused = s.options.paused;
  s.next_tick = 0;
  if (auto* old = st.schedules.find(s.name)) {
    // A replaced schedule keeps what it has done: ticks it handled stay handled.
    s.created_at = old->info.created_at;
    s.last_tick = old->info.last_tick;
    s.last_job = old->info.last_job;
    s.last_fired_at = old->info.last_fired_at;
    s.fired = old->info.fired;
  } else {
    s.created_at = now(self);
    s.last_tick = s.created_at;
  }
  auto& e = st.schedules.put(schedule_entry{std::move(s), std::move(*rule)});
  auto name = e.info.name;
  write_schedule(self, e, [self, name, rp](result<void> r) {
    auto* now_held = self->state.schedules.find(name);
    if (r && now_held == nullptr)
      r = no_such_schedule(name); // deleted meanwhile
    answer<schedule_info>(rp, r ? result<schedule_info>{with_next_tick(*now_held)}
                                : result<schedule_info>{r.error()});
  });
}

void on_unschedule(scheduler_ptr self, const std::string& name, proto::reply<void> rp) {
  auto& st = self->state;
  if (st.schedules.find(name) == nullptr) {
    answer<void>(rp, no_such_schedule(name));
    return;
  }
  st.schedules.erase(name);
  storage::write_batch batch;
  batch.erase_schedule(name);
  persist_batch(self, std::move(batch), [self, name, rp](result<void> r) {
    if (!r)
      reload_schedule(self, name);
    answer<void>(rp, r);
  });
}

void on_pause_schedule(scheduler_ptr self, const std::string& name, bool pause,
                       proto::reply<void> rp) {
  auto& st = self->state;
  auto* e = st.schedules.find(name);
  if (e == nullptr) {
    answer<void>(rp, no_such_schedule(name));
    return;
  }
  if (e->info.paused == pause) {
    answer<void>(rp, {});
    return;
  }
  e->info.paused = pause;
  e->info.options.paused = pause;
  if (!pause) // ticks that passed while paused are skipped, not made up
    e->info.last_tick = std::max(e->info.last_tick, now(self));
  e->waits_for_previous = false;
  st.schedules.update_due(*e);
  write_schedule(self, *e, [rp](result<void> r) { answer<void>(rp, r); });
}

void on_list_schedules(scheduler_ptr self, proto::reply<std::vector<schedule_info>> rp) {
  answer<std::vector<schedule_info>>(rp, self->state.schedules.list());
}

void on_schedule_tick(scheduler_ptr self, std::uint64_t generation) {
  auto& st = self->state;
  if (generation == st.schedule_timer_generation)
    st.schedule_timer_at = 0;
  if (st.stopping)
    return;
  auto at = now(self);
  firing f;
  for (const auto& name : st.schedules.due_at(at))
    fire(self, name, at, false, f);
  send(self, std::move(f));
  arm_schedule_timer(self);
}

void after_scheduled_job(scheduler_ptr self, job_id id) {
  auto& st = self->state;
  auto names = st.schedules.waiting_for(id);
  if (names.empty() || st.stopping)
    return;
  auto at = now(self);
  firing f;
  for (const auto& name : names)
    if (auto* e = st.schedules.find(name)) {
      e->waits_for_previous = false;
      fire(self, name, at, true, f);
    }
  send(self, std::move(f));
  arm_schedule_timer(self);
}

} // namespace jobrt::scheduling
