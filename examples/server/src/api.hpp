#pragma once

/// The router: maps one HTTP request to a runtime call and builds the answer.
/// Handlers call the blocking runtime facade, so the HTTP layer runs them on a
/// worker pool, never on an I/O thread.

#include <optional>

#include "jobrt/runtime.hpp"

#include "auth.hpp"
#include "http_util.hpp"
#include "metrics.hpp"

namespace jobrt_server {

struct server_context {
  jobrt::runtime& rt;
  auth_config auth;
  jobrt_server::metrics& metrics;
};

/// The router's decision: a finished response, or "open an event stream with
/// this filter" (the HTTP layer then owns the connection).
struct routed {
  std::optional<response> res;
  std::optional<jobrt::event_filter> events;
};

routed handle_request(const server_context& ctx, const request& req);

} // namespace jobrt_server
