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
///
/// It is the one dynamically typed actor (`caf::actor`, `caf::behavior`), and
/// not for want of `skip`: in CAF 0.17.6 a typed handler may return
/// `caf::skip_t` for a message of its interface (`same_output_or_skip_t` in
/// caf/typed_behavior.hpp), so a typed paused behavior could leave `step` in the
/// mailbox. What a typed actor cannot take is the job's own handlers:
/// `job_base::handlers` returns a `caf::behavior` of messages only the job's
/// code knows, added behind the runtime's with `or_else`, while a typed actor
/// `become`s only its `typed_behavior`, which must match its interface exactly
/// (the "exact match needed" assertion there). And `context::self()` hands job
/// code the actor as a `caf::event_based_actor*`, which a typed actor is not.

#include "caf/fwd.hpp"

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt {

/// Spawns a job actor that starts with `first`, monitored by `scheduler` (which
/// must be the caller, typed or not). Blocking job types get an actor with a
/// thread of its own.
caf::actor spawn_job_actor(caf::local_actor* scheduler, env_ptr env, proto::job_start first,
                           bool blocking);

} // namespace jobrt
