#pragma once

// Shared declarations of jobrt-bench: the bench job types' counters and the
// baselines (plain thread pool, bare CAF, raw LMDB) measured in the same run.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

// -- job types (jobs.cpp) --------------------------------------------------------------
//   bench.noop   completes in its first step
//   bench.ckpt   params {k}: k steps, a checkpoint after each, then completes
//   bench.hold   suspends in its first step and never completes (stays running)
//   bench.spin   steps forever without checkpoints (keeps the workers busy)
//   bench.steps  params {k}: k steps without checkpoints, then completes
//   bench.listen params {k}: stays running (suspended), completes after k signals
//   bench.waiter params {k}: waits for a signal (checkpoint first) k times, then completes

inline constexpr const char* noop_type = "bench.noop";
inline constexpr const char* ckpt_type = "bench.ckpt";
inline constexpr const char* hold_type = "bench.hold";
inline constexpr const char* spin_type = "bench.spin";
inline constexpr const char* steps_type = "bench.steps";
inline constexpr const char* listen_type = "bench.listen";
inline constexpr const char* waiter_type = "bench.waiter";

/// Steady-clock nanoseconds of the first step any bench.hold job ran (0 = none yet).
extern std::atomic<std::int64_t> first_hold_step_ns;
/// First steps bench.listen jobs ran.
extern std::atomic<std::int64_t> listen_started;
/// Steps bench.waiter jobs ran, and the steady-clock ns of the last one.
extern std::atomic<std::int64_t> waiter_steps;
extern std::atomic<std::int64_t> waiter_step_ns;
/// Forces jobs.cpp to be linked (its static registrations live there).
void link_jobs();

std::int64_t now_ns();

/// The no-op "work" every baseline and bench.noop run: an opaque call.
void noop_work();

// -- memory ---------------------------------------------------------------------------

struct rss {
  std::int64_t total = 0; ///< resident bytes (statm field 2)
  std::int64_t anon = 0;  ///< resident minus shared (file-backed) bytes
  std::int64_t heap = 0;  ///< malloc'd bytes in use, all arenas (mallinfo2)
};
rss read_rss();

// -- latency statistics -------------------------------------------------------------

struct latency {
  double p50_us = 0, p99_us = 0, max_us = 0, mean_us = 0;
  std::size_t n = 0;
};
latency summarize(std::vector<double> us);

// -- baselines (baselines.cpp) --------------------------------------------------------

/// (a) A plain pool of `threads` threads draining a mutex-guarded queue of N
/// no-op tasks pushed by one thread. Returns jobs/s (first push to last completion).
double baseline_thread_pool(std::size_t n, std::size_t threads);

/// (b) A bare CAF 0.17.6 program: one spawner actor keeps at most `cap` short-lived
/// actors alive; each does the no-op in its first message and quits; the spawner
/// spawns the next on its down message. Returns jobs/s.
double baseline_caf(std::size_t n, std::size_t cap, const std::string& policy,
                    std::size_t threads);

/// (c) Raw LMDB: `n` values of `value_bytes` under u64 big-endian keys, `batch` puts
/// per write transaction, fsync per commit iff `sync`. Returns records/s.
double baseline_lmdb_write(const std::string& dir, std::size_t n, std::size_t value_bytes,
                           std::size_t batch, bool sync);

/// (c) Raw LMDB, the ideal group commit of K: `baseline_lmdb_write(dir, n, value_bytes,
/// K, true)`, one thread putting K records per fsynced transaction. What K writers
/// with one write in flight each could get at most from a group commit.

/// (c) Raw LMDB, a real group commit: `writers` threads each hand one put at a time
/// to a committer thread, which writes whatever is pending in one transaction (fsync
/// iff `sync`) and wakes them. Returns puts/s.
double baseline_lmdb_group_commit(const std::string& dir, std::size_t n, std::size_t value_bytes,
                                  std::size_t writers, bool sync);

/// (c) Raw LMDB, two puts per job: a job's submit record (an insert) and its
/// completion record (an overwrite of the same key), in two consecutive
/// transactions of `jobs_per_txn` jobs' puts each (fsync iff `sync`): each commit
/// inserts one batch and completes the batch before it. Returns jobs/s.
double baseline_lmdb_two_puts(const std::string& dir, std::size_t jobs, std::size_t value_bytes,
                              std::size_t jobs_per_txn, bool sync);

/// Raw LMDB: writes `n` records (no sync) then times a full cursor scan that reads
/// every value. Returns the scan's seconds.
double baseline_lmdb_scan(const std::string& dir, std::size_t n, std::size_t value_bytes);

/// Raw LMDB: latency of one put + commit (fsync iff `sync`).
latency baseline_lmdb_commit_latency(const std::string& dir, std::size_t samples,
                                     std::size_t value_bytes, bool sync);

/// Bare CAF: host-thread request/response round trip (anon_send + promise, as the
/// jobrt facade does) to an idle actor while `spinners` actors keep the workers busy
/// by sending themselves messages. Needs a finite `max_throughput`: with CAF's
/// default (unbounded) the spinners never give their worker back and the echo
/// actor never runs.
latency baseline_caf_roundtrip(std::size_t samples, std::size_t spinners,
                               const std::string& policy, std::size_t threads,
                               std::size_t max_throughput);

/// The same round trip; every sample's microseconds, in the order taken.
std::vector<double> caf_roundtrip_samples(std::size_t samples, std::size_t spinners,
                                          const std::string& policy, std::size_t threads,
                                          std::size_t max_throughput);

/// Raw LMDB: one put + commit (fsync iff `sync`), `samples` times; every
/// sample's microseconds, in the order taken.
std::vector<double> lmdb_commit_samples(const std::string& dir, std::size_t samples,
                                        std::size_t value_bytes, bool sync);

/// Bare CAF: bytes per idle live actor (n actors spawned and kept): the larger of
/// the anonymous-RSS and the malloc-in-use growth.
double baseline_caf_actor_bytes(std::size_t n, const std::string& policy, std::size_t threads);

/// Average value size of the named database in an LMDB env (read with raw LMDB).
/// 0 if it cannot be read.
double lmdb_avg_value_bytes(const std::string& dir, const char* db);

} // namespace bench
