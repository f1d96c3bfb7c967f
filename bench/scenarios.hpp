#pragma once

// The entry points of jobrt-bench's scenarios. Each adds its rows (and the scaling
// scenario its points) to the results of report.hpp. `asked` is the --policy of
// the run, or empty for the runtime's own choice for each store (policy_for).

#include <string>
#include <vector>

#include "options.hpp"

namespace bench {

/// 1. No-op jobs in memory, vs a thread pool and a bare CAF program (scenario_noop.cpp).
void scenario_noop_mem(const config& c, const std::string& asked);
/// 2. No-op jobs, durable, vs raw LMDB (scenario_noop.cpp).
void scenario_noop_durable(const config& c, const std::string& asked);
/// 3. Checkpoint-heavy jobs (scenario_checkpoint.cpp).
void scenario_checkpoint(const config& c, const std::string& asked);
/// 4. Control latency under load (scenario_control.cpp).
void scenario_control(const config& c, const std::string& asked);
/// 5. Recovery of N unfinished jobs (scenario_recovery.cpp).
void scenario_recovery(const config& c, const std::string& asked);
/// 6. Memory per queued, running and paused job (scenario_memory.cpp).
void scenario_memory(const config& c, const std::string& asked);
/// Soak: 1M no-op jobs while 100k paused ones are held (scenario_memory.cpp).
void scenario_soak(const config& c, const std::string& asked);
/// 7. Scaling by N and max_running, for each of `policies` (scenario_scaling.cpp).
void scenario_scaling(const config& c, const std::vector<std::string>& policies);
/// 8. Signals (scenario_signal.cpp).
void scenario_signal(const config& c, const std::string& asked);
/// 9. Submits over HTTP to jobrt-server vs in process (scenario_http.cpp); each run
/// gets the runtime's own policy, as the server does.
void scenario_http(const config& c);
/// 10. N schedules due at one tick, fired by a manual clock, vs a submit_many drain
/// (scenario_schedules.cpp).
void scenario_schedules(const config& c, const std::string& asked);
/// 11. One parent spawns K children and sums their outputs, vs a submit_many drain
/// (scenario_fanout.cpp).
void scenario_fanout(const config& c, const std::string& asked);

/// 12. No-op jobs through 1 and 2 worker processes (a pure coordinator) vs the local
/// drain and a bare CAF remote request/reply baseline; a checkpointing job of 1 ms
/// steps, local vs through one worker (scenario_nodes.cpp).
void scenario_nodes(const config& c, const std::string& asked);

/// The hidden modes the nodes scenario runs this executable in, as child processes:
/// `--worker-node PORT SECRET SLOTS` (a jobrt::worker with the bench job types) and
/// `--caf-echo THREADS` (a bare CAF echo actor, published on loopback). Each runs
/// until SIGTERM and returns the exit code.
int worker_node_main(int argc, char** argv);
int caf_echo_main(int argc, char** argv);

} // namespace bench
