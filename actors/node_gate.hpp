#pragma once

/// The node gate: the actor a coordinator publishes for worker nodes
/// (`runtime_options::workers.port`). A worker's agent says hello with the
/// shared secret and what it offers; the gate checks both, welcomes it with a
/// node id, and tells the scheduler, which then dispatches to it. The gate
/// watches each node: a node whose link breaks, or that sends nothing (not even
/// its heartbeat) for `node_timeout`, is lost: the scheduler takes its runs
/// back, and the node is told it was evicted (a node that was only frozen
/// hears it when it thaws, stops those runs, and says hello again).
///
/// Whatever else a peer sends the gate is dropped and counted.

#include "caf/fwd.hpp"

#include "jobrt/nodes.hpp"

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt {

caf::actor spawn_node_gate(caf::actor_system& sys, env_ptr env,
                           proto::scheduler_actor scheduler, worker_listen_options opts);

} // namespace jobrt
