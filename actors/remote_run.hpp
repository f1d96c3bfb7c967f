#pragma once

/// A remote run: the coordinator's stand-in for one run of a job on a worker
/// node. The scheduler treats it as the job's actor (it monitors it, and sends
/// it what it sends a job actor); it forwards that to the node's agent with the
/// run's number, and passes back to the scheduler what the agent reports of
/// this job and this run only. Checkpoints the job sends are written here, and
/// acknowledged to the worker once durable.
///
/// Fencing: when the scheduler takes a run back (the node was lost, or the run
/// timed out), it kills the stand-in. What the worker sends afterwards reaches
/// no actor, and the agent is told to stop the run; so a job never runs in two
/// places at once. A stand-in kept for another run drops every message that
/// names an earlier one (job and run number).

#include <cstdint>

#include "caf/fwd.hpp"

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt {

/// Spawns a stand-in on the node of `agent`, monitored by `scheduler` (the
/// caller), and hands the node its first run, `start` (numbered `start.run`).
/// Once a run ends on its own, the stand-in reports it as a reusable actor
/// does, and takes the node's next run as `(run_atom, job_start)`.
caf::actor spawn_remote_run(caf::local_actor* scheduler, env_ptr env, caf::actor agent,
                            proto::job_start start);

} // namespace jobrt
