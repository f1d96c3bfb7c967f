#pragma once

/// What `runtime::stats` reports: counts the scheduler keeps and latency
/// histograms, for dashboards and metrics. Plain structs; no behaviour.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "jobrt/nodes.hpp"
#include "jobrt/status.hpp"

namespace jobrt {

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
  /// Store transactions committed since start (with `durable`, an fsync each):
  /// over `submitted + completed`, how many jobs' writes each commit carried.
  std::uint64_t commits = 0;
  /// Status changes the scheduler refused itself since start (each is logged):
  /// always 0 unless there is a bug; the change was not made.
  std::uint64_t refused_transitions = 0;
  std::vector<std::string> paused_types;
  std::size_t schedules = 0;                ///< recurring schedules, paused ones included
  std::uint64_t schedule_ticks_fired = 0;   ///< ticks that submitted a job, since start
  /// Ticks that submitted nothing (missed, overlapping, or their type gone), since start.
  std::uint64_t schedule_ticks_skipped = 0;
  /// From a job's checkpoint request to the moment it is durable.
  latency_histogram checkpoint_latency;
  /// The worker nodes connected now (`runtime_options::workers`), by id.
  std::vector<node_stats> nodes;
  node_traffic node_counters;
};

} // namespace jobrt
