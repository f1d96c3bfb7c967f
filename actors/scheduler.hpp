#pragma once

/// The scheduler actor: owns the queue (priority, then submission order), caps
/// how many jobs run at once (globally, per type, per key), starts a job actor
/// for each job it runs and supervises it, applies every status change through
/// the state machine table, and re-queues waiting jobs when their timer fires.
///
/// Queued, waiting and paused jobs are small entries here, not actors; only
/// running jobs (and paused jobs that kept their actor) have one.
///
/// On spawn it recovers the store (actors/recovery_plan.hpp): running jobs go
/// back to the queue (they resume from their checkpoint), queued jobs keep their
/// order, paused jobs stay paused, waiting jobs get their timers back, and
/// corrupt records are quarantined.

#include "caf/fwd.hpp"

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt {

proto::scheduler_actor spawn_scheduler(caf::actor_system& sys, env_ptr env);

} // namespace jobrt
