#pragma once

/// The router: maps one HTTP request to a runtime call and builds the answer.
/// Handlers call the blocking runtime facade, so the HTTP layer runs them on a
/// worker pool, never on an I/O thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

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

/// A long poll (`GET /api/jobs/{id}?wait=SECONDS`) of an unfinished job: the
/// HTTP layer re-checks the job (`poll_job`) on a timer of the connection's
/// strand, so that a waiting request holds no worker thread, and answers once
/// it finished or after `seconds`.
struct long_poll {
  jobrt::job_id id = 0;
  std::chrono::seconds seconds{0};
};

/// Longest `wait` a long poll takes, in seconds.
constexpr std::uint64_t max_wait_seconds = 60;
/// How often the HTTP layer re-checks a job a long poll waits for.
constexpr std::chrono::milliseconds long_poll_interval{200};
/// Set on every answer to a request with `wait`: `true` when the job has
/// finished (completed, failed or cancelled), `false` when the wait ended first.
constexpr std::string_view job_finished_field = "X-Job-Finished";

/// The router's decision: a finished response, or "open an event stream with
/// this filter" (the HTTP layer then owns the connection). With `wait` set,
/// `res` is the answer as of now (the job has not finished), and the HTTP layer
/// waits before it answers.
struct routed {
  std::optional<response> res;
  std::optional<jobrt::event_filter> events;
  std::optional<long_poll> wait = std::nullopt;
};

routed handle_request(const server_context& ctx, const request& req);

/// One check of a long poll (it blocks: run it on the worker pool). The answer
/// once the job has finished or can no longer be read (404 after a delete);
/// nullopt while it has not finished, unless `last`: then the record as it is.
std::optional<response> poll_job(const server_context& ctx, jobrt::job_id id, bool last);

} // namespace jobrt_server
