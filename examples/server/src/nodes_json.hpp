#pragma once

/// The body of GET /api/nodes: the worker nodes connected to this runtime
/// (`runtime_stats::nodes`), what it counted of their traffic, and whether it
/// accepts nodes at all (`--workers-port`).

#include <cstdint>
#include <optional>

#include <boost/json/object.hpp>

#include "jobrt/stats.hpp"

namespace jobrt_server {

/// `{nodes: [{id, name, address, slots, types, running, dispatched, joined_at,
/// last_heartbeat}], counters: {...}, accepting, port, run_locally}`; `port`
/// is null when the runtime takes no worker nodes.
boost::json::object nodes_json(const jobrt::runtime_stats& st, std::optional<std::uint16_t> port,
                               bool run_locally);

} // namespace jobrt_server
