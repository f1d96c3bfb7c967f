#pragma once

/// A worker node: a process that links the same job types as a coordinator
/// (a `runtime` started with `runtime_options::workers.port`) and runs jobs for
/// it. It joins over CAF's network layer, proves itself with the shared secret
/// (and mutual TLS when certificates are set), announces its slots, and then
/// runs each job it is handed in the same job actor a local job runs in:
/// steps, progress, checkpoints (acknowledged to the job once durable on the
/// coordinator), signals, rate limits, retries, timeouts, pause, resume and
/// cancel all behave as they do locally.
///
///     jobrt::worker_options o;
///     o.coordinator_port = 7300;
///     o.secret = "s3cret";
///     auto w = jobrt::worker::start(o);   // returns at once; joins in the background
///     ...
///     (*w)->stop();                        // its runs go back to the coordinator's queue
///
/// When the coordinator goes away (or stops hearing from this node for its
/// `node_timeout`), the worker stops every run it holds at once, since the
/// coordinator hands those jobs to others, and joins again with backoff. Every
/// run carries a run number; the coordinator drops any message of a run it took
/// back, so no job runs in two places at once. A job on a worker cannot spawn
/// children or read theirs (`context::spawn_child`, `context::children`): the
/// store is the coordinator's.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "jobrt/error.hpp"
#include "jobrt/nodes.hpp"
#include "jobrt/services.hpp"

namespace jobrt {

class registry;

struct worker_options {
  std::string coordinator_host = "127.0.0.1";
  std::uint16_t coordinator_port = 0; ///< required
  std::string secret;                 ///< the coordinator's `workers.secret`
  tls_files tls;                      ///< all three files, or none
  /// How the coordinator lists this node; host:pid unless set.
  std::string name;
  /// Jobs it runs at once.
  std::size_t slots = 4;
  /// The types it runs, each with a cap of its own (0: only `slots` applies).
  /// Empty: every type of `types`.
  std::map<std::string, std::size_t> types_run;
  /// The job types; the global registry unless set.
  const registry* types = nullptr;
  /// What its jobs reach with `ctx.service<T>()`.
  jobrt::services services;
  /// How often it tells the coordinator it is alive (well below the
  /// coordinator's `node_timeout`).
  std::chrono::milliseconds heartbeat_interval{500};
  /// Backoff between attempts to join: doubles from the first to the last.
  std::chrono::milliseconds reconnect_first{100};
  std::chrono::milliseconds reconnect_last{3000};
  /// Largest checkpoint state it sends, in bytes of JSON.
  std::size_t max_payload_bytes = std::size_t{1} << 20;
  /// A run suspended this long with no reply moving it on fails (as locally).
  std::chrono::milliseconds max_suspended{std::chrono::minutes{10}};
  /// Threads of its actor system: 0 = as `runtime_options::worker_threads`.
  std::size_t worker_threads = 0;
};

/// What a worker counts, since it started.
struct worker_stats {
  bool connected = false;     ///< it has been welcomed and its link is up
  std::uint64_t node_id = 0;  ///< the id the coordinator gave it (0: none yet)
  std::uint64_t joins = 0;    ///< times it was welcomed
  std::uint64_t refusals = 0; ///< hellos the coordinator refused
  std::size_t running = 0;    ///< runs it holds now
  std::uint64_t runs_started = 0;
  std::uint64_t runs_stopped = 0; ///< taken back: the coordinator went away or fenced it
  std::string last_error;     ///< why the last join failed, if it did
};

class worker {
public:
  /// Checks the options, starts the actor system and begins joining in the
  /// background; returns at once. Fails on options that cannot work (no port,
  /// no secret and no TLS, some but not all TLS files, no job types).
  static result<std::unique_ptr<worker>> start(worker_options opts);

  /// Blocks until the coordinator has welcomed it, at most `timeout`.
  bool wait_joined(std::chrono::milliseconds timeout);
  worker_stats stats() const;
  /// Stops its runs (they resume from their checkpoints elsewhere) and leaves.
  void stop();
  ~worker();

  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

private:
  struct impl;
  explicit worker(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace jobrt
