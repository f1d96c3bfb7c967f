#pragma once

/// The job actor: runs one job at a time. It builds the user's job from its
/// parameters (and checkpoint), sends itself one `step` message per unit of
/// work, and between steps takes pause, resume, cancel and stop. Paused means
/// the actor switches to a behavior that has no `step` handler, so the step
/// waits in the mailbox (CAF's `skip`) until resume; there is no polling flag.
///
/// When its job ends, the actor reports the outcome and, unless the job's code
/// used the actor itself (`ctx.self()`: requests whose replies may still be on
/// their way, handlers it installed), stays alive for the scheduler to hand it
/// the next job. Spawning and tearing down an actor per job is what a no-op job
/// would otherwise cost most; a reused actor starts each job afresh, and every
/// message of an earlier job is recognised as stale and dropped.

#include "caf/fwd.hpp"

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt {

/// Spawns a job actor that starts with `first`, monitored by `scheduler` (which
/// must be the caller). Blocking job types get an actor with a thread of its own.
caf::actor spawn_job_actor(caf::event_based_actor* scheduler, env_ptr env,
                           proto::job_start first, bool blocking);

} // namespace jobrt
