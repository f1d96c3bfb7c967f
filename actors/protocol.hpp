#pragma once

/// Every message the runtime's actors accept, in one place. Each section lists
/// one actor's inbox as `(atom, arguments...) -> reply`.
///
/// Replies to the facade travel as `reply<T>`, which runs the caller's
/// completion handler once (a synchronous call's handler fulfils the promise its
/// thread waits on), so no scoped_actor (an actor of its own) is needed per call.
/// Between actors, replies are CAF responses (`request`, `then`): the answer
/// arrives in the asking actor's mailbox, in turn with its other messages. Two
/// styles because the askers differ: a host thread has no mailbox to receive a
/// response in, and an actor must not block on a future.

#include <cstdint>
#include <functional>
#include <map>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "caf/all.hpp"

#include "jobrt/error.hpp"
#include "jobrt/events.hpp"
#include "jobrt/options.hpp"
#include "jobrt/record.hpp"
#include "jobrt/schedule.hpp"
#include "jobrt/completion.hpp"
#include "jobrt/stats.hpp"
#include "actors/log.hpp"
#include "storage/job_store.hpp"

namespace jobrt::proto {

/// Set while this thread runs a caller's completion handler: a synchronous
/// facade call made there would wait for the very thread it holds.
inline thread_local bool in_completion = false;

/// One facade call's answer: runs the caller's handler exactly once. A reply
/// dropped unanswered (its message reached no actor, or the actor stopped
/// first) answers `shutting_down`, so no caller waits for an answer that
/// cannot come.
template <class T>
class reply_slot {
public:
  explicit reply_slot(completion<T> done) : done_(std::move(done)) {}
  ~reply_slot() {
    if (done_)
      run(error{errc::shutting_down, "the runtime stopped before it answered"});
  }
  reply_slot(const reply_slot&) = delete;
  reply_slot& operator=(const reply_slot&) = delete;

  /// Answers; a second answer is ignored.
  void set_value(result<T> r) {
    if (done_)
      run(std::move(r));
  }

private:
  void run(result<T> r) noexcept {
    auto done = std::move(done_);
    done_ = nullptr;
    const bool outer = in_completion;
    in_completion = true;
    try {
      done(std::move(r));
    } catch (const std::exception& e) {
      log_line(std::string{"a completion handler threw: "} + e.what());
    } catch (...) {
      log_line("a completion handler threw a non-standard exception");
    }
    in_completion = outer;
  }

  completion<T> done_;
};

template <class T>
using reply = std::shared_ptr<reply_slot<T>>;

template <class T>
reply<T> make_reply(completion<T> done) {
  return std::make_shared<reply_slot<T>>(std::move(done));
}

// -- atoms --------------------------------------------------------------------------------
//
// CAF 0.17 encodes an atom's text in 60 bits: at most 10 characters. The alias
// carries the full name; the text is only what a log of CAF's shows.

using submit_atom = caf::atom_constant<caf::atom("submit")>;
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using live_progress_atom = caf::atom_constant<caf::atom("liveprog")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using step_atom = caf::atom_constant<caf::atom("step")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using paused_atom = caf::atom_constant<caf::atom("paused")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using write_atom = caf::atom_constant<caf::atom("write")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsubscrib")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using remove_atom = caf::atom_constant<caf::atom("remove")>;
using clear_atom = caf::atom_constant<caf::atom("clear")>;
using force_fail_atom = caf::atom_constant<caf::atom("forcefail")>;
using pause_type_atom = caf::atom_constant<caf::atom("pausetype")>;
using resume_type_atom = caf::atom_constant<caf::atom("resumetype")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using recheck_atom = caf::atom_constant<caf::atom("recheck")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using unwait_atom = caf::atom_constant<caf::atom("unwait")>;
using overdue_atom = caf::atom_constant<caf::atom("overdue")>;
using signal_atom = caf::atom_constant<caf::atom("signal")>;
using actor_of_atom = caf::atom_constant<caf::atom("actorof")>;
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
using unschedule_atom = caf::atom_constant<caf::atom("unschedule")>;
using pause_schedule_atom = caf::atom_constant<caf::atom("schedpause")>;
using list_schedules_atom = caf::atom_constant<caf::atom("schedlist")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using children_atom = caf::atom_constant<caf::atom("children")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using evict_atom = caf::atom_constant<caf::atom("evict")>;
using node_up_atom = caf::atom_constant<caf::atom("nodeup")>;
using node_down_atom = caf::atom_constant<caf::atom("nodedown")>;

// -- payloads -------------------------------------------------------------------------

/// A submit, already validated by the facade on the caller's thread.
struct submit_request {
  std::string type;
  boost::json::value params;
  submit_options options;
};

/// Many submits of one type, validated by the facade, written in one transaction.
struct bulk_submit_request {
  std::string type;
  std::vector<boost::json::value> params;
  submit_options options;
};

/// How a job actor's run ended.
struct job_outcome {
  enum class kind : std::uint8_t {
    completed,    ///< `output` is the job's output
    failed,       ///< `error` says why
    cancelled,    ///< a cancel took effect at a step boundary
    rate_limited, ///< wait `retry_after_ms`, then queue again
    awaiting_signal, ///< wait for a signal, at most `retry_after_ms`, then queue again
    awaiting_children, ///< wait until `children` have finished, then queue again
    interrupted, ///< its worker node was lost: back to the queue, from its checkpoint
  };
  kind what = kind::completed;
  boost::json::value output;
  std::string error;
  millis retry_after_ms = 0;
  progress last_progress;
  bool transient = false; ///< a failure that may be retried
  std::uint64_t signals_taken = 0; ///< the last signal the run had taken
  std::vector<job_id> children;    ///< awaiting_children: every child the job spawned
};

/// Whether a write must be committed at once: a caller waits for it (a
/// submit, a pause, a checkpoint that the job waits on), or it can wait a
/// moment for company (a job's running or final record that nobody waits for).
/// While callers come one at a time, the persistence actor holds writes that
/// can wait until the next write a caller waits for, or 2 ms (`linger` in
/// actors/persistence.cpp): one fsync then carries the writes of a submit and
/// of the job before it, without delaying a caller.
enum class write_urgency : std::uint8_t { caller_waits, can_wait };

/// The persistence actor's answer to a write: empty on success.
struct write_ack {
  std::optional<error> failure;
};

/// Everything a job actor needs to run one job.
struct job_start {
  job_id id = 0;
  /// The job's record (type and parameters), shared with the scheduler and
  /// never changed; the actor lets go of it once it has built the job.
  std::shared_ptr<const job_record> record;
  std::optional<checkpoint> restored; ///< the last checkpoint, if any
  std::uint32_t attempt = 1;
  /// Signals stored for the job and not yet taken as of `restored`, in order:
  /// delivered before the first step.
  std::vector<job_signal> signals;
  std::string node; ///< the worker node it runs on (`context::node`); empty here
  /// The scheduler's count of the job's starts: a remote run's number, which
  /// every message of the run carries (actors/remote_run.hpp).
  std::uint64_t run = 0;
};

/// A worker node that proved itself to the gate (actors/node_gate.hpp).
struct node_joined {
  std::uint64_t id = 0;
  std::string name;
  std::string address;
  std::size_t slots = 0;
  std::map<std::string, std::size_t> types; ///< type -> its own cap (0: none)
  caf::actor agent; ///< the worker's agent (actors/node_agent.hpp), a remote actor
  millis joined_at = 0;
};

/// A batch of events for one subscriber's delivery actor.
using event_batch = std::vector<job_event>;

// -- typed interfaces -------------------------------------------------------------------
//
// A handler that does not match its actor's interface does not compile. The job
// actor is the one dynamic actor: see actors/job_actor.hpp for why. A typed actor
// may `send` only to typed actors: what goes to a dynamic one (a job actor, a
// subscriber's actor) goes as an anonymous message, which none of them answers.

/// The scheduler (actors/scheduler_state.hpp). Facade requests carry a `reply<T>`,
/// answered once what they changed is durable.
using scheduler_actor = caf::typed_actor<
  // -- from the facade
  caf::reacts_to<submit_atom, submit_request, reply<submitted>>,
  caf::reacts_to<submit_atom, bulk_submit_request, reply<std::vector<job_id>>>, // one commit
  caf::reacts_to<pause_atom, job_id, reply<void>>,
  caf::reacts_to<resume_atom, job_id, reply<void>>,
  caf::reacts_to<cancel_atom, job_id, reply<void>>,
  caf::reacts_to<retry_atom, job_id, reply<void>>,
  caf::reacts_to<get_atom, job_id, reply<job_record>>,  // the stored record, live progress
  caf::reacts_to<wait_atom, job_id, reply<job_record>>, // the final record, once durable
  caf::reacts_to<unwait_atom, job_id, reply<job_record>>, // that caller stopped waiting
  caf::reacts_to<actor_of_atom, job_id, reply<caf::actor>>, // of a running (or paused) job
  // Acknowledged once durable; then delivered, or wakes a job that waits for a signal.
  caf::reacts_to<signal_atom, job_id, job_signal, reply<void>>,
  caf::reacts_to<live_progress_atom, list_page, reply<list_page>>, // live progress on a page
  caf::reacts_to<stats_atom, reply<runtime_stats>>,
  caf::reacts_to<stop_atom, reply<void>>, // shutdown: stop the job actors, then flush
  caf::reacts_to<remove_atom, job_id, reply<void>>, // delete a finished job
  caf::reacts_to<clear_atom, job_status, reply<std::size_t>>, // every finished job of a status
  caf::reacts_to<force_fail_atom, job_id, std::string, reply<void>>, // with this reason
  // (type, with_running): with_running pauses its running jobs too
  caf::reacts_to<pause_type_atom, std::string, bool, reply<void>>,
  caf::reacts_to<resume_type_atom, std::string, bool, reply<void>>,
  // Recurring schedules, checked by the facade (actors/scheduler_schedules.cpp):
  // create or replace; delete; (name, true) pauses, (name, false) resumes; list.
  caf::reacts_to<schedule_atom, schedule_info, reply<schedule_info>>,
  caf::reacts_to<unschedule_atom, std::string, reply<void>>,
  caf::reacts_to<pause_schedule_atom, std::string, bool, reply<void>>,
  caf::reacts_to<list_schedules_atom, reply<std::vector<schedule_info>>>,
  // -- from job actors (and down_msg, for supervision)
  // Throttled; the instant of the checkpoint that came with it, else 0.
  caf::reacts_to<progress_atom, job_id, progress, millis>,
  caf::reacts_to<paused_atom, job_id>, // the actor took a pause
  // The children a job spawned are durable (with its checkpoint): take them in.
  caf::reacts_to<children_atom, job_id, std::vector<std::shared_ptr<const job_record>>>,
  // The job ended; a reusable actor (true) waits for its next job, any other quits.
  caf::reacts_to<done_atom, job_id, job_outcome, bool>,
  // -- from the clock
  caf::reacts_to<wake_atom, job_id, std::uint64_t>,    // a timer of this generation fired
  caf::reacts_to<timeout_atom, job_id, std::uint64_t>, // this run is past its deadline
  caf::reacts_to<sweep_atom>,                          // retention's turn
  caf::reacts_to<recheck_atom>,                        // a rate limit may admit a start now
  caf::reacts_to<tick_atom, std::uint64_t>,            // a schedule is due (timer generation)
  // -- from the node gate (actors/node_gate.hpp)
  caf::reacts_to<node_up_atom, node_joined>,                // a worker node proved itself
  caf::reacts_to<node_down_atom, std::uint64_t, std::string>, // lost (why): take its runs back
  caf::reacts_to<heartbeat_atom, std::uint64_t, millis>,    // heard from the node at
  // -- from itself
  caf::reacts_to<flush_atom>>; // send the writes made meanwhile, together

/// The persistence actor, the only writer of the store (actors/persistence.hpp).
using persistence_actor = caf::typed_actor<
  // Answered after the commit that holds the batch.
  caf::replies_to<write_atom, storage::write_batch>::with<write_ack>,
  // Segments [ends[i-1], ends[i]) of the batch, each on its own merits (one
  // refused fails no other), answered together after the commit.
  // The last argument: how many of the writes a caller waits for (0: all can
  // wait a moment for company, see `write_urgency`).
  caf::replies_to<write_atom, storage::write_batch, std::vector<std::size_t>,
                  std::size_t>::with<std::vector<write_ack>>,
  caf::reacts_to<flush_atom>,    // from itself: commit what is pending
  caf::reacts_to<timeout_atom>>; // from itself: writes that could wait have waited enough

/// A subscriber's delivery actor (actors/events.cpp): hands a batch to its
/// subscriber, then asks the fan-out for more with `ready_atom`.
using delivery_actor = caf::typed_actor<caf::reacts_to<deliver_atom, event_batch>>;

/// The event fan-out (actors/events.hpp).
using fanout_actor = caf::typed_actor<
  caf::reacts_to<publish_atom, job_event>,                                 // from the scheduler
  caf::reacts_to<subscribe_atom, std::uint64_t, event_filter, delivery_actor>, // id, filter
  caf::reacts_to<unsubscribe_atom, std::uint64_t>,
  caf::reacts_to<ready_atom, std::uint64_t>, // that subscriber's delivery actor wants more
  caf::reacts_to<stop_atom>>;                // shutdown: ends every delivery actor

// -- dynamic inboxes ------------------------------------------------------------------
//
// -- job actor (one per running job, reused for the next job when it can be) --------
//   (run_atom, job_start)       the next job, sent only to an idle actor
//   (step_atom, uint64_t run)   one unit of work; skipped (left in the mailbox) while
//                               paused; a step of an earlier run is dropped
//   (signal_atom, job_id, job_signal)
//                               a signal for the running job: on_signal, in seq order;
//                               skipped (left in the mailbox) while paused
//   (overdue_atom, uint64_t run, uint64_t suspension)
//                               from the clock: the run is still suspended after
//                               max_suspended; it fails (transient)
//   (pause_atom, job_id)        answers the scheduler with paused_atom
//   (resume_atom, job_id)       back to running
//   (cancel_atom, job_id)       reports done(cancelled)
//                               pause, resume and cancel go at normal priority, so
//                               they stay in order with run and with each other;
//                               one that names an earlier job is dropped
//   (stop_atom)                 high priority; shutdown: quits, leaving the job recoverable
//
// -- worker nodes: the three actors between a coordinator and its workers ---------
// Everything that crosses the wire is atoms, integers and strings (JSON text, by
// actors/node_wire.hpp), so no type needs registering on either side and a
// malformed payload is a parse error, counted and dropped, never a crash.
//
// node gate (coordinator; published on `workers.port`; actors/node_gate.hpp)
//   (hello_atom, string name, string secret, string offer)
//                   -> (string refusal, uint64 node_id): refusal empty when
//                      welcomed; offer = {"slots": N, "types": {"type": cap}}
//   (heartbeat_atom, uint64 node_id)   from an agent, every heartbeat_interval
//
// node agent (worker; actors/node_agent.hpp)
//   from the gate:  (evict_atom, string why)   the node was taken as lost
//   from a run:     (run_atom, uint64 run, string start)   start a job actor
//                   (pause_atom|resume_atom|cancel_atom, job_id, uint64 run)
//                   (signal_atom, job_id, uint64 run, string signal)
//                   (stop_atom, job_id, uint64 run)   taken back: kill the run
//   from its job actors: what they send a scheduler (progress, paused, done,
//                   children), and (write_atom, write_batch) as to persistence
//
// remote run (coordinator, one per run on a worker; actors/remote_run.hpp)
//   from the scheduler: what a job actor takes (run, pause, resume, cancel,
//                   signal, stop); forwarded with the run number
//   from the agent, each naming its job and run (any other is dropped):
//                   (progress_atom, job_id, uint64 run, string progress, millis checkpoint_at)
//                   (paused_atom, job_id, uint64 run)
//                   (done_atom, job_id, uint64 run, string outcome)
//                   (write_atom, job_id, uint64 run, string checkpoint) -> string
//                      (empty once the checkpoint is durable, else why not)

} // namespace jobrt::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::reply<jobrt::submitted>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::reply<void>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::reply<std::size_t>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::reply<caf::actor>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::reply<jobrt::job_record>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::reply<jobrt::list_page>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::reply<jobrt::runtime_stats>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::job_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::submit_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::bulk_submit_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::reply<std::vector<jobrt::job_id>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::job_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::write_ack)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::job_start)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::event_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::delivery_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::storage::write_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<jobrt::proto::write_ack>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::progress)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::list_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::event_filter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::job_signal)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::schedule_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<std::shared_ptr<const jobrt::job_record>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::reply<jobrt::schedule_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::reply<std::vector<jobrt::schedule_info>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::proto::node_joined)
