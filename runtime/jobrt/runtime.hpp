#pragma once

/// The runtime facade: the one object a host service talks to. Every member
/// function is thread-safe and may be called from any thread of the host.
///
/// Every call that waits for the scheduler or a commit comes in three forms:
/// - synchronous, `pause(id)`: blocks the calling thread until the runtime
///   answers (at most `runtime_options::call_timeout`);
/// - with a completion handler, `pause_async(id, handler)`: returns at once, and
///   the handler gets the result (see `completion`);
/// - with a future, `pause_async(id)`: returns at once with a `std::future`.
/// The synchronous form is a thin wrapper over the asynchronous one: all three
/// do the same thing and answer with the same errors.
///
/// A whole program that starts a runtime, submits a job, pauses and resumes it,
/// watches its status and progress, and waits for it to finish:
/// examples/readme/first_job.cpp, the README's first example (CTest builds and
/// runs it, and checks that the README shows it as it is).

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "jobrt/clock.hpp"
#include "jobrt/completion.hpp"
#include "jobrt/error.hpp"
#include "jobrt/events.hpp"
#include "jobrt/limits.hpp"
#include "jobrt/options.hpp"
#include "jobrt/record.hpp"
#include "jobrt/registry.hpp"
#include "jobrt/schedule.hpp"
#include "jobrt/services.hpp"
#include "jobrt/stats.hpp"
#include "jobrt/status.hpp"

namespace caf {
class actor_system;
class actor;
} // namespace caf

namespace jobrt {

class runtime {
public:
  /// Starts a runtime with its own actor system, and recovers the store.
  static result<std::unique_ptr<runtime>> start(runtime_options opts);
  /// Starts a runtime inside the host's actor system, and recovers the store.
  /// The runtime's actors and the steps of every job that is not `blocking` then
  /// run on the host's worker threads, so the host configures its system for
  /// that before creating it:
  /// - `scheduler.max-throughput` must be set (64 is what the runtime's own
  ///   system uses). A job actor always has its next step in its mailbox; under
  ///   CAF's default, unlimited, a worker that picks a job actor up runs its steps
  ///   until the job ends, so a few long jobs hold every worker while the
  ///   scheduler, the store's writer, pause and cancel, and the host's own actors
  ///   wait. This is the one setting `start` looks at, and it only warns in the
  ///   log (above 1000) and starts anyway.
  /// - With one worker thread (`scheduler.max-threads` = 1), `scheduler.policy`
  ///   must be "sharing": a lone work-stealing worker can be held by two actors
  ///   that keep messaging each other (a job that checkpoints every step, and the
  ///   writer) while the scheduler waits behind them. With an LMDB store,
  ///   "sharing" is the faster policy anyway (see `runtime_options::scheduler_policy`).
  /// `worker_threads`, `scheduler_policy` and `worker_nice` apply only to the
  /// runtime's own system: the host's threads are left as they are, and job code
  /// runs at the host's priority. The system must outlive the runtime.
  ///
  ///   caf::actor_system_config cfg;
  ///   cfg.set("scheduler.max-throughput", std::size_t{64});
  ///   caf::actor_system sys{cfg};                        // declared before rt: outlives it
  ///   auto rt = jobrt::runtime::start(sys, opts);
  static result<std::unique_ptr<runtime>> start(caf::actor_system& sys, runtime_options opts);
  /// The worker threads of a runtime's own actor system for `worker_threads = 0`.
  static std::size_t default_worker_threads();
  /// The scheduler policy a runtime's own actor system gets for
  /// `scheduler_policy = ""` with these options (see `scheduler_policy`).
  static std::string default_scheduler_policy(const runtime_options& opts);

  /// Shuts down (see `shutdown`).
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // -- jobs ---------------------------------------------------------------------------

  /// Creates a job; returns its id once its record is durable. Errors:
  /// unknown_job_type, invalid_params, payload_too_large, storage_full, shutting_down.
  result<job_id> submit(std::string_view type, const boost::json::value& params,
                        const submit_options& opts = {});
  /// Submits many jobs of one type in one transaction: all are durable when it
  /// returns, or none is submitted (an invalid entry is named by its index).
  /// Idempotency keys do not apply to bulk submits.
  result<std::vector<job_id>> submit_many(std::string_view type,
                                          std::vector<boost::json::value> params,
                                          const submit_options& opts = {});
  /// As `submit`, with the parameters as JSON text (malformed_json if they do not parse).
  result<job_id> submit_json(std::string_view type, std::string_view params_json,
                             const submit_options& opts = {});

  /// Pauses a queued, running or waiting job. A running job stops between two
  /// steps and gives its slot back. Returns once `paused` is durable.
  result<void> pause(job_id id);
  /// Queues a paused job again; it continues from where it paused.
  result<void> resume(job_id id);
  /// Cancels a queued, running, waiting or paused job. A running job stops at
  /// its next step; returns once `cancelled` is durable.
  result<void> cancel(job_id id);
  /// Queues a failed job again, with its attempt count kept.
  result<void> retry(job_id id);
  /// Sends a signal to an unfinished job; returns once it is durable. The job
  /// gets it in `on_signal`, in order, between two steps (when it runs next, if
  /// it is queued, waiting or paused; at once, if it waits for a signal).
  /// Errors: not_found, illegal_transition (a finished job), invalid_argument
  /// (a name of 0 or over 128 bytes, a number that is not finite),
  /// payload_too_large.
  result<void> signal(job_id id, std::string_view name, boost::json::value payload = nullptr);

  // -- administration ---------------------------------------------------------------

  /// Deletes a finished job with its checkpoint (and frees its idempotency key).
  /// An unfinished job is refused: cancel it first.
  result<void> remove(job_id id);
  /// Deletes every job with a finished `status` (completed, failed or cancelled);
  /// returns how many.
  result<std::size_t> clear(job_status status);
  /// Fails a queued, running or waiting job at once (its actor, if any, is
  /// killed), without retry: for a job that is stuck.
  result<void> force_fail(job_id id, std::string reason = "failed by an operator");
  /// No new job of `type` starts until `resume_type`; with `pause_running`, its
  /// running jobs are paused too. Survives restarts.
  result<void> pause_type(std::string_view type, bool pause_running = false);
  result<void> resume_type(std::string_view type);

  /// The whole record, with live progress for a running job. Its status is the
  /// durable one: a status a crash could take back is never shown.
  result<job_record> get(job_id id);
  /// The actor of a running job (or of a paused one that kept it), for other
  /// actors of the host to send it the messages its `handlers` take. Errors:
  /// not_found, illegal_transition (a job that has no actor now: queued,
  /// waiting, finished; or one running on a worker node, whose actor is in that
  /// process: signals reach it). A job without handlers leaves such messages in
  /// its mailbox until its run ends.
  result<caf::actor> actor_of(job_id id);
  /// Waits until the job is completed, failed or cancelled and returns its
  /// final record, durable by then; at once for a finished job. Errors:
  /// not_found, timeout (the job goes on), shutting_down. Any thread.
  result<job_record> wait(job_id id, std::chrono::milliseconds timeout);
  /// Filtered, paged, newest first.
  result<list_page> list(const list_query& q = {});

  /// Status and progress events, delivered on a thread of the runtime's. A slow
  /// callback never slows the jobs: progress is coalesced and buffers are bounded.
  subscription subscribe(std::function<void(const job_event&)> callback,
                         event_filter filter = {});
  /// The same, delivered to an actor as `job_event` messages.
  subscription subscribe(const caf::actor& subscriber, event_filter filter = {});

  // -- recurring schedules (jobrt/schedule.hpp) ------------------------------------

  /// Creates the schedule `name`, or replaces its rule, job and options (a
  /// replaced schedule keeps its `last_tick`: ticks it handled do not fire
  /// again). `spec` is a cron expression, a macro or an interval (see
  /// `tick_rule::parse`); every tick submits a job of `type` with `params`.
  /// Returns the schedule, durable, with its next tick. Errors: invalid_argument
  /// (a bad spec, time zone, name or option), unknown_job_type, invalid_params,
  /// payload_too_large, storage_full, shutting_down.
  result<schedule_info> schedule(std::string_view name, std::string_view spec,
                                 std::string_view type, const boost::json::value& params,
                                 const schedule_options& opts = {});
  /// Deletes a schedule; the jobs it submitted stay. not_found if there is none.
  result<void> unschedule(std::string_view name);
  /// No tick fires while paused; ticks that pass meanwhile are skipped, whatever
  /// `on_missed` says (resuming does not make up for them).
  result<void> pause_schedule(std::string_view name);
  result<void> resume_schedule(std::string_view name);
  /// Every schedule, by name, with its next tick.
  result<std::vector<schedule_info>> list_schedules();

  // -- the runtime --------------------------------------------------------------------

  std::vector<job_type_info> job_types() const;
  result<runtime_stats> stats();

  // -- asynchronous forms ---------------------------------------------------------------
  //
  // Each does what the synchronous call of the same name does, without blocking:
  // with a handler it returns nothing and calls the handler once (`completion`);
  // without one it returns a future. Submits answer with `submitted`.
  //
  //   rt.submit_async("email.send", params, {}, [](jobrt::result<jobrt::submitted> r) {
  //     // on a runtime thread: hand r to your own executor or actor
  //   });
  //   auto fut = rt.cancel_async(id); // std::future<result<void>>

  void submit_async(std::string_view type, const boost::json::value& params,
                    const submit_options& opts, completion<submitted> done);
  std::future<result<submitted>> submit_async(std::string_view type,
                                              const boost::json::value& params,
                                              const submit_options& opts = {});
  void submit_json_async(std::string_view type, std::string_view params_json,
                         const submit_options& opts, completion<submitted> done);
  std::future<result<submitted>> submit_json_async(std::string_view type,
                                                   std::string_view params_json,
                                                   const submit_options& opts = {});
  void submit_many_async(std::string_view type, std::vector<boost::json::value> params,
                         const submit_options& opts, completion<std::vector<job_id>> done);
  std::future<result<std::vector<job_id>>>
  submit_many_async(std::string_view type, std::vector<boost::json::value> params,
                    const submit_options& opts = {});

  void pause_async(job_id id, completion<void> done);
  std::future<result<void>> pause_async(job_id id);
  void resume_async(job_id id, completion<void> done);
  std::future<result<void>> resume_async(job_id id);
  void cancel_async(job_id id, completion<void> done);
  std::future<result<void>> cancel_async(job_id id);
  void retry_async(job_id id, completion<void> done);
  std::future<result<void>> retry_async(job_id id);
  void signal_async(job_id id, std::string_view name, boost::json::value payload,
                    completion<void> done);
  std::future<result<void>> signal_async(job_id id, std::string_view name,
                                         boost::json::value payload = nullptr);

  void remove_async(job_id id, completion<void> done);
  std::future<result<void>> remove_async(job_id id);
  void clear_async(job_status status, completion<std::size_t> done);
  std::future<result<std::size_t>> clear_async(job_status status);
  void force_fail_async(job_id id, std::string reason, completion<void> done);
  std::future<result<void>> force_fail_async(job_id id,
                                             std::string reason = "failed by an operator");
  void pause_type_async(std::string_view type, bool pause_running, completion<void> done);
  std::future<result<void>> pause_type_async(std::string_view type, bool pause_running = false);
  void resume_type_async(std::string_view type, completion<void> done);
  std::future<result<void>> resume_type_async(std::string_view type);

  void get_async(job_id id, completion<job_record> done);
  std::future<result<job_record>> get_async(job_id id);
  void actor_of_async(job_id id, completion<caf::actor> done);
  std::future<result<caf::actor>> actor_of_async(job_id id);
  /// Answers once the job is completed, failed or cancelled (no timeout: the
  /// answer comes when the job finishes, or with shutting_down).
  void wait_async(job_id id, completion<job_record> done);
  std::future<result<job_record>> wait_async(job_id id);
  /// Reads the page on the calling thread (an LMDB read: no lock, no wait for a
  /// writer), then adds live progress through the scheduler.
  void list_async(const list_query& q, completion<list_page> done);
  std::future<result<list_page>> list_async(const list_query& q = {});
  void stats_async(completion<runtime_stats> done);
  std::future<result<runtime_stats>> stats_async();
  void schedule_async(std::string_view name, std::string_view spec, std::string_view type,
                      const boost::json::value& params, const schedule_options& opts,
                      completion<schedule_info> done);
  std::future<result<schedule_info>> schedule_async(std::string_view name,
                                                    std::string_view spec,
                                                    std::string_view type,
                                                    const boost::json::value& params,
                                                    const schedule_options& opts = {});
  void unschedule_async(std::string_view name, completion<void> done);
  std::future<result<void>> unschedule_async(std::string_view name);
  void pause_schedule_async(std::string_view name, completion<void> done);
  std::future<result<void>> pause_schedule_async(std::string_view name);
  void resume_schedule_async(std::string_view name, completion<void> done);
  std::future<result<void>> resume_schedule_async(std::string_view name);
  void list_schedules_async(completion<std::vector<schedule_info>> done);
  std::future<result<std::vector<schedule_info>>> list_schedules_async();
  /// Stops taking work, stops running jobs at their next step (they stay
  /// `running` in the store and resume from their checkpoint on the next start),
  /// and closes the store. Idempotent.
  void shutdown();

  caf::actor_system& system();
  const runtime_options& options() const;
  /// The port worker nodes join on (`runtime_options::workers`; with port 0,
  /// the one the system chose); none if this runtime takes no worker nodes.
  std::optional<std::uint16_t> workers_port() const;

private:
  struct impl;
  explicit runtime(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace jobrt
