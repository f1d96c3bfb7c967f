#pragma once

// jobrt-bench's command line: the sizes of each scenario, the options and --help.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace bench {

struct sizes {
  std::size_t noop_n;          // scenarios 1 and 2
  std::size_t ckpt_jobs;       // scenario 3
  std::size_t ckpt_steps;      // scenario 3
  std::size_t control_queued;  // scenario 4
  std::size_t control_samples; // scenario 4
  std::size_t recovery_n;      // scenario 5
  std::size_t memory_n;        // scenario 6
  std::vector<std::size_t> scale_n;   // scenario 7
  std::vector<std::size_t> scale_cap; // scenario 7
  /// Scenario 7: a point of fewer jobs than this is run again (up to 9 times)
  /// and its median kept, so that a short point is not one pause of the machine.
  std::size_t scale_min_jobs;
  std::size_t signal_n;     // scenario 8: signals to a running job
  std::size_t signal_wakes; // scenario 8: wakes of a waiting job (and the burst)
  std::size_t http_n;       // http: requests per run (1 durable connection: at most http_n1)
  std::size_t http_n1;
  std::size_t schedule_n; // schedules: schedules due at the same tick
  std::size_t fanout_k;   // fanout: children of the one parent
  std::size_t nodes_n;          // nodes: no-op jobs per drain (and bare CAF round trips)
  std::size_t nodes_ckpt_jobs;  // nodes: checkpointing jobs of 1 ms steps
  std::size_t nodes_ckpt_steps; // nodes: their steps (a checkpoint after each)
};

/// The sizes of a plain run (neither --full nor --smoke).
sizes default_sizes();

struct config {
  bool full = false;
  bool smoke = false;
  bool json_out = false;
  bool quiet = false;
  std::string plot;
  std::string scenario; // empty: all
  std::vector<std::string> policies; ///< empty: the runtime's choice for 1-6, both for scaling
  std::optional<std::size_t> n;
  std::size_t threads = 0;
  std::size_t lmdb_batch = 1000;
  std::size_t cap = 8;
  std::string dir;
  std::string server; ///< jobrt-server for the http scenario; empty: next to jobrt-bench
  sizes sz = default_sizes();
};

void print_help();

/// Parses the command line; --help prints the help and exits. Throws
/// std::invalid_argument on a bad option.
config parse(int argc, char** argv);

} // namespace bench
