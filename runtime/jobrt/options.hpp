#pragma once

/// How a runtime is set up (`runtime_options`, given to `runtime::start`) and
/// how one job is submitted (`submit_options`). Plain structs; no behaviour.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "jobrt/clock.hpp"
#include "jobrt/limits.hpp"
#include "jobrt/nodes.hpp"
#include "jobrt/record.hpp"
#include "jobrt/services.hpp"
#include "jobrt/status.hpp"

namespace jobrt {

class registry;

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
  /// call waits for a sleeping thread to wake.
  std::size_t worker_threads = 0;
  /// CAF's scheduler policy: "stealing", "sharing", or "" to choose: sharing
  /// with one worker or an LMDB store, stealing in memory.
  /// - One worker: stealing has nothing to steal from, and its last-in-first-out
  ///   local queue lets two actors that keep messaging each other (a job
  ///   checkpointing every step, and the writer) hold the thread while the
  ///   scheduler waits behind them; sharing is first in, first out.
  /// - LMDB: actors wait on commits (answered from the writer's own thread when
  ///   durable); sharing wakes a worker for the answer at once, stealing finds it
  ///   at its next poll. In memory stealing is faster.
  /// Measured: bench/RESULTS.md, "Threads and policies".
  std::string scheduler_policy;
  /// How many nice levels below the host's threads the threads that run job code
  /// run (0 = the same). Background jobs then yield the CPU to the host's own
  /// work and to the store's writer thread, so a facade call or a commit is not
  /// kept waiting behind job code on a busy machine. Only for the actor system
  /// the runtime creates: a host's actor system is left as it is.
  int worker_nice = 5;
  /// Worker nodes: a port to accept them on, and how they prove themselves
  /// (jobrt/nodes.hpp). None by default: every job runs in this process.
  worker_listen_options workers;
};

/// Options for `runtime::submit`.
struct submit_options {
  /// Higher runs first; equal priorities run in submission order.
  std::int32_t priority = 0;
  /// Who the job belongs to (a tenant, a company, a user); used to filter lists.
  std::string owner;
  /// Runs allowed before a transient error fails the job; 0 = the type's default.
  std::uint32_t max_attempts = 0;
  /// Longest time one run may take, in ms; 0 = the type's default (none by default).
  millis timeout_ms = 0;
  /// Do not start before this wall time (ms since the epoch); 0 = at once.
  millis run_at = 0;
  /// A second submit with a key already in use returns the first job's id.
  std::string idempotency_key;
  /// Runs only after these jobs have finished (at most 1000, each must exist):
  /// until then it is `waiting` (`waiting_for: "dependencies"`), without a slot.
  std::vector<job_id> after;
  /// What it does if one of `after` failed or was cancelled.
  dependency_failure on_dependency_failure = dependency_failure::fail;
};

} // namespace jobrt
