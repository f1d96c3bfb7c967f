#pragma once

/// The job actor: one per running job. It builds the user's job from its
/// parameters (and checkpoint), sends itself one `step` message per unit of
/// work, and between steps takes pause, resume, cancel and stop. Paused means
/// the actor switches to a behavior that has no `step` handler, so the step
/// waits in the mailbox (CAF's `skip`) until resume; there is no polling flag.

#include "caf/fwd.hpp"

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt {

/// Spawns a job actor, monitored by `scheduler` (which must be the caller).
/// Blocking job types get their own thread.
caf::actor spawn_job_actor(caf::event_based_actor* scheduler, env_ptr env,
                           proto::job_start start, bool blocking);

} // namespace jobrt
