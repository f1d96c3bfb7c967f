#pragma once

/// The node agent: a worker node's one actor facing its coordinator
/// (jobrt/worker.hpp). It says hello to the coordinator's gate, then runs each
/// job a remote run hands it in a job actor of its own process, the same actor
/// a local job runs in. To those job actors it is both the scheduler (it
/// passes what they report to their remote run, with the run's number) and the
/// persistence actor (a checkpoint goes to the coordinator, and the job hears
/// back once it is durable there).
///
/// It stops every run it holds, and ends, when the coordinator goes away or
/// evicts it; the worker then joins again with a new agent. A run the
/// coordinator takes back is stopped at once; what its job actor still sends
/// is dropped here, or by the coordinator (the run's stand-in is gone).

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "caf/fwd.hpp"

#include "jobrt/worker.hpp"

#include "actors/env.hpp"
#include "actors/node_wire.hpp"

namespace jobrt {

/// What the agents of one worker tell it (`worker::stats`, `wait_joined`).
struct agent_report {
  std::mutex mtx;
  std::condition_variable changed;
  worker_stats stats;

  template <class F>
  void update(F f) {
    {
      std::lock_guard lock{mtx};
      f(stats);
    }
    changed.notify_all();
  }
};

struct agent_config {
  std::string name;
  std::string secret;
  node_wire::offer offer;
  std::chrono::milliseconds heartbeat_interval{500};
};

/// Spawns an agent for `gate` (the coordinator's, a remote actor). `env` is the
/// worker's: no store, and the agent stands in for persistence.
caf::actor spawn_node_agent(caf::actor_system& sys, env_ptr env, caf::actor gate,
                            agent_config cfg, std::shared_ptr<agent_report> report);

} // namespace jobrt
