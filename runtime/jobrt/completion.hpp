#pragma once

/// What the facade's asynchronous calls answer with (see jobrt/runtime.hpp).

#include <functional>

#include "jobrt/error.hpp"
#include "jobrt/record.hpp"
#include "jobrt/status.hpp"

namespace jobrt {

/// A completion handler of an asynchronous call: runs exactly once, with the
/// call's result.
/// - It runs on a thread of the runtime's once the runtime answers (after the
///   commit that makes the answer durable), or on the calling thread, before the
///   call returns, when the call is refused at once (invalid arguments, a runtime
///   that is shut down). A runtime that shuts down with calls in flight answers
///   each with `shutting_down`.
/// - Keep it short and never block in it: it holds the runtime's scheduler while
///   it runs. Hand the result to your own executor (`jobrt/asio.hpp` does that for
///   an Asio executor or strand) or actor (`caf::anon_send`), and call only
///   asynchronous forms from it: a synchronous call from inside a handler would
///   wait for the very thread it holds, so it is refused with `invalid_argument`.
/// - An exception that escapes it is caught and logged.
/// - An empty handler is allowed: the call is then fire-and-forget.
template <class T>
using completion = std::function<void(result<T>)>;

/// The answer to a submit: the job, and whether this call created it.
struct submitted {
  job_id id = 0;
  /// The job's durable status as of the answer: `queued`, or `waiting` for a
  /// future `run_at`; for a job found by its idempotency key, whatever it is now.
  job_status status = job_status::queued;
  /// False when the idempotency key named a job submitted before.
  bool created = true;
};

} // namespace jobrt
