#include "actors/scheduler.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <random>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include "jobrt/backoff.hpp"

#include "actors/job_actor.hpp"
#include "actors/lifecycle.hpp"
#include "actors/protocol.hpp"
#include "actors/ready_queue.hpp"

namespace jobrt {

namespace {

/// A job's full record, shared with the writes that carry it, the store and the
/// job actor that runs it rather than copied for each. Once shared it is never
/// changed in place: `edit` gives this holder a copy of its own first. A flag
/// says whether it was shared, not the pointer's use count: that count is read
/// without ordering against the other thread's last reads of the record.
class shared_record {
public:
  shared_record() = default;
  explicit shared_record(job_record r) : ptr_(std::make_shared<job_record>(std::move(r))) {}
  /// A record others hold too (a write's, say): never changed in place.
  static shared_record frozen(std::shared_ptr<const job_record> r) {
    shared_record out;
    out.ptr_ = std::const_pointer_cast<job_record>(std::move(r)); // only ever read
    out.shared_ = true;
    return out;
  }
  shared_record(shared_record&&) noexcept = default;
  shared_record& operator=(shared_record&&) noexcept = default;
  shared_record(const shared_record&) = delete;
  shared_record& operator=(const shared_record&) = delete;

  explicit operator bool() const noexcept { return ptr_ != nullptr; }
  const job_record& operator*() const noexcept { return *ptr_; }
  const job_record* operator->() const noexcept { return ptr_.get(); }

  /// The record, to change.
  job_record& edit() {
    if (shared_) {
      ptr_ = std::make_shared<job_record>(*ptr_);
      shared_ = false;
    }
    return *ptr_;
  }
  /// The record for another holder; from now on it is not changed in place.
  std::shared_ptr<const job_record> share() {
    shared_ = true;
    return ptr_;
  }
  /// A second holder of the same record.
  shared_record twin() { return frozen(share()); }
  void reset() noexcept {
    ptr_.reset();
    shared_ = false;
  }

private:
  std::shared_ptr<job_record> ptr_;
  bool shared_ = false;
};

/// What the scheduler keeps per unfinished job. Small on purpose: a million
/// queued jobs are a million of these, not a million actors.
struct entry {
  job_id id = 0;
  std::uint16_t type = 0; ///< index into scheduler_state::types
  std::int32_t priority = 0;
  job_status status = job_status::queued;
  std::uint64_t timer_generation = 0; ///< a wake with another generation is stale
  std::uint64_t run = 0;              ///< counts starts; a timeout of another run is stale
  std::string owner;
  std::vector<std::string> limit_keys; ///< one per limit of its type, in the same order
  caf::actor actor;                   ///< while running, or paused with its actor kept
  /// The full record: while the job has an actor; and, for a bounded number of
  /// jobs, from submit to their first start, so that starting them needs no read.
  shared_record record;
  bool holds_slot = false;
  bool in_queue = false; ///< in scheduler_state::queue (set and cleared only there)
  std::vector<proto::reply<void>> pause_waiters;
  std::vector<proto::reply<void>> cancel_waiters;
  std::vector<proto::reply<job_record>> finish_waiters; ///< callers of `runtime::wait`
  /// The seq of the job's last signal; 0 until the first signal sent to it in
  /// this process (then read from the store).
  std::uint64_t last_signal = 0;
  /// Whether the store may hold signals for it: starting it then reads them.
  bool may_have_signals = false;
  /// Set once it waits for a signal (its `waiting` record may not be durable
  /// yet); cleared when it leaves `waiting`.
  bool waits_for_signal = false;
};

struct type_slot {
  std::string name;
  std::size_t cap = 0; ///< 0: only the global cap applies
  std::size_t running = 0;
  job_type_options options; ///< the type's declared defaults
  bool paused = false;      ///< no new job of this type starts
  std::vector<std::uint16_t> limits; ///< indexes into scheduler_state::limits
  bool keys_from_params = false;     ///< a limit is keyed by a parameter
};

/// One key's use of a declared limit.
struct limiter {
  std::deque<millis> recent_starts; ///< within the last `per_ms`
  std::uint32_t running = 0;
};

struct scheduler_state {
  env_ptr env;
  std::unordered_map<job_id, entry> jobs;
  ready_queue queue;
  std::uint64_t starts = 0;
  /// Idempotency keys whose first submit is not durable yet, and the callers
  /// who submitted the same key meanwhile.
  /// Idempotency keys (owner, key) of submits whose commit is in flight.
  std::map<std::pair<std::string, std::string>, job_id> pending_keys;
  std::unordered_map<job_id, std::vector<proto::reply<job_id>>> key_waiters;
  std::mt19937_64 rng{std::random_device{}()};
  std::vector<resource_limit> limits;
  std::map<std::pair<std::uint16_t, std::string>, limiter> limiters;
  millis recheck_at = 0; ///< when a pending recheck timer fires; 0 = none
  std::set<job_id> deleting; ///< finished jobs whose deletion is not yet durable
  std::vector<type_slot> types;
  std::unordered_map<std::string, std::uint16_t> type_index;
  /// Every job actor alive, with the job it runs (0 while it is idle).
  std::unordered_map<caf::actor_addr, job_id> by_actor;
  /// Job actors waiting for their next job, of non-blocking [0] and blocking [1]
  /// types; at most max_running of each kind are kept.
  std::array<std::vector<caf::actor>, 2> idle_actors;
  std::size_t running = 0;
  /// How many entries of `jobs` have each status, so that stats() is O(1).
  std::array<std::uint64_t, all_statuses.size()> by_status{};
  job_id last_id = 0;
  runtime_stats counters;

  /// Writes made since the last flush, with what to do once each is durable
  /// (nothing, for a background write). They go to the writer together, in
  /// one message, once the messages now in the mailbox are handled.
  storage::write_batch outbox;
  std::vector<std::size_t> outbox_ends; ///< where each write ends in `outbox`
  std::vector<std::function<void(result<void>)>> outbox_then;
  bool flush_queued = false;
  /// Set while a handler runs that commits its writes itself when it returns
  /// (see `committing_on_return`); no flush message is needed then.
  bool commit_on_return = false;

  bool stopping = false;
  std::size_t actors_to_stop = 0;
  proto::reply<void> stop_reply;

  static inline const char* name = "jobrt.scheduler";
};

using scheduler_actor = caf::stateful_actor<scheduler_state>;

// -- small helpers ------------------------------------------------------------------

millis now(scheduler_actor* self) {
  return self->state.env->clock->now();
}

void enqueue(scheduler_actor* self, entry& e) {
  if (!e.in_queue) {
    e.in_queue = true;
    self->state.queue.push(e.id, e.priority);
  }
}

void dequeue(scheduler_actor* self, entry& e) {
  if (e.in_queue) {
    e.in_queue = false;
    self->state.queue.erase(e.id, e.priority);
  }
}

/// Every change of an entry's status goes through here: the edge `kind` must be
/// in the table from the entry's status (the record's moves are checked the
/// same way, in actors/lifecycle.hpp). Keeps the per-status counts.
result<void> move_entry(scheduler_actor* self, entry& e, job_event_kind kind) {
  if (auto ok = lifecycle::check(e.status, kind); !ok)
    return ok;
  auto to = lifecycle::target_of(kind);
  auto& counts = self->state.by_status;
  --counts[static_cast<std::size_t>(e.status)];
  ++counts[static_cast<std::size_t>(to)];
  e.status = to;
  return {};
}

/// A refused move inside the scheduler is a bug, not bad input: it is logged
/// and counted (`runtime_stats::refused_transitions`), and the job stays where
/// it was.
bool moved(scheduler_actor* self, job_id id, const result<void>& r) {
  if (!r) {
    log_line("job " + std::to_string(id) + ": " + r.error().message);
    ++self->state.counters.refused_transitions;
  }
  return r.ok();
}

/// Takes a new entry into `jobs`, counted under its status.
entry& add_job(scheduler_actor* self, entry e) {
  ++self->state.by_status[static_cast<std::size_t>(e.status)];
  auto id = e.id;
  return self->state.jobs.insert_or_assign(id, std::move(e)).first->second;
}

std::uint16_t intern_type(scheduler_actor* self, const std::string& name) {
  auto& st = self->state;
  auto i = st.type_index.find(name);
  if (i != st.type_index.end())
    return i->second;
  type_slot slot;
  slot.name = name;
  if (auto info = st.env->types->find(name)) {
    slot.options = info->options;
    slot.cap = info->options.max_running;
    auto add_limit = [&](const resource_limit& l) {
      auto same = std::find_if(st.limits.begin(), st.limits.end(),
                               [&](const resource_limit& x) { return x.name == l.name; });
      auto idx = static_cast<std::uint16_t>(same - st.limits.begin());
      if (same == st.limits.end())
        st.limits.push_back(l);
      slot.limits.push_back(idx);
      slot.keys_from_params = slot.keys_from_params || l.key.rfind("params.", 0) == 0;
    };
    for (const auto& own : info->options.limits) {
      auto l = own;
      l.name = name + "/" + own.name; // a type's own limit is not shared
      add_limit(l);
    }
    for (const auto& used : info->options.uses) {
      const auto& shared = st.env->opts.resources;
      auto r = std::find_if(shared.begin(), shared.end(),
                            [&](const resource_limit& x) { return x.name == used; });
      if (r != shared.end())
        add_limit(*r);
      else
        log_line("job type '" + name + "' uses unknown resource '" + used + "'");
    }
  }
  if (auto o = st.env->opts.max_running_per_type.find(name);
      o != st.env->opts.max_running_per_type.end())
    slot.cap = o->second;
  auto idx = static_cast<std::uint16_t>(st.types.size());
  st.types.push_back(std::move(slot));
  st.type_index.emplace(name, idx);
  return idx;
}

/// The key under which a job counts against limit `l`.
std::string limit_key(const resource_limit& l, const std::string& owner,
                      const boost::json::value& params) {
  if (l.key == "owner")
    return owner;
  if (l.key.rfind("params.", 0) == 0 && params.is_object()) {
    auto* v = params.get_object().if_contains(l.key.substr(7));
    if (v == nullptr)
      return {};
    return v->is_string() ? std::string{v->get_string()} : boost::json::serialize(*v);
  }
  return {};
}

void set_limit_keys(scheduler_actor* self, entry& e, const boost::json::value& params) {
  const auto& slot = self->state.types[e.type];
  e.limit_keys.clear();
  for (auto li : slot.limits)
    e.limit_keys.push_back(limit_key(self->state.limits[li], e.owner, params));
}

template <class T>
void answer(const proto::reply<T>& rp, result<T> r) {
  if (rp)
    rp->set_value(std::move(r));
}

void answer_ok(const proto::reply<void>& rp) {
  if (rp)
    rp->set_value(result<void>{});
}

void answer_all(std::vector<proto::reply<void>>& waiters, const result<void>& r) {
  for (auto& w : waiters)
    if (w)
      w->set_value(r);
  waiters.clear();
}

bool anyone_listens(scheduler_actor* self) {
  return self->state.env->subscribers->load() > 0;
}

/// Tells subscribers that job `e` is now durably `written`. Called from the
/// callback of the write that made it so: the entry may have moved on since,
/// and subscribers still hear every status in the order it was written.
void publish_status(scheduler_actor* self, const entry& e, job_status written,
                    const std::string& error = {}, const progress* last = nullptr) {
  if (!anyone_listens(self))
    return;
  job_event ev;
  ev.what = job_event::kind::status;
  ev.id = e.id;
  ev.type = self->state.types[e.type].name;
  ev.owner = e.owner;
  ev.status = written;
  if (last)
    ev.progress = *last; // the written record's: a queued or waiting job keeps its progress
  else if (e.record)
    ev.progress = e.record->progress;
  ev.error = error;
  ev.at = now(self);
  self->send(self->state.env->events, proto::publish_atom::value, std::move(ev));
}

void release_slot(scheduler_actor* self, entry& e) {
  if (!e.holds_slot)
    return;
  auto& st = self->state;
  e.holds_slot = false;
  --st.running;
  auto& slot = st.types[e.type];
  --slot.running;
  for (std::size_t i = 0; i < slot.limits.size() && i < e.limit_keys.size(); ++i) {
    auto l = st.limiters.find({slot.limits[i], e.limit_keys[i]});
    if (l != st.limiters.end() && l->second.running > 0)
      --l->second.running;
  }
}

/// Counts a start against every limit of the job's type.
void take_slot(scheduler_actor* self, entry& e) {
  auto& st = self->state;
  e.holds_slot = true;
  ++st.running;
  auto& slot = st.types[e.type];
  ++slot.running;
  auto t = now(self);
  for (std::size_t i = 0; i < slot.limits.size() && i < e.limit_keys.size(); ++i) {
    auto& l = st.limiters[{slot.limits[i], e.limit_keys[i]}];
    ++l.running;
    if (st.limits[slot.limits[i]].starts > 0)
      l.recent_starts.push_back(t);
  }
}

/// One monitored actor fewer to wait for. During shutdown, the last one gone
/// lets the stop finish.
void actor_gone(scheduler_actor* self) {
  auto& st = self->state;
  if (st.stopping && st.actors_to_stop > 0 && --st.actors_to_stop == 0)
    self->send(self, proto::stop_atom::value, proto::reply<void>{});
}

/// Drops the job's actor: it is gone, killed, or quits on its own.
void forget_actor(scheduler_actor* self, entry& e) {
  if (!e.actor)
    return;
  self->state.by_actor.erase(e.actor.address());
  self->demonitor(e.actor);
  e.actor = nullptr;
  actor_gone(self);
}

/// Takes the actor of a job that ended back into the idle pool, to run a later
/// job; past the pool's bound it is told to stop instead.
void return_actor(scheduler_actor* self, entry& e) {
  auto& st = self->state;
  auto& pool = st.idle_actors[st.types[e.type].options.blocking ? 1 : 0];
  if (st.stopping || pool.size() >= st.env->opts.max_running) {
    self->send<caf::message_priority::high>(e.actor, proto::stop_atom::value);
    forget_actor(self, e);
    return;
  }
  st.by_actor[e.actor.address()] = 0;
  pool.push_back(std::move(e.actor));
  e.actor = nullptr;
}

/// An idle actor for a job of `type`, or none.
caf::actor take_idle_actor(scheduler_actor* self, std::uint16_t type, job_id id) {
  auto& st = self->state;
  auto& pool = st.idle_actors[st.types[type].options.blocking ? 1 : 0];
  if (pool.empty())
    return nullptr;
  auto a = std::move(pool.back());
  pool.pop_back();
  st.by_actor[a.address()] = id;
  return a;
}

/// The job's full record: the one it holds (taken out of the entry), else read
/// from the store.
result<shared_record> take_record(scheduler_actor* self, entry& e) {
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

/// Runs the callbacks of a flushed outbox with the outcome of each write.
void answer_writes(std::vector<std::function<void(result<void>)>>& then,
                   const std::vector<result<void>>& results) {
  for (std::size_t i = 0; i < then.size(); ++i) {
    if (then[i])
      then[i](results[i]);
    else if (!results[i])
      log_line("background write failed: " + results[i].error().message);
  }
}

/// Sends the outbox to the writer (see `scheduler_state::outbox`), or commits it
/// here if the store takes commits on the caller's thread.
void flush_outbox(scheduler_actor* self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.outbox_ends.empty())
    return;
  if (st.env->store->commits_inline()) {
    // Nothing to wait for: commit here, and keep the outbox's buffers.
    std::vector<std::function<void(result<void>)>> then;
    then.swap(st.outbox_then);
    auto results = storage::commit_segments(*st.env->store, st.outbox, st.outbox_ends);
    st.outbox.clear();
    st.outbox_ends.clear();
    answer_writes(then, results);
    return;
  }
  auto n = st.outbox_ends.size();
  auto batch = std::move(st.outbox);
  auto ends = std::move(st.outbox_ends);
  // Shared by both handlers, and let go of once one of them ran: what the
  // callbacks capture (records, among others) lives no longer than that.
  auto then = std::make_shared<std::vector<std::function<void(result<void>)>>>(
    std::move(st.outbox_then));
  st.outbox = storage::write_batch{};
  st.outbox_ends.clear();
  st.outbox_then.clear();
  auto answer_all = [then](const std::vector<result<void>>& results) {
    auto callbacks = std::move(*then);
    then->clear();
    answer_writes(callbacks, results);
  };
  self->request(st.env->persistence, caf::infinite, proto::write_atom::value, std::move(batch),
                std::move(ends))
    .then(
      [=](const std::vector<proto::write_ack>& acks) {
        std::vector<result<void>> results;
        results.reserve(n);
        for (const auto& a : acks)
          results.push_back(a.failure ? result<void>{*a.failure} : result<void>{});
        results.resize(n);
        answer_all(results);
      },
      [=](caf::error& err) {
        error e{errc::storage_error, self->system().render(err)};
        answer_all(std::vector<result<void>>(n, result<void>{e}));
      });
}

/// Ends a write made of the ops added to the outbox since the last one; the
/// outbox goes to the writer once the messages now in the mailbox are handled.
void end_write(scheduler_actor* self, std::function<void(result<void>)> then) {
  auto& st = self->state;
  st.outbox_ends.push_back(st.outbox.size());
  st.outbox_then.push_back(std::move(then));
  if (!st.flush_queued && !st.commit_on_return) {
    st.flush_queued = true;
    self->send(self, proto::flush_atom::value);
  }
}

/// Runs the handler body `fn`. With a store that commits on the caller's thread,
/// the writes `fn` made (and those their callbacks make) are committed as it
/// returns: a flush message would cost as much as the commit, once per job.
/// With a writer actor the flush message stays, so that the writes of the
/// messages waiting in the mailbox travel together.
template <class F>
void committing_on_return(scheduler_actor* self, F fn) {
  auto& st = self->state;
  if (!st.env->store->commits_inline()) {
    fn();
    return;
  }
  st.commit_on_return = true;
  fn();
  while (!st.outbox_ends.empty())
    flush_outbox(self);
  st.commit_on_return = false;
}

/// Writes `batch` and, once it is durable, runs `then` (if any) with the
/// outcome. Writes reach the store in the order they are made, and each stands
/// on its own: one that is refused fails no other.
void persist_batch(scheduler_actor* self, storage::write_batch batch,
                   std::function<void(result<void>)> then) {
  self->state.outbox.append(std::move(batch));
  end_write(self, std::move(then));
}

/// Writes `rec` over a stored record of status `replaces` and, once it is
/// durable, runs `then` (if any) with the outcome. The store refuses the write
/// if the record it holds has another status.
void persist(scheduler_actor* self, std::shared_ptr<const job_record> rec, job_status replaces,
             std::function<void(result<void>)> then) {
  self->state.outbox.put_record(std::move(rec), replaces); // straight in: twice per job
  end_write(self, std::move(then));
}

/// Drops a finished job from memory once its final record is durable.
void forget_job(scheduler_actor* self, job_id id) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end())
    return;
  dequeue(self, i->second);
  --self->state.by_status[static_cast<std::size_t>(i->second.status)];
  self->state.jobs.erase(i);
}

void arm_timer(scheduler_actor* self, entry& e, millis at) {
  auto generation = ++e.timer_generation;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  auto id = e.id;
  self->state.env->clock->call_at(at, [me, id, generation] {
    caf::anon_send(me, proto::wake_atom::value, id, generation);
  });
}

void try_start(scheduler_actor* self);

/// Gives the callers waiting for the job to finish its final record, now
/// durable (or the reason it could not be written).
void answer_finish_waiters(scheduler_actor* self, entry& e, const result<void>& written) {
  if (e.finish_waiters.empty())
    return;
  auto final = !written ? result<job_record>{written.error()}
               : e.record && is_finished(e.record->status) ? result<job_record>{*e.record}
                                                           : self->state.env->store->get(e.id);
  for (auto& w : e.finish_waiters)
    answer<job_record>(w, final);
  e.finish_waiters.clear();
}

// -- status changes -------------------------------------------------------------------
//
// Every status change moves the entry with `move_entry` and its record with a
// function of actors/lifecycle.hpp, both checked against the one table, and
// writes the record expecting the status it replaces. Subscribers hear of a
// change, and callers are answered, once it is durable.

/// Moves a job without an actor (queued, waiting, paused) along the edge `kind`:
/// `change` moves its record (a lifecycle function). Once the change is durable,
/// subscribers hear of it (with the job's last progress) and `done` runs. The
/// entry's status and queue membership change at once.
template <class Change, class Done>
void move_idle_job(scheduler_actor* self, entry& e, job_event_kind kind, Change change,
                   Done done) {
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
  if (e.status == job_status::queued)
    dequeue(self, e);
  ++e.timer_generation; // any pending timer is stale now
  moved(self, e.id, move_entry(self, e, kind)); // checked above
  e.waits_for_signal = false;
  if (e.status == job_status::queued)
    enqueue(self, e);
  // An idle job holds its record only while queued (or while it keeps an actor).
  if (held && (e.actor || e.status == job_status::queued))
    e.record = rec.twin();
  auto written = rec.share();
  persist(self, written, replaces, [self, written, done = std::move(done)](result<void> r) mutable {
    if (auto j = self->state.jobs.find(written->id); r && j != self->state.jobs.end())
      publish_status(self, j->second, written->status, {}, &written->progress);
    done(r);
  });
}

/// Ends a job with its final record (moved there from `replaces` by a lifecycle
/// function). Subscribers hear of it, and waiters get the record, once it is
/// durable; then the entry goes.
void finish_job(scheduler_actor* self, entry& e, job_event_kind kind, shared_record rec,
                job_status replaces) {
  auto id = e.id;
  if (!moved(self, id, move_entry(self, e, kind)))
    return;
  auto to = e.status;
  e.record = rec.twin();
  auto& counters = self->state.counters;
  if (to == job_status::completed)
    ++counters.completed;
  else if (to == job_status::failed)
    ++counters.failed;
  // Captures no more than fits in std::function without a heap allocation:
  // this runs for every job.
  persist(self, rec.share(), replaces, [self, id](result<void> r) {
    auto i = self->state.jobs.find(id);
    if (i == self->state.jobs.end())
      return;
    auto& job = i->second;
    auto to = job.status;
    if (!r)
      log_line("job " + std::to_string(id) + ": final status could not be saved: "
               + r.error().message);
    bool failed = to == job_status::failed && job.record;
    publish_status(self, job, to, failed ? job.record->error : std::string{});
    // A pause or cancel that was waiting for the run to reach a step boundary
    // learns how it ended instead.
    if (!job.pause_waiters.empty())
      answer_all(job.pause_waiters, check_transition(to, job_status::paused));
    if (!job.cancel_waiters.empty())
      answer_all(job.cancel_waiters, to == job_status::cancelled
                                       ? result<void>{}
                                       : check_transition(to, job_status::cancelled));
    answer_finish_waiters(self, job, r);
    forget_job(self, id);
  });
}

void on_pause(scheduler_actor* self, job_id id, proto::reply<void> rp);
void on_cancel(scheduler_actor* self, job_id id, proto::reply<void> rp);

/// Parks a job whose run ended in a rate limit or a transient error until
/// `wake_at`. A pause or cancel asked for while it ran applies to it then.
void to_waiting(scheduler_actor* self, entry& e, shared_record rec, millis wake_at,
                lifecycle::wait_reason why) {
  auto id = e.id;
  auto& r = rec.edit();
  const auto replaces = r.status;
  if (!moved(self, id, lifecycle::wait(r, wake_at, why)) || !moved(self, id, move_entry(self, e, job_event_kind::wait)))
    return;
  e.waits_for_signal = why == lifecycle::wait_reason::signal;
  arm_timer(self, e, wake_at);
  auto written = rec.share();
  persist(self, written, replaces, [=](result<void> r) {
    auto j = self->state.jobs.find(id);
    if (j == self->state.jobs.end())
      return;
    if (!r)
      log_line("job " + std::to_string(id) + ": waiting status could not be saved: "
               + r.error().message);
    publish_status(self, j->second, job_status::waiting, {}, &written->progress);
    auto cancels = std::move(j->second.cancel_waiters);
    auto pauses = std::move(j->second.pause_waiters);
    j->second.cancel_waiters.clear();
    j->second.pause_waiters.clear();
    for (auto& rp : cancels)
      on_cancel(self, id, rp);
    for (auto& rp : pauses)
      on_pause(self, id, rp);
  });
}

/// Applies how a run ended. The job's actor is gone (or never started).
///
/// An ending that the table does not allow from the job's status (a run that
/// ends while the job is paused, say) is not applied: the job keeps its status,
/// and a resume starts it again from its checkpoint. The job actor holds such
/// endings itself (see `settle` in job_actor.cpp); this is the guard behind it.
void apply_outcome(scheduler_actor* self, entry& e, proto::job_outcome& o) {
  release_slot(self, e);
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
      if (size > self->state.env->opts.max_payload_bytes) {
        fail("output is " + std::to_string(size) + " bytes, over the limit of "
             + std::to_string(self->state.env->opts.max_payload_bytes));
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
        const auto& opts = self->state.types[e.type].options;
        std::uniform_real_distribution<double> unit{0.0, 1.0};
        auto delay = backoff_delay(r.attempts, opts.backoff_base_ms, opts.backoff_max_ms,
                                   unit(self->state.rng));
        to_waiting(self, e, std::move(rec), saturating_add(t, delay), lifecycle::wait_reason::retry);
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
  }
  try_start(self);
}

void on_done(scheduler_actor* self, job_id id, proto::job_outcome& o, bool reusable) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end() || !i->second.actor)
    return;
  if (reusable)
    return_actor(self, i->second);
  else
    forget_actor(self, i->second);
  apply_outcome(self, i->second, o);
}

/// Publishes `running` once the record that says so is durable (what a
/// subscriber hears, a crash cannot take back), if the run is still on.
std::function<void(result<void>)> publish_running(scheduler_actor* self, job_id id,
                                                  std::uint64_t run) {
  return [self, id, run](result<void> r) {
    auto i = self->state.jobs.find(id);
    if (!r) {
      log_line("job " + std::to_string(id) + ": running status could not be saved: "
               + r.error().message);
      return;
    }
    if (i != self->state.jobs.end() && i->second.run == run)
      publish_status(self, i->second, job_status::running);
  };
}

/// Starts one queued job: a new actor from its checkpoint, or the actor it kept
/// while paused.
void start(scheduler_actor* self, entry& e) {
  auto& st = self->state;
  auto& slot = st.types[e.type];
  if (e.actor) {
    // The run that paused goes on: no new attempt.
    auto& r = e.record.edit();
    const auto replaces = r.status;
    if (!moved(self, e.id, lifecycle::resume_run(r)) || !moved(self, e.id, move_entry(self, e, job_event_kind::start)))
      return;
    take_slot(self, e);
    // Normal priority on purpose: CAF re-examines skipped messages of a mailbox
    // queue only when it consumes a message of that same queue, and the skipped
    // steps sit in the normal queue.
    self->send(e.actor, proto::resume_atom::value, e.id);
    persist(self, e.record.share(), replaces, publish_running(self, e.id, e.run));
    return;
  }
  // A held record is one that never started, so it has no checkpoint to read.
  const bool fresh = static_cast<bool>(e.record);
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
  if (!moved(self, e.id, lifecycle::start(r, now(self))) || !moved(self, e.id, move_entry(self, e, job_event_kind::start))) {
    e.record = std::move(rec);
    return;
  }
  ++e.run;
  // The store's status index then lists the job as running, and after a crash
  // `attempts` counts the run it cut short.
  persist(self, rec.share(), replaces, publish_running(self, e.id, e.run));
  proto::job_start js;
  js.id = e.id;
  js.record = rec.share();
  js.attempt = rec->attempts;
  js.signals = std::move(signals);
  if (cp && *cp)
    js.restored = std::move(**cp);
  e.record = std::move(rec);
  take_slot(self, e);
  if (!cp) {
    // The checkpoint is unreadable: running from scratch could repeat side
    // effects, so the job fails with the reason instead.
    proto::job_outcome o;
    o.what = proto::job_outcome::kind::failed;
    o.error = cp.error().message;
    apply_outcome(self, e, o);
    return;
  }
  if (auto idle = take_idle_actor(self, e.type, e.id)) {
    e.actor = std::move(idle);
    self->send(e.actor, proto::run_atom::value, std::move(js));
  } else {
    e.actor = spawn_job_actor(self, st.env, std::move(js), slot.options.blocking);
    st.by_actor.emplace(e.actor.address(), e.id);
  }
  if (e.record->timeout_ms > 0) {
    caf::actor me = caf::actor_cast<caf::actor>(self);
    auto id = e.id;
    auto run = e.run;
    st.env->clock->call_at(saturating_add(now(self), e.record->timeout_ms), [me, id, run] {
      caf::anon_send(me, proto::timeout_atom::value, id, run);
    });
  }
}

/// A run past its deadline is stopped (its actor killed) and counts as a
/// transient error, so it is retried while it has attempts left.
void on_timeout(scheduler_actor* self, job_id id, std::uint64_t run) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end())
    return;
  auto& e = i->second;
  if (e.run != run || e.status != job_status::running || !e.actor || !e.record)
    return; // finished, paused or started again since
  self->send_exit(e.actor, caf::exit_reason::kill);
  forget_actor(self, e);
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.transient = true;
  o.error = "timed out after " + std::to_string(e.record->timeout_ms) + " ms";
  o.last_progress = e.record->progress;
  apply_outcome(self, e, o);
}

/// Whether the job's type and declared limits allow it to start now. A rate
/// limit that holds it back notes when it frees up, for a recheck timer.
bool startable(scheduler_actor* self, const entry& e, millis& free_at) {
  auto& st = self->state;
  const auto& slot = st.types[e.type];
  if (slot.paused || (slot.cap != 0 && slot.running >= slot.cap))
    return false;
  auto t = now(self);
  for (std::size_t i = 0; i < slot.limits.size() && i < e.limit_keys.size(); ++i) {
    const auto& l = st.limits[slot.limits[i]];
    auto found = st.limiters.find({slot.limits[i], e.limit_keys[i]});
    if (found == st.limiters.end())
      continue;
    auto& use = found->second;
    if (l.max_running > 0 && use.running >= l.max_running)
      return false;
    if (l.starts > 0 && l.per_ms > 0) {
      while (!use.recent_starts.empty() && saturating_add(use.recent_starts.front(), l.per_ms) <= t)
        use.recent_starts.pop_front();
      if (use.recent_starts.size() >= l.starts) {
        auto at = saturating_add(use.recent_starts.front(), l.per_ms);
        free_at = free_at == 0 ? at : std::min(free_at, at);
        return false;
      }
    }
  }
  return true;
}

/// The next job to start, or 0. Priority first, then submission order; but
/// every `fairness_every`-th start takes the oldest queued job whatever its
/// priority, so a stream of high-priority jobs cannot starve a low one forever.
job_id pick_next(scheduler_actor* self, millis& free_at) {
  auto& st = self->state;
  auto is_queued = [&st](job_id id) {
    auto i = st.jobs.find(id);
    return i != st.jobs.end() && i->second.in_queue;
  };
  auto can_start = [&](job_id id) { return startable(self, st.jobs.at(id), free_at); };
  auto every = st.env->opts.fairness_every;
  if (every > 0 && (st.starts + 1) % every == 0)
    if (auto id = st.queue.find_oldest(is_queued, can_start))
      return id;
  return st.queue.find(is_queued, can_start);
}

/// Arms one timer for the moment a rate limit frees up.
void arm_recheck(scheduler_actor* self, millis at) {
  auto& st = self->state;
  if (at == 0 || (st.recheck_at != 0 && st.recheck_at <= at))
    return;
  st.recheck_at = at;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.env->clock->call_at(at, [me] { caf::anon_send(me, proto::recheck_atom::value); });
}

/// Starts queued jobs while slots are free. A job whose type is at its cap is
/// skipped, so it does not hold back jobs of other types behind it.
void try_start(scheduler_actor* self) {
  auto& st = self->state;
  while (!st.stopping && st.running < st.env->opts.max_running && !st.queue.empty()) {
    millis free_at = 0;
    auto id = pick_next(self, free_at);
    if (id == 0) {
      arm_recheck(self, free_at);
      return;
    }
    auto& e = st.jobs.at(id);
    dequeue(self, e);
    ++st.starts;
    start(self, e);
  }
}

// -- requests from the facade -----------------------------------------------------

error no_such_job(job_id id) {
  return error{errc::not_found, "no job with id " + std::to_string(id)};
}

/// For a job the scheduler no longer holds: the stored status, for the error.
result<void> refuse_finished(scheduler_actor* self, job_id id, job_status to) {
  auto rec = self->state.env->store->get(id);
  if (!rec)
    return rec.error().code == errc::not_found ? no_such_job(id) : rec.error();
  return check_transition(rec->status, to);
}

/// Answers a submit whose idempotency key is already taken by the same owner
/// with the id of the job that holds it. Returns false if the key is free.
bool answer_existing_key(scheduler_actor* self, const std::pair<std::string, std::string>& key,
                         const proto::reply<job_id>& rp) {
  auto& st = self->state;
  if (auto p = st.pending_keys.find(key); p != st.pending_keys.end()) {
    st.key_waiters[p->second].push_back(rp); // answered when the first submit is durable
    return true;
  }
  auto found = st.env->store->find_unique_key(key.first, key.second);
  if (!found) {
    answer<job_id>(rp, found.error());
    return true;
  }
  if (*found && st.env->store->get(**found)) {
    answer<job_id>(rp, **found);
    return true;
  }
  return false; // free, or held by a job that no longer exists
}

/// A new job's record, with the type's defaults applied.
std::shared_ptr<const job_record> new_record(scheduler_actor* self, std::uint16_t type_index,
                                             const std::string& type, boost::json::value params,
                                             const submit_options& opts) {
  auto& st = self->state;
  const auto& defaults = st.types[type_index].options;
  auto made = std::make_shared<job_record>();
  auto& rec = *made;
  rec.id = ++st.last_id;
  rec.type = type;
  rec.params = std::move(params);
  rec.owner = opts.owner;
  rec.priority = opts.priority;
  rec.created_at = now(self);
  rec.max_attempts = std::max<std::uint32_t>(
    1, opts.max_attempts != 0 ? opts.max_attempts : defaults.max_attempts);
  rec.timeout_ms = opts.timeout_ms != 0 ? opts.timeout_ms : defaults.timeout_ms;
  rec.idempotency_key = opts.idempotency_key;
  if (opts.run_at > rec.created_at)
    moved(self, rec.id, lifecycle::wait(rec, opts.run_at, lifecycle::wait_reason::scheduled));
  return made;
}

/// At most this many queued jobs keep their submitted record in memory (see
/// `entry::record`); the others are read from the store when they start. The
/// bound keeps memory per queued job small when millions are queued.
constexpr std::size_t max_held_records = 256;

/// What the scheduler keeps of a job whose submit is being committed.
struct admission {
  job_id id;
  job_status status;
  millis wake_at;
  std::shared_ptr<const job_record> record; ///< held from submit to the first start, if room
};

admission admission_of(const std::shared_ptr<const job_record>& rec) {
  return {rec->id, rec->status, rec->wake_at, rec};
}

/// Takes a durable job into the scheduler: queued, or waiting for its start time.
void admit(scheduler_actor* self, std::uint16_t type_index, const submit_options& opts,
           const admission& a) {
  auto& st = self->state;
  entry e;
  e.id = a.id;
  e.type = type_index;
  e.owner = opts.owner;
  e.priority = opts.priority;
  e.status = a.status;
  set_limit_keys(self, e, a.record->params);
  // A store that keeps its records in memory shares them: holding one costs a
  // pointer there, and saves reading it back at the start.
  if (a.status == job_status::queued
      && (st.queue.size() < max_held_records || st.env->store->commits_inline()))
    e.record = shared_record::frozen(a.record);
  auto& stored = add_job(self, std::move(e));
  if (a.status == job_status::waiting)
    arm_timer(self, stored, a.wake_at);
  else
    enqueue(self, stored);
  ++st.counters.submitted;
  publish_status(self, stored, a.status);
}

void on_submit(scheduler_actor* self, proto::submit_request& req, proto::reply<job_id> rp) {
  auto& st = self->state;
  if (st.stopping) {
    answer<job_id>(rp, error{errc::shutting_down, "the runtime is shutting down"});
    return;
  }
  const bool keyed = !req.options.idempotency_key.empty();
  const auto key = std::make_pair(req.options.owner, req.options.idempotency_key);
  if (keyed && answer_existing_key(self, key, rp))
    return;
  auto type_index = intern_type(self, req.type);
  auto rec = new_record(self, type_index, req.type, std::move(req.params), req.options);
  storage::write_batch batch;
  batch.put_record(rec);
  if (keyed) {
    batch.put_unique_key(key.first, key.second, rec->id);
    st.pending_keys.emplace(key, rec->id);
  }
  auto a = admission_of(rec);
  auto opts = std::move(req.options);
  persist_batch(self, std::move(batch), [=](result<void> r) {
    auto& st = self->state;
    std::vector<proto::reply<job_id>> waiters{rp};
    if (keyed) {
      st.pending_keys.erase(key);
      auto w = st.key_waiters.find(a.id);
      if (w != st.key_waiters.end()) {
        waiters.insert(waiters.end(), w->second.begin(), w->second.end());
        st.key_waiters.erase(w);
      }
    }
    if (r)
      admit(self, type_index, opts, a);
    for (auto& w : waiters)
      answer<job_id>(w, r ? result<job_id>{a.id} : result<job_id>{r.error()});
    if (r)
      try_start(self);
  });
}

/// Many jobs of one type in one transaction: acknowledged together.
void on_submit_many(scheduler_actor* self, proto::bulk_submit_request& req,
                    proto::reply<std::vector<job_id>> rp) {
  auto& st = self->state;
  if (st.stopping) {
    answer<std::vector<job_id>>(rp, error{errc::shutting_down, "the runtime is shutting down"});
    return;
  }
  auto type_index = intern_type(self, req.type);
  storage::write_batch batch;
  std::vector<admission> admissions;
  admissions.reserve(req.params.size());
  for (auto& p : req.params) {
    auto rec = new_record(self, type_index, req.type, std::move(p), req.options);
    batch.put_record(rec);
    admissions.push_back(admission_of(rec));
  }
  auto opts = std::move(req.options);
  persist_batch(self, std::move(batch), [=](result<void> r) {
    if (!r) {
      answer<std::vector<job_id>>(rp, r.error());
      return;
    }
    std::vector<job_id> ids;
    ids.reserve(admissions.size());
    for (const auto& a : admissions) {
      admit(self, type_index, opts, a);
      ids.push_back(a.id);
    }
    answer<std::vector<job_id>>(rp, std::move(ids));
    try_start(self);
  });
}

void on_pause(scheduler_actor* self, job_id id, proto::reply<void> rp) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end()) {
    answer<void>(rp, refuse_finished(self, id, job_status::paused));
    return;
  }
  auto& e = i->second;
  if (auto ok = check_transition(e.status, job_status::paused); !ok) {
    answer<void>(rp, ok);
    return;
  }
  if (e.status == job_status::running) {
    // The actor pauses between two steps and answers with paused_atom. Normal
    // priority, like resume: a high-priority pause could overtake the resume
    // that restarted a kept actor, which would then answer "paused" and run on.
    // Behind it in the mailbox is at most the one step the actor queued itself.
    e.pause_waiters.push_back(rp);
    if (e.pause_waiters.size() == 1)
      self->send(e.actor, proto::pause_atom::value, e.id);
    return;
  }
  move_idle_job(self, e, job_event_kind::pause, [](job_record& r) { return lifecycle::pause(r); },
                [=](result<void> r) { answer<void>(rp, r); });
}

void on_paused(scheduler_actor* self, job_id id) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end() || i->second.status != job_status::running)
    return;
  auto& e = i->second;
  auto& rec = e.record.edit(); // a running job holds its record
  const auto replaces = rec.status;
  if (!moved(self, id, lifecycle::pause(rec)) || !moved(self, id, move_entry(self, e, job_event_kind::pause)))
    return;
  release_slot(self, e);
  {
    persist(self, e.record.share(), replaces, [=](result<void> r) {
      auto j = self->state.jobs.find(id);
      if (j == self->state.jobs.end())
        return;
      if (r)
        publish_status(self, j->second, job_status::paused);
      answer_all(j->second.pause_waiters, r);
    });
  }
  try_start(self);
}

void on_resume(scheduler_actor* self, job_id id, proto::reply<void> rp) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end()) {
    answer<void>(rp, refuse_finished(self, id, job_status::queued));
    return;
  }
  auto& e = i->second;
  if (e.status != job_status::paused) {
    answer<void>(rp, error{errc::illegal_transition, std::string{"cannot resume a "}
                                                       + to_string(e.status)
                                                       + " job (only paused jobs resume)"});
    return;
  }
  move_idle_job(self, e, job_event_kind::resume, [](job_record& r) { return lifecycle::resume(r); },
                [=](result<void> r) {
                  answer<void>(rp, r);
                  try_start(self);
                });
}

void on_cancel(scheduler_actor* self, job_id id, proto::reply<void> rp) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end()) {
    answer<void>(rp, refuse_finished(self, id, job_status::cancelled));
    return;
  }
  auto& e = i->second;
  if (auto ok = check_transition(e.status, job_status::cancelled); !ok) {
    answer<void>(rp, ok);
    return;
  }
  if (e.actor) {
    // Running, or paused with its actor: it stops at its next step boundary.
    if (e.status == job_status::queued) {
      // Resumed but not started yet: held back again, until its actor ends it.
      dequeue(self, e);
      moved(self, id, move_entry(self, e, job_event_kind::pause));
    }
    e.cancel_waiters.push_back(rp);
    if (e.cancel_waiters.size() == 1)
      self->send(e.actor, proto::cancel_atom::value, e.id); // normal priority: see on_pause
    return;
  }
  auto t = now(self);
  move_idle_job(self, e, job_event_kind::cancel,
                [t](job_record& r) { return lifecycle::cancel(r, t); },
                [=](result<void> r) {
                  auto j = self->state.jobs.find(id);
                  if (j != self->state.jobs.end()) {
                    answer_finish_waiters(self, j->second, r);
                    forget_job(self, id);
                  }
                  answer<void>(rp, r);
                });
}

void on_retry(scheduler_actor* self, job_id id, proto::reply<void> rp) {
  auto& st = self->state;
  if (auto i = st.jobs.find(id); i != st.jobs.end()) {
    answer<void>(rp, error{errc::illegal_transition, std::string{"cannot retry a "}
                                                       + to_string(i->second.status)
                                                       + " job (only failed jobs retry)"});
    return;
  }
  auto rec = st.env->store->get(id);
  if (!rec) {
    answer<void>(rp, rec.error().code == errc::not_found ? no_such_job(id) : rec.error());
    return;
  }
  if (rec->status != job_status::failed) {
    answer<void>(rp, error{errc::illegal_transition, std::string{"cannot retry a "}
                                                       + to_string(rec->status)
                                                       + " job (only failed jobs retry)"});
    return;
  }
  if (auto ok = lifecycle::retry(*rec); !ok) {
    answer<void>(rp, ok);
    return;
  }
  entry e;
  e.id = id;
  e.type = intern_type(self, rec->type);
  e.owner = rec->owner;
  e.priority = rec->priority;
  e.status = job_status::queued;
  e.may_have_signals = true; // sent before it failed, and never taken
  set_limit_keys(self, e, rec->params);
  add_job(self, std::move(e));
  persist(self, std::make_shared<const job_record>(std::move(*rec)), job_status::failed,
          [=](result<void> r) {
    auto j = self->state.jobs.find(id);
    if (j == self->state.jobs.end()) {
      answer<void>(rp, r);
      return;
    }
    if (!r) {
      forget_job(self, id);
      answer<void>(rp, r);
      return;
    }
    publish_status(self, j->second, job_status::queued);
    if (j->second.status == job_status::queued) {
      enqueue(self, j->second);
    }
    answer<void>(rp, r);
    try_start(self);
  });
}

// -- administration -----------------------------------------------------------------

/// Adds the deletion of a finished job (record, checkpoint, idempotency key).
void add_erase(scheduler_actor* self, storage::write_batch& batch, job_id id) {
  batch.erase_job(id);
  if (auto rec = self->state.env->store->get(id); rec && !rec->idempotency_key.empty())
    batch.erase_unique_key(rec->owner, rec->idempotency_key);
}

void on_remove(scheduler_actor* self, job_id id, proto::reply<void> rp) {
  auto& st = self->state;
  if (auto i = st.jobs.find(id); i != st.jobs.end()) {
    answer<void>(rp, error{errc::illegal_transition, std::string{"cannot delete a "}
                                                       + to_string(i->second.status)
                                                       + " job; cancel it first"});
    return;
  }
  auto rec = st.env->store->get(id);
  if (!rec && rec.error().code == errc::not_found) {
    answer<void>(rp, no_such_job(id));
    return;
  }
  storage::write_batch batch;
  add_erase(self, batch, id);
  persist_batch(self, std::move(batch), [=](result<void> r) {
    if (r)
      ++self->state.counters.deleted;
    answer<void>(rp, r);
  });
}

/// Deletes finished jobs for which `expired(summary)` holds, at most `limit`,
/// and runs `then(count, result)` once the deletion is durable.
template <class Pred, class Then>
void erase_finished(scheduler_actor* self, Pred expired, std::size_t limit, Then then) {
  auto& st = self->state;
  std::vector<job_id> ids;
  auto r = st.env->store->for_each_finished([&](const storage::job_summary& s) {
    if (ids.size() < limit && st.jobs.count(s.id) == 0 && st.deleting.count(s.id) == 0
        && expired(s))
      ids.push_back(s.id);
  });
  if (!r)
    log_line("cannot list finished jobs: " + r.error().message);
  storage::write_batch batch;
  for (auto id : ids) {
    add_erase(self, batch, id);
    st.deleting.insert(id);
  }
  persist_batch(self, std::move(batch), [=](result<void> r) {
    for (auto id : ids)
      self->state.deleting.erase(id);
    if (r)
      self->state.counters.deleted += ids.size();
    then(ids.size(), r);
  });
}

void on_clear(scheduler_actor* self, job_status status, proto::reply<std::size_t> rp) {
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
      if (r)
        answer<std::size_t>(rp, n);
      else
        answer<std::size_t>(rp, r.error());
    });
}

void on_force_fail(scheduler_actor* self, job_id id, const std::string& reason,
                   proto::reply<void> rp) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end()) {
    answer<void>(rp, refuse_finished(self, id, job_status::failed));
    return;
  }
  auto& e = i->second;
  if (auto ok = check_transition(e.status, job_status::failed); !ok) {
    answer<void>(rp, ok);
    return;
  }
  if (!e.record) {
    auto rec = take_record(self, e);
    if (!rec) {
      answer<void>(rp, rec.error());
      return;
    }
    e.record = std::move(*rec);
  }
  if (e.status == job_status::queued)
    dequeue(self, e);
  ++e.timer_generation;
  if (e.actor) {
    self->send_exit(e.actor, caf::exit_reason::kill);
    forget_actor(self, e);
  }
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.error = reason;
  o.last_progress = e.record->progress;
  apply_outcome(self, e, o);
  // Writes commit in order: once this empty one is durable, so is the failure.
  persist_batch(self, storage::write_batch{}, [=](result<void> r) { answer<void>(rp, r); });
}

/// Stores which types are paused, so that a restart keeps them paused.
template <class Then>
void save_paused_types(scheduler_actor* self, Then then) {
  boost::json::array names;
  for (const auto& slot : self->state.types)
    if (slot.paused)
      names.emplace_back(slot.name);
  storage::write_batch batch;
  batch.put_setting("paused_types", boost::json::serialize(names));
  persist_batch(self, std::move(batch), std::move(then));
}

void on_pause_type(scheduler_actor* self, const std::string& type, bool with_running,
                   proto::reply<void> rp, bool pause) {
  auto& st = self->state;
  if (!st.env->types->find(type) && st.type_index.count(type) == 0) {
    answer<void>(rp, error{errc::unknown_job_type, "unknown job type '" + type + "'"});
    return;
  }
  auto idx = intern_type(self, type);
  st.types[idx].paused = pause;
  if (pause && with_running) {
    std::vector<job_id> running;
    for (const auto& kv : st.jobs)
      if (kv.second.type == idx && kv.second.status == job_status::running)
        running.push_back(kv.first);
    for (auto id : running)
      on_pause(self, id, nullptr);
  }
  save_paused_types(self, [=](result<void> r) {
    answer<void>(rp, r);
    try_start(self);
  });
}

void arm_sweep(scheduler_actor* self) {
  auto every = self->state.env->opts.retention_sweep_every.count();
  if (every <= 0)
    return;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  self->state.env->clock->call_at(saturating_add(now(self), every),
                                  [me] { caf::anon_send(me, proto::sweep_atom::value); });
}

/// Retention: deletes finished jobs (and their checkpoints) past their status's
/// retention period, a bounded number per sweep.
void on_sweep(scheduler_actor* self) {
  auto& st = self->state;
  auto t = now(self);
  const auto& retention = st.env->opts.retention;
  erase_finished(
    self,
    [&](const storage::job_summary& s) {
      auto r = retention.find(s.status);
      return r != retention.end() && r->second.count() > 0
             && saturating_add(s.finished_at, r->second.count()) <= t;
    },
    10'000, [](std::size_t, const result<void>& r) {
      if (!r)
        log_line("retention could not delete jobs: " + r.error().message);
    });
  if (!st.stopping)
    arm_sweep(self);
}

/// Puts what only the scheduler knows (live progress) on a stored record. The
/// status stays the stored one: what a caller reads, a crash cannot take back.
void overlay(scheduler_actor* self, job_record& rec) {
  auto i = self->state.jobs.find(rec.id);
  if (i == self->state.jobs.end())
    return;
  const auto& e = i->second;
  if (e.record && !is_finished(rec.status)) {
    // The store may already hold a checkpoint the job actor has not reported
    // yet; its progress is then the newer one.
    if (e.record->checkpoint_at >= rec.checkpoint_at)
      rec.progress = e.record->progress;
    rec.checkpoint_at = std::max(rec.checkpoint_at, e.record->checkpoint_at);
  }
}

void on_get(scheduler_actor* self, job_id id, proto::reply<job_record> rp) {
  auto rec = self->state.env->store->get(id);
  if (!rec) {
    answer<job_record>(rp, rec.error().code == errc::not_found ? no_such_job(id) : rec.error());
    return;
  }
  overlay(self, *rec);
  answer<job_record>(rp, std::move(*rec));
}

/// Answers with the job's final record once it is durable: at once for a job
/// that has finished.
void on_wait(scheduler_actor* self, job_id id, proto::reply<job_record> rp) {
  if (auto i = self->state.jobs.find(id); i != self->state.jobs.end()) {
    i->second.finish_waiters.push_back(std::move(rp));
    return;
  }
  auto rec = self->state.env->store->get(id);
  if (!rec) {
    answer<job_record>(rp, rec.error().code == errc::not_found ? no_such_job(id) : rec.error());
    return;
  }
  answer<job_record>(rp, std::move(*rec));
}

/// The seq the next signal of `e` gets: one past the highest it ever had,
/// stored (pending) or taken (in its checkpoint).
result<std::uint64_t> next_signal_seq(scheduler_actor* self, entry& e) {
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

/// Stores a signal; once durable, answers and hands it to the job: to its
/// actor if it has one (a paused actor takes it on resume), by waking it if it
/// waits for a signal, else when it starts next.
void on_signal(scheduler_actor* self, job_id id, job_signal& sig, proto::reply<void> rp) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end()) {
    auto rec = self->state.env->store->get(id);
    if (!rec)
      answer<void>(rp, rec.error().code == errc::not_found ? no_such_job(id) : rec.error());
    else
      answer<void>(rp, error{errc::illegal_transition, std::string{"cannot signal a "}
                                                         + to_string(rec->status) + " job"});
    return;
  }
  auto& e = i->second;
  auto seq = next_signal_seq(self, e);
  if (!seq) {
    answer<void>(rp, seq.error());
    return;
  }
  sig.seq = *seq;
  sig.at = now(self);
  e.may_have_signals = true;
  auto shared = std::make_shared<const job_signal>(std::move(sig));
  storage::write_batch batch;
  batch.put_signal(id, shared);
  persist_batch(self, std::move(batch), [=](result<void> r) {
    answer<void>(rp, r);
    auto j = self->state.jobs.find(id);
    if (!r || j == self->state.jobs.end())
      return;
    auto& job = j->second;
    if (job.actor) {
      self->send(job.actor, proto::signal_atom::value, id, *shared);
      return;
    }
    if (job.status != job_status::waiting)
      return; // queued or paused: it reads its signals when it starts
    // A job that went waiting in this process says so itself (its record may
    // still be on its way to the store); one recovered waiting, its record.
    if (!job.waits_for_signal) {
      auto rec = self->state.env->store->get(id);
      if (!rec || rec->waiting_for != lifecycle::to_string(lifecycle::wait_reason::signal))
        return;
    }
    move_idle_job(self, job, job_event_kind::wake,
                  [](job_record& r) { return lifecycle::wake(r); },
                  [=](result<void>) { try_start(self); });
  });
}

/// The actor of a job that has one now: running, or paused with its actor.
void on_actor_of(scheduler_actor* self, job_id id, proto::reply<caf::actor> rp) {
  auto i = self->state.jobs.find(id);
  if (i != self->state.jobs.end() && i->second.actor) {
    answer<caf::actor>(rp, i->second.actor);
    return;
  }
  job_status status;
  if (i != self->state.jobs.end()) {
    status = i->second.status;
  } else {
    auto rec = self->state.env->store->get(id);
    if (!rec) {
      answer<caf::actor>(rp, rec.error().code == errc::not_found ? no_such_job(id) : rec.error());
      return;
    }
    status = rec->status;
  }
  answer<caf::actor>(rp, error{errc::illegal_transition,
                               "job " + std::to_string(id) + " is " + to_string(status)
                                 + ": it has no actor now (only a running job has one)"});
}

/// A caller of `runtime::wait` gave up: its promise is dropped.
void on_unwait(scheduler_actor* self, job_id id, const proto::reply<job_record>& rp) {
  if (auto i = self->state.jobs.find(id); i != self->state.jobs.end()) {
    auto& w = i->second.finish_waiters;
    w.erase(std::remove(w.begin(), w.end(), rp), w.end());
  }
}

void on_progress(scheduler_actor* self, job_id id, progress& p, millis checkpoint_at) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end() || !i->second.record)
    return;
  auto& e = i->second;
  auto& r = e.record.edit();
  r.progress = std::move(p);
  if (checkpoint_at != 0)
    r.checkpoint_at = checkpoint_at;
  if (!anyone_listens(self))
    return;
  job_event ev;
  ev.what = job_event::kind::progress;
  ev.id = id;
  ev.type = self->state.types[e.type].name;
  ev.owner = e.owner;
  ev.status = e.status;
  ev.progress = e.record->progress;
  ev.at = now(self);
  self->send(self->state.env->events, proto::publish_atom::value, std::move(ev));
}

void on_wake(scheduler_actor* self, job_id id, std::uint64_t generation) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end())
    return;
  auto& e = i->second;
  if (e.status != job_status::waiting || e.timer_generation != generation)
    return; // stale: cancelled, paused or re-armed since
  move_idle_job(self, e, job_event_kind::wake, [](job_record& r) { return lifecycle::wake(r); },
                [=](result<void>) { try_start(self); });
}

void on_down(scheduler_actor* self, caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.by_actor.find(dm.source);
  if (i == st.by_actor.end())
    return;
  if (i->second == 0) { // an idle actor
    st.by_actor.erase(i);
    for (auto& pool : st.idle_actors)
      pool.erase(std::remove_if(pool.begin(), pool.end(),
                                [&](const caf::actor& a) { return a.address() == dm.source; }),
                 pool.end());
    actor_gone(self);
    return;
  }
  auto j = st.jobs.find(i->second);
  if (j == st.jobs.end()) {
    st.by_actor.erase(i);
    return;
  }
  auto& e = j->second;
  forget_actor(self, e);
  if (st.stopping) {
    release_slot(self, e);
    return; // stopped on purpose: the job stays recoverable
  }
  // The actor died without reporting an outcome: supervision marks it failed.
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.error = "job actor died: " + self->system().render(dm.reason);
  o.transient = true;
  if (e.record)
    o.last_progress = e.record->progress;
  apply_outcome(self, e, o);
}

/// Shutdown: running jobs stop at their next step, stay `running` in the store
/// and resume from their checkpoint on the next start. Answers once every job
/// actor is gone and every write before this point is durable.
void on_stop(scheduler_actor* self, proto::reply<void> rp) {
  auto& st = self->state;
  if (rp)
    st.stop_reply = rp;
  if (!st.stopping) {
    st.stopping = true;
    for (auto& kv : st.jobs) {
      for (auto& w : kv.second.finish_waiters)
        answer<job_record>(w, error{errc::shutting_down, "the runtime is shutting down"});
      kv.second.finish_waiters.clear();
      if (kv.second.actor) {
        ++st.actors_to_stop;
        self->send<caf::message_priority::high>(kv.second.actor, proto::stop_atom::value);
      }
    }
    for (auto& pool : st.idle_actors) // they go too; their down messages are counted
      for (auto& a : pool) {
        ++st.actors_to_stop;
        self->send<caf::message_priority::high>(a, proto::stop_atom::value);
      }
  }
  if (st.actors_to_stop > 0)
    return; // on_down sends stop again when the last one is gone
  auto reply = st.stop_reply;
  st.stop_reply = nullptr;
  if (!reply)
    return;
  // Writes commit in order: once this empty one is durable, so is every write before it.
  persist_batch(self, storage::write_batch{}, [=](result<void>) { answer_ok(reply); });
}

// -- recovery -------------------------------------------------------------------------

void recover(scheduler_actor* self) {
  auto& st = self->state;
  st.last_id = st.env->store->last_id();
  storage::write_batch fixes;
  std::vector<job_id> interrupted;
  auto r = st.env->store->for_each_unfinished(
    [&](const storage::job_summary& s) {
      entry e;
      e.id = s.id;
      e.type = intern_type(self, s.type);
      e.owner = s.owner;
      e.priority = s.priority;
      e.status = s.status; // as stored; a run that was cut short is requeued below
      e.may_have_signals = true; // sent before the restart; read when it starts
      if (!st.types[e.type].limits.empty()) {
        boost::json::value params;
        if (st.types[e.type].keys_from_params)
          if (auto rec = st.env->store->get(s.id))
            params = std::move(rec->params);
        set_limit_keys(self, e, params);
      }
      auto& stored = add_job(self, std::move(e));
      ++st.counters.recovered;
      switch (s.status) {
        case job_status::running:
          if (!moved(self, s.id, move_entry(self, stored, job_event_kind::requeue)))
            break;
          interrupted.push_back(s.id);
          [[fallthrough]];
        case job_status::queued:
          enqueue(self, stored);
          break;
        case job_status::waiting:
          arm_timer(self, stored, s.wake_at); // fires at once if its time has passed
          break;
        default:
          break; // paused stays paused
      }
    },
    [&](job_id id, const std::string& reason) {
      log_line("job " + std::to_string(id) + " quarantined: " + reason);
      fixes.quarantine(id, reason);
      ++st.counters.quarantined;
    });
  if (!r)
    log_line("recovery could not read the store: " + r.error().message);
  // Jobs that were running when the process stopped go back to the queue; they
  // resume from their last checkpoint when they start again.
  for (auto id : interrupted) {
    auto rec = st.env->store->get(id);
    if (!rec || !moved(self, id, lifecycle::requeue(*rec)))
      continue;
    fixes.put_record(*rec, job_status::running);
  }
  if (!fixes.empty())
    persist_batch(self, std::move(fixes), nullptr);
  // A job that waits for a signal with one stored for it (the process ended
  // between the signal's commit and the wake's) wakes at once.
  if (auto signalled = st.env->store->jobs_with_signals()) {
    for (auto id : *signalled) {
      auto i = st.jobs.find(id);
      if (i == st.jobs.end() || i->second.status != job_status::waiting)
        continue;
      auto rec = st.env->store->get(id);
      if (rec && rec->waiting_for == lifecycle::to_string(lifecycle::wait_reason::signal))
        arm_timer(self, i->second, now(self));
    }
  } else {
    log_line("recovery could not read the stored signals: " + signalled.error().message);
  }
  if (auto saved = st.env->store->get_setting("paused_types"); saved && *saved) {
    boost::json::error_code ec;
    auto names = boost::json::parse(**saved, ec);
    if (!ec && names.is_array())
      for (const auto& n : names.get_array())
        if (n.is_string())
          st.types[intern_type(self, std::string{n.get_string()})].paused = true;
  }
}

caf::behavior scheduler(scheduler_actor* self, env_ptr env) {
  self->state.env = std::move(env);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  recover(self);
  arm_sweep(self);
  try_start(self);
  return {
    // The messages of every job first: CAF tries the handlers in this order.
    [=](proto::done_atom, job_id id, proto::job_outcome& o, bool reusable) {
      committing_on_return(self, [&] { on_done(self, id, o, reusable); });
    },
    [=](proto::progress_atom, job_id id, progress& p, millis checkpoint_at) {
      on_progress(self, id, p, checkpoint_at);
    },
    [=](proto::flush_atom) { flush_outbox(self); },
    [=](proto::submit_atom, proto::submit_request& req, proto::reply<job_id>& rp) {
      committing_on_return(self, [&] { on_submit(self, req, std::move(rp)); });
    },
    [=](proto::submit_atom, proto::bulk_submit_request& req,
        proto::reply<std::vector<job_id>>& rp) {
      committing_on_return(self, [&] { on_submit_many(self, req, std::move(rp)); });
    },
    [=](proto::pause_atom, job_id id, proto::reply<void>& rp) { on_pause(self, id, rp); },
    [=](proto::resume_atom, job_id id, proto::reply<void>& rp) { on_resume(self, id, rp); },
    [=](proto::cancel_atom, job_id id, proto::reply<void>& rp) { on_cancel(self, id, rp); },
    [=](proto::retry_atom, job_id id, proto::reply<void>& rp) { on_retry(self, id, rp); },
    [=](proto::get_atom, job_id id, proto::reply<job_record>& rp) { on_get(self, id, rp); },
    [=](proto::wait_atom, job_id id, proto::reply<job_record>& rp) { on_wait(self, id, rp); },
    [=](proto::actor_of_atom, job_id id, proto::reply<caf::actor>& rp) {
      on_actor_of(self, id, rp);
    },
    [=](proto::signal_atom, job_id id, job_signal& s, proto::reply<void>& rp) {
      on_signal(self, id, s, rp);
    },
    [=](proto::unwait_atom, job_id id, proto::reply<job_record>& rp) {
      on_unwait(self, id, rp);
    },
    [=](proto::overlay_atom, list_page& page, proto::reply<list_page>& rp) {
      for (auto& rec : page.jobs)
        overlay(self, rec);
      answer<list_page>(rp, std::move(page));
    },
    [=](proto::stats_atom, proto::reply<runtime_stats>& rp) {
      auto s = self->state.counters;
      s.jobs_by_status.clear();
      for (std::size_t i = 0; i < self->state.by_status.size(); ++i)
        if (auto n = self->state.by_status[i])
          s.jobs_by_status[static_cast<job_status>(i)] = n;
      s.running = self->state.running;
      s.checkpoint_latency = self->state.env->checkpoint_latency->snapshot();
      s.paused_types.clear();
      for (const auto& slot : self->state.types)
        if (slot.paused)
          s.paused_types.push_back(slot.name);
      s.queued = self->state.queue.size();
      answer<runtime_stats>(rp, std::move(s));
    },
    [=](proto::stop_atom, proto::reply<void>& rp) { on_stop(self, rp); },
    [=](proto::paused_atom, job_id id) { on_paused(self, id); },
    [=](proto::wake_atom, job_id id, std::uint64_t generation) {
      on_wake(self, id, generation);
    },
    [=](proto::timeout_atom, job_id id, std::uint64_t run) { on_timeout(self, id, run); },
    [=](proto::sweep_atom) { on_sweep(self); },
    [=](proto::recheck_atom) {
      self->state.recheck_at = 0;
      try_start(self);
    },
    [=](proto::remove_atom, job_id id, proto::reply<void>& rp) { on_remove(self, id, rp); },
    [=](proto::clear_atom, job_status s, proto::reply<std::size_t>& rp) {
      on_clear(self, s, rp);
    },
    [=](proto::force_fail_atom, job_id id, const std::string& reason,
        proto::reply<void>& rp) { on_force_fail(self, id, reason, rp); },
    [=](proto::pause_type_atom, const std::string& type, bool with_running,
        proto::reply<void>& rp) { on_pause_type(self, type, with_running, rp, true); },
    [=](proto::resume_type_atom, const std::string& type, bool with_running,
        proto::reply<void>& rp) { on_pause_type(self, type, with_running, rp, false); },
  };
}

} // namespace

caf::actor spawn_scheduler(caf::actor_system& sys, env_ptr env) {
  return sys.spawn(scheduler, std::move(env));
}

} // namespace jobrt
