#pragma once

/// The scheduler actor's state, and the functions its four source files share:
/// scheduler.cpp (the behavior, writes, timers, supervision, shutdown and
/// recovery), scheduler_runs.cpp (starting jobs, status changes and how runs
/// end), scheduler_requests.cpp (what the facade asks) and scheduler_admin.cpp
/// (deletion, retention, forced failure, paused types). Private to them.
///
/// What is not message plumbing lives in plain classes the state holds, each
/// with its own tests: the job table (actors/job_table.hpp), the start limits
/// (actors/start_limits.hpp), the write outbox (actors/write_outbox.hpp), the
/// actor pool (actors/actor_pool.hpp), recovery's plan (actors/recovery_plan.hpp)
/// and retention's (actors/retention_plan.hpp).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/actor_pool.hpp"
#include "actors/env.hpp"
#include "actors/flow_table.hpp"
#include "actors/job_table.hpp"
#include "actors/lifecycle.hpp"
#include "actors/node_table.hpp"
#include "actors/protocol.hpp"
#include "actors/schedule_book.hpp"
#include "actors/start_limits.hpp"
#include "actors/write_outbox.hpp"

namespace jobrt::scheduling {

struct scheduler_state;
using scheduler_ptr = proto::scheduler_actor::stateful_pointer<scheduler_state>;
using write_callback = write_outbox::callback;

/// How the scheduler's writes reach the store, chosen once at spawn from the
/// runtime's `commit_site` (actors/env.hpp): to the persistence actor, or
/// committed in place. The handlers make their writes and get each one's
/// outcome the same way with either.
class write_path {
public:
  virtual ~write_path() = default;
  /// Whether the writes of the message just handled leave now, or wait for
  /// those of the messages behind it.
  virtual bool send_now(scheduler_ptr self) = 0;
  /// Commits `writes`; once they are durable, each callback runs with its
  /// write's outcome.
  virtual void send(scheduler_ptr self, write_outbox::departure writes) = 0;
};

struct scheduler_state {
  env_ptr env;
  job_table jobs;
  std::optional<start_limits> limits; ///< set once `env` is
  write_outbox outbox;
  std::unique_ptr<write_path> writes;
  bool flush_queued = false; ///< a flush message is on its way to the mailbox
  actor_pool actors;
  /// Idempotency keys (owner, key) of submits whose commit is in flight, and the
  /// callers who submitted the same key meanwhile.
  std::map<std::pair<std::string, std::string>, job_id> pending_keys;
  std::unordered_map<job_id, std::vector<proto::reply<submitted>>> key_waiters;
  std::mt19937_64 rng{std::random_device{}()};
  millis recheck_at = 0;     ///< when a pending recheck timer fires; 0 = none
  std::set<job_id> deleting; ///< finished jobs whose deletion is not yet durable
  runtime_stats counters;
  schedule_book schedules;
  flow_table flows;
  node_table nodes; ///< the worker nodes (actors/scheduler_nodes.cpp)
  millis schedule_timer_at = 0; ///< when the armed schedule timer fires; 0 = none
  std::uint64_t schedule_timer_generation = 0; ///< a tick of another generation is stale

  bool stopping = false;
  std::size_t actors_to_stop = 0;
  proto::reply<void> stop_reply;

  static inline const char* name = "jobrt.scheduler";
};

// -- scheduler.cpp: writes, timers, actors, events --------------------------------------

millis now(scheduler_ptr self);

/// Writes `batch` and, once it is durable, runs `then` (if any) with the
/// outcome. Writes reach the store in the order they are made, and each stands
/// on its own: one that is refused fails no other.
void persist_batch(scheduler_ptr self, storage::write_batch batch, write_callback then);

/// Writes `rec` over a stored record of status `replaces` and, once it is
/// durable, runs `then` (if any) with the outcome. The store refuses the write
/// if the record it holds has another status. A write nobody waits for
/// (`can_wait`) may be committed a moment later, with others (see
/// `proto::write_urgency`).
void persist(scheduler_ptr self, std::shared_ptr<const job_record> rec, job_status replaces,
             write_callback then,
             proto::write_urgency u = proto::write_urgency::caller_waits);

/// A refused move inside the scheduler is a bug, not bad input: it is logged
/// and counted (`runtime_stats::refused_transitions`), and the job stays where
/// it was. Returns whether `r` succeeded.
bool moved(scheduler_ptr self, job_id id, const result<void>& r);

/// Tells subscribers that job `e` is now durably `written`. Called from the
/// callback of the write that made it so: the entry may have moved on since,
/// and subscribers still hear every status in the order it was written.
void publish_status(scheduler_ptr self, const job_entry& e, job_status written,
                    const std::string& error = {}, const progress* last = nullptr);
bool anyone_listens(scheduler_ptr self);
void publish(scheduler_ptr self, job_event ev);

/// Wakes job `e` at `at` (its timer generation goes up: earlier timers are stale).
void arm_timer(scheduler_ptr self, job_entry& e, millis at);
/// Arms one timer for the moment a rate limit frees up.
void arm_recheck(scheduler_ptr self, millis at);
/// Drops the job's actor: it is gone, killed, or quits on its own.
void forget_actor(scheduler_ptr self, job_entry& e);
/// Takes the actor of a job that ended back into the idle pool; past the
/// pool's bound (or during shutdown) it is told to stop instead.
void return_actor(scheduler_ptr self, job_entry& e);

// -- scheduler_runs.cpp: starting jobs and moving them ------------------------------------

/// Starts queued jobs while slots are free. A job whose type is at its cap is
/// skipped, so it does not hold back jobs of other types behind it.
void try_start(scheduler_ptr self);

/// Moves a job without an actor (queued, waiting, paused) along the edge `kind`:
/// `change` moves its record (a lifecycle function). Once the change is durable,
/// subscribers hear of it (with the job's last progress) and `done` runs. The
/// entry's status and queue membership change at once.
void move_idle_job(scheduler_ptr self, job_entry& e, job_event_kind kind,
                   const std::function<result<void>(job_record&)>& change, write_callback done);

/// Applies how a run ended. The job's actor is gone (or never started).
void apply_outcome(scheduler_ptr self, job_entry& e, proto::job_outcome& o);

/// A pause or cancel asked for while the job's run went on (and answered
/// only when it ended) applies now that the job is idle: waiting or queued.
void apply_held_steering(scheduler_ptr self, job_entry& e);

/// Drops a finished job from memory once its final record is durable.
void forget_job(scheduler_ptr self, job_id id);

/// Gives the callers waiting for the job to finish its final record, now
/// durable (or the reason it could not be written).
void answer_finish_waiters(scheduler_ptr self, job_entry& e, const result<void>& written);

/// The job's full record: the one it holds (taken out of the entry), else read
/// from the store.
result<shared_record> take_record(scheduler_ptr self, job_entry& e);

void on_done(scheduler_ptr self, job_id id, proto::job_outcome& o, bool reusable);
void on_paused(scheduler_ptr self, job_id id);
void on_progress(scheduler_ptr self, job_id id, progress& p, millis checkpoint_at);
void on_wake(scheduler_ptr self, job_id id, std::uint64_t generation);
void on_timeout(scheduler_ptr self, job_id id, std::uint64_t run);

// -- scheduler_requests.cpp: what the facade asks ----------------------------------------

void on_submit(scheduler_ptr self, proto::submit_request& req, proto::reply<submitted> rp);
void on_submit_many(scheduler_ptr self, proto::bulk_submit_request& req,
                    proto::reply<std::vector<job_id>> rp);
void on_pause(scheduler_ptr self, job_id id, proto::reply<void> rp);
void on_resume(scheduler_ptr self, job_id id, proto::reply<void> rp);
void on_cancel(scheduler_ptr self, job_id id, proto::reply<void> rp);
void on_retry(scheduler_ptr self, job_id id, proto::reply<void> rp);
void on_get(scheduler_ptr self, job_id id, proto::reply<job_record> rp);
void on_wait(scheduler_ptr self, job_id id, proto::reply<job_record> rp);
void on_unwait(scheduler_ptr self, job_id id, const proto::reply<job_record>& rp);
void on_signal(scheduler_ptr self, job_id id, job_signal& sig, proto::reply<void> rp);
void on_actor_of(scheduler_ptr self, job_id id, proto::reply<caf::actor> rp);
/// Puts what only the scheduler knows (live progress) on stored records.
void add_live_progress(scheduler_ptr self, list_page& page);

/// A new job's record (its id taken), with the type's defaults applied; waiting
/// if `opts.run_at` is later than now.
std::shared_ptr<const job_record> new_record(scheduler_ptr self, std::uint16_t type_index,
                                             const std::string& type, boost::json::value params,
                                             const submit_options& opts);
/// Takes a job whose new record is durable into the table: queued, or waiting
/// for its start time.
void admit(scheduler_ptr self, std::uint16_t type_index, const submit_options& opts,
           const std::shared_ptr<const job_record>& rec);

// -- scheduler_schedules.cpp: recurring schedules -----------------------------------------

/// Takes the store's schedules into the book and arms the timer (after the
/// jobs are recovered: a schedule may wait for its previous job).
void recover_schedules(scheduler_ptr self);
void on_schedule(scheduler_ptr self, schedule_info& s, proto::reply<schedule_info> rp);
void on_unschedule(scheduler_ptr self, const std::string& name, proto::reply<void> rp);
void on_pause_schedule(scheduler_ptr self, const std::string& name, bool pause,
                       proto::reply<void> rp);
void on_list_schedules(scheduler_ptr self, proto::reply<std::vector<schedule_info>> rp);
void on_schedule_tick(scheduler_ptr self, std::uint64_t generation);
/// Job `id` has ended: the schedules queued behind it fire their ticks (from `job_ended`).
void after_scheduled_job(scheduler_ptr self, job_id id);

// -- scheduler_flows.cpp: jobs that wait for other jobs ---------------------------------

/// Of some jobs: those unfinished, and how the finished ones ended.
struct dependency_state {
  std::vector<job_id> unfinished;
  flow_table::waiter ended;
};
/// With `must_exist`, a job that is not in the store is an error (a submit's
/// `after`); else it counts as completed (deleted by retention since).
result<dependency_state> dependencies_of(scheduler_ptr self, const std::vector<job_id>& ids,
                                         bool must_exist);
/// Moves on a job that waits for other jobs (or a queued one that was to run
/// after others) once none is unfinished: it wakes, or, if one it was to run
/// after failed or was cancelled, fails or is cancelled as its policy says.
/// `why`: what it waits for, if the caller knows (its waiting record may not
/// be durable yet); else read from its record.
void release(scheduler_ptr self, job_entry& e,
             std::optional<lifecycle::wait_reason> why = std::nullopt);
/// Registers what `e` (now waiting) waits for: `jobs` that are unfinished.
void wait_for_jobs(scheduler_ptr self, job_entry& e, const std::vector<job_id>& jobs,
                   lifecycle::wait_reason why);
/// A parent waiting for its children shows how many have finished as its progress.
void add_children_progress(scheduler_ptr self, job_record& r);
/// A queued job whose checkpoint says it waits for `children`: if one is
/// unfinished, it moves to `waiting` for them (and true is returned) instead
/// of starting.
bool wait_for_children_first(scheduler_ptr self, job_entry& e,
                             const std::vector<job_id>& children);
/// Releases job `id` if it waits for jobs and none is unfinished any more.
void release_if_free(scheduler_ptr self, job_id id);
/// Job `id` has ended as `status`: the jobs that waited for it, and the
/// schedules queued behind it, go on.
void job_ended(scheduler_ptr self, job_id id, job_status status);
/// Registers the waits of recovered jobs that wait for jobs (`wake_at` = no_wake).
void recover_flows(scheduler_ptr self, const std::vector<job_id>& waiting_for_jobs);
/// After a resume: a job that waited for jobs (`before`, its record when
/// paused) waits again if one is still unfinished, else is released.
void rewait_after_resume(scheduler_ptr self, job_entry& e, const job_record& before);
/// Calls `act` for each unfinished descendant of `root` (from the children
/// lists of their checkpoints), parents before children.
void reach_descendants(scheduler_ptr self, job_id root, const std::function<void(job_id)>& act);
/// A job's children are durable: they join the table (and follow a parent
/// that was paused or cancelled meanwhile).
void on_children(scheduler_ptr self, job_id parent,
                 std::vector<std::shared_ptr<const job_record>>& children);

// -- scheduler_nodes.cpp: worker nodes ------------------------------------------------

void on_node_up(scheduler_ptr self, proto::node_joined& j);
/// Node `id` is lost: its runs go back to the queue, from their checkpoints.
void on_node_down(scheduler_ptr self, std::uint64_t id, const std::string& why);
void on_node_heartbeat(scheduler_ptr self, std::uint64_t id, millis at);
/// Whether job `e` has somewhere to run now: this process (if it runs jobs), a
/// node with a free slot for its type, or the node that kept its paused run.
bool has_place(scheduler_ptr self, const job_entry& e);
/// Hands job `e` (its run `js`) to a node with a free slot for its type, if
/// there is one; false: it runs here.
bool start_on_node(scheduler_ptr self, job_entry& e, proto::job_start& js);
/// A job's remote run is over: its node's slot is free.
void leave_node(scheduler_ptr self, job_entry& e);
/// Takes an interrupted run's job back to the queue.
void requeue_interrupted(scheduler_ptr self, job_entry& e, shared_record rec,
                         job_status replaces);

// -- scheduler_admin.cpp: deletion, retention, forced failure, paused types -------------

void on_remove(scheduler_ptr self, job_id id, proto::reply<void> rp);
void on_clear(scheduler_ptr self, job_status status, proto::reply<std::size_t> rp);
void on_force_fail(scheduler_ptr self, job_id id, const std::string& reason,
                   proto::reply<void> rp);
/// Whether jobs of a type may start.
enum class type_switch : bool { resume, pause };
/// Stops jobs of `type` from starting, or lets them start again;
/// `with_running`: running jobs of the type are paused too.
void on_switch_type(scheduler_ptr self, const std::string& type, bool with_running,
                    proto::reply<void> rp, type_switch to);
void arm_sweep(scheduler_ptr self);
void on_sweep(scheduler_ptr self);

// -- answers -------------------------------------------------------------------------------

template <class T>
void answer(const proto::reply<T>& rp, result<T> r) {
  if (rp)
    rp->set_value(std::move(r));
}

inline void answer_all(std::vector<proto::reply<void>>& waiters, const result<void>& r) {
  for (auto& w : waiters)
    if (w)
      w->set_value(r);
  waiters.clear();
}

/// Sends to a job actor, which is dynamically typed. A typed actor may `send`
/// only to typed ones; a job actor never answers a sender (it reports to the
/// scheduler's handle it holds), so an anonymous message loses nothing.
template <class... Ts>
void tell(const caf::actor& to, Ts&&... xs) {
  caf::anon_send(to, std::forward<Ts>(xs)...);
}

error no_such_job(job_id id);

/// The error for a read of `id` that failed: not_found names the job.
error read_failure(job_id id, const error& e);

/// For a job the scheduler no longer holds (finished, or unknown): why it cannot
/// move `to`, from its stored status.
result<void> refuse_finished(scheduler_ptr self, job_id id, job_status to);

/// The entry of a job that the table lets move `to` now; else answers `rp` with
/// the reason and returns null.
job_entry* job_that_may_move(scheduler_ptr self, job_id id, job_status to,
                             const proto::reply<void>& rp);

/// Sends the scheduler the message `xs...` at `at`, from the runtime's clock:
/// the one timer mechanism, which tests drive with a manual clock.
template <class... Ts>
void send_at(scheduler_ptr self, millis at, Ts... xs) {
  auto me = caf::actor_cast<caf::actor>(self);
  self->state.env->clock->call_at(at, [me, xs...] { caf::anon_send(me, xs...); });
}

} // namespace jobrt::scheduling
