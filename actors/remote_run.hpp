#pragma once

/// A remote run: the coordinator's stand-in for one run of a job on a worker
/// node. The scheduler treats it as the job's actor (it monitors it, and sends
/// it what it sends a job actor); it forwards that to the node's agent with the
/// run's number, and passes back to the scheduler what the agent reports of
/// this job and this run only. Checkpoints the job sends are written here, and
/// acknowledged to the worker once durable.
///
/// Fencing: when the scheduler takes the run back (the node was lost, or the
/// run timed out), it kills this actor. What the worker sends afterwards
/// reaches no actor, and the agent is told to stop the run; so a job never
/// runs in two places at once.

#include <cstdint>

#include "caf/fwd.hpp"

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt {

/// Spawns the stand-in for run `run` of `start.id` on the node of `agent`,
/// monitored by `scheduler` (the caller), and sends the agent the start.
caf::actor spawn_remote_run(caf::local_actor* scheduler, env_ptr env, caf::actor agent,
                            std::uint64_t run, proto::job_start start);

} // namespace jobrt
