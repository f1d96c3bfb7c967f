#pragma once

/// The runtime facade: the one object a host service talks to. Every member
/// function is thread-safe and may be called from any thread of the host; calls
/// block only until the runtime's actors answer.
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

#include "caf/allowed_unsafe_message_type.hpp"

#include "jobrt/clock.hpp"
#include "jobrt/error.hpp"
#include "jobrt/record.hpp"
#include "jobrt/registry.hpp"
#include "jobrt/services.hpp"
#include "jobrt/status.hpp"

namespace caf {
class actor_system;
class actor;
} // namespace caf

namespace jobrt {

/// Where a runtime keeps its jobs.
enum class storage_kind : std::uint8_t {
  /// An LMDB store in `runtime_options::data_dir`: jobs survive a crash or a
  /// restart of the process and resume from their last checkpoint.
  lmdb,
  /// In the process's memory: the fastest, and every job is gone when the
  /// process ends (tests, caches, work that is cheap to redo). Everything else
  /// (steering, limits, retries, progress, list and get) works the same.
  memory,
};

struct runtime_options {
  /// Where jobs are kept: LMDB in `data_dir` (the default), or memory.
  storage_kind storage = storage_kind::lmdb;
  /// Directory of the LMDB job store; created if missing, but its parent must
  /// exist: a mistyped path or a volume that is not mounted fails `start` with
  /// `storage_error` rather than starting an empty store. Required for `lmdb`.
  std::string data_dir;
  /// LMDB only. true: every acknowledged write is fsynced. false: writes survive
  /// a crash of the process but not of the machine (much faster).
  bool durable = true;
  /// How many jobs may run at once, over all types.
  std::size_t max_running = 8;
  /// Every this-many starts, the oldest queued job starts whatever its priority,
  /// so that a stream of high-priority jobs cannot starve a low one; 0 = never.
  std::uint32_t fairness_every = 10;
  /// How long finished jobs are kept (record and checkpoint) before they are
  /// deleted, per status; a status not listed (or 0) is kept forever.
  std::map<job_status, std::chrono::milliseconds> retention{
    {job_status::completed, std::chrono::hours(24)},
    {job_status::failed, std::chrono::hours(24)},
    {job_status::cancelled, std::chrono::hours(24)},
  };
  /// How often expired finished jobs are looked for.
  std::chrono::milliseconds retention_sweep_every{60'000};
  /// Limits shared by the job types that name them in `options().uses`.
  std::vector<resource_limit> resources;
  /// Per-type caps; they override a type's own `options().max_running`.
  std::map<std::string, std::size_t> max_running_per_type;
  /// Largest accepted parameters, checkpoint state or output, in bytes of JSON.
  std::size_t max_payload_bytes = std::size_t{1} << 20;
  /// Progress events of one job reach subscribers at most this often.
  std::chrono::milliseconds progress_interval{100};
  /// How long a facade call waits for the runtime's actors before `timeout`
  /// (at most a year: see `max_single_wait`).
  std::chrono::milliseconds call_timeout{30'000};
  /// What jobs reach with `ctx.service<T>()`: the host's actor handles,
  /// clients and pools (see services.hpp).
  jobrt::services services;
  /// A run suspended this long with no reply handler moving it on fails with a
  /// transient error (`context::max_suspended`); 0 = never.
  std::chrono::milliseconds max_suspended{std::chrono::minutes{10}};
  /// A subscriber that is there from the first moment: it is subscribed before
  /// recovery starts any job, so it hears every event of the recovered jobs too
  /// (a `subscribe` after `start` returns may miss the first ones). Same rules
  /// as `runtime::subscribe`; it ends with the runtime.
  std::function<void(const job_event&)> on_event;
  /// The job types; the global registry unless set.
  const registry* types = nullptr;
  /// Wall time and timers; the system clock unless set (tests inject a manual_clock).
  std::shared_ptr<jobrt::clock> clock;
  /// Initial LMDB map size; it grows on demand.
  std::size_t initial_map_size = std::size_t{64} << 20;
  /// The map never grows past this; beyond it submits fail with `storage_full`.
  std::size_t max_map_size = std::size_t{64} << 30;
  /// Settings for the actor system the runtime creates when the host gives none.
  /// Worker threads: 0 = one fewer than the machine's cores, so that a core stays
  /// free for the host's own threads, the store's writer and the callers of the
  /// facade, but at least two: with a single work-stealing worker, two actors
  /// that keep messaging each other can hold it (see `scheduler_policy`), and a
  /// second worker steals the scheduler away from them. Set it to the core count
  /// when jobs are CPU-bound; 1 (with the sharing policy it then gets) gives the
  /// shortest control-call tails on a busy 2-core machine, but every synchronous
  /// call waits for a sleeping thread to wake (bench/RESULTS.md has the figures).
  std::size_t worker_threads = 0;
  /// CAF's scheduler policy: "stealing", "sharing", or "" to choose: sharing
  /// with one worker or an LMDB store, stealing in memory.
  /// - One worker: stealing has nothing to steal from, and its last-in-first-out
  ///   local queue lets two actors that keep messaging each other (a job
  ///   checkpointing every step, and the writer) hold the thread while the
  ///   scheduler waits behind them; sharing is first in, first out.
  /// - LMDB: actors wait on commits (answered from the writer's own thread when
  ///   durable); sharing wakes a worker for the answer at once, stealing finds it
  ///   at its next poll. On 2 cores a durable bulk drain ran at 170k jobs/s with
  ///   sharing and 97k with stealing, and 1M jobs without fsync at 99k against
  ///   62k; a lone synchronous submitter without fsync is slower with sharing
  ///   (15k against 31k jobs/s). In memory stealing is faster (225k against 136k,
  ///   a synchronous submit 6 times faster). bench/RESULTS.md has the figures.
  std::string scheduler_policy;
  /// How many nice levels below the host's threads the threads that run job code
  /// run (0 = the same). Background jobs then yield the CPU to the host's own
  /// work and to the store's writer thread, so a facade call or a commit is not
  /// kept waiting behind job code on a busy machine. Only for the actor system
  /// the runtime creates: a host's actor system is left as it is.
  int worker_nice = 5;
};

/// Which events a subscriber wants; empty fields match everything.
struct event_filter {
  job_id id = 0;
  std::string owner;
  bool progress = true; ///< false: status changes only
};

/// Keeps a subscription alive; destroying it (or `cancel()`) unsubscribes.
class subscription {
public:
  subscription() = default;
  explicit subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  subscription(subscription&& other) noexcept : cancel_(std::move(other.cancel_)) {
    other.cancel_ = nullptr;
  }
  subscription& operator=(subscription&& other) noexcept {
    if (this != &other) {
      cancel();
      cancel_ = std::move(other.cancel_);
      other.cancel_ = nullptr;
    }
    return *this;
  }
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  ~subscription() { cancel(); }

  void cancel() {
    if (cancel_) {
      auto f = std::move(cancel_);
      cancel_ = nullptr;
      f();
    }
  }

private:
  std::function<void()> cancel_;
};

/// A latency histogram: `counts[i]` observations at or below `bounds_seconds[i]`
/// (cumulative, as Prometheus wants), `count` in all, `sum_seconds` their total.
struct latency_histogram {
  std::vector<double> bounds_seconds;
  std::vector<std::uint64_t> counts;
  std::uint64_t count = 0;
  double sum_seconds = 0;
};

/// Counts the scheduler keeps, for dashboards and metrics.
struct runtime_stats {
  std::map<job_status, std::uint64_t> jobs_by_status; ///< unfinished jobs known to the scheduler
  std::size_t running = 0;
  std::size_t queued = 0;
  std::uint64_t submitted = 0;  ///< since start
  std::uint64_t completed = 0;  ///< since start
  std::uint64_t failed = 0;     ///< since start
  std::uint64_t recovered = 0;  ///< unfinished jobs found at start
  std::uint64_t quarantined = 0; ///< corrupt records moved aside at start
  std::uint64_t deleted = 0;     ///< finished jobs deleted (retention and admin) since start
  /// Status changes the scheduler refused itself since start (each is logged):
  /// always 0 unless there is a bug; the change was not made.
  std::uint64_t refused_transitions = 0;
  std::vector<std::string> paused_types;
  /// From a job's checkpoint request to the moment it is durable.
  latency_histogram checkpoint_latency;
};

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
  /// waiting, finished). A job without handlers leaves such messages in its
  /// mailbox until its run ends.
  result<caf::actor> actor_of(job_id id);
  /// Waits until the job is completed, failed or cancelled and returns its
  /// final record, durable by then; at once for a finished job. Errors:
  /// not_found, timeout (the job goes on), shutting_down. Any thread.
  result<job_record> wait(job_id id, std::chrono::milliseconds timeout);
  /// The same without blocking: the future is ready once the job finished (or
  /// with shutting_down when the runtime stops first).
  std::future<result<job_record>> wait_async(job_id id);
  /// Filtered, paged, newest first.
  result<list_page> list(const list_query& q = {});

  /// Status and progress events, delivered on a thread of the runtime's. A slow
  /// callback never slows the jobs: progress is coalesced and buffers are bounded.
  subscription subscribe(std::function<void(const job_event&)> callback,
                         event_filter filter = {});
  /// The same, delivered to an actor as `job_event` messages.
  subscription subscribe(const caf::actor& subscriber, event_filter filter = {});

  // -- the runtime --------------------------------------------------------------------

  std::vector<job_type_info> job_types() const;
  result<runtime_stats> stats();
  /// Stops taking work, stops running jobs at their next step (they stay
  /// `running` in the store and resume from their checkpoint on the next start),
  /// and closes the store. Idempotent.
  void shutdown();

  caf::actor_system& system();
  const runtime_options& options() const;

  struct impl;

private:
  explicit runtime(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace jobrt

/// Actors that subscribe receive `job_event` messages.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::job_event)
