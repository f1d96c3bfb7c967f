#pragma once

/// Event fan-out: status and progress events go from the scheduler to every
/// subscriber. Each subscriber has a bounded buffer in the fan-out actor and a
/// delivery actor that asks for the next batch only when it has handed out the
/// last one, so a slow subscriber costs memory (bounded), never job time.
/// While a subscriber lags, a new progress event of a job replaces that job's
/// pending progress event; status events are kept in order.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "caf/fwd.hpp"

#include "jobrt/events.hpp"
#include "jobrt/record.hpp"

#include "actors/protocol.hpp"

namespace jobrt {

/// Spawns the fan-out actor. A subscriber's buffer holds at most `max_buffered`
/// events; beyond that the oldest progress event (else the oldest event) is dropped.
proto::fanout_actor spawn_event_fanout(caf::actor_system& sys, std::size_t max_buffered = 4096);

/// Subscribes `callback`, called on a thread of its own, one event at a time.
/// The returned subscription stops the calls: once `cancel()` returns, the
/// callback is not running and will not be called again.
subscription subscribe_callback(caf::actor_system& sys, const proto::fanout_actor& fanout,
                                std::function<void(const job_event&)> callback,
                                event_filter filter);

/// Subscribes an actor; it receives `job_event` messages.
subscription subscribe_actor(caf::actor_system& sys, const proto::fanout_actor& fanout,
                             const caf::actor& target, event_filter filter);

} // namespace jobrt
