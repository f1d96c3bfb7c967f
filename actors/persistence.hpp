#pragma once

/// The persistence actor: the only writer of the job store. Writes that arrive
/// while a commit runs are gathered into the next transaction (group commit), and
/// each requester is answered only after the commit holding its write returned.

#include "caf/fwd.hpp"

#include "actors/protocol.hpp"
#include "storage/job_store.hpp"

namespace jobrt {

/// Spawns the writer. `detached`: on its own thread (fsync blocks), which is
/// what production wants; tests under CAF's test coordinator pass false.
proto::persistence_actor spawn_persistence(caf::actor_system& sys, storage::job_store& store,
                                           bool detached = true);

} // namespace jobrt
