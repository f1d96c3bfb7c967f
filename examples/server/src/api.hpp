#pragma once

/// The router: maps one HTTP request to runtime calls and builds the answer.
/// It never blocks. Every runtime call is an asynchronous form (`get_async`,
/// `submit_async`, ...) whose completion only posts the result back onto the
/// request's executor, the connection's strand (`jobrt::on_executor`); the
/// router continues there (a second call, or building the answer) and ends by
/// calling `done` once. So the runtime's threads never run the router's code,
/// and the I/O threads never wait for a commit: any number of requests wait
/// for the runtime at once, each holding its connection and nothing else.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

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
/// strand, and answers once it finished or after `seconds`.
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

/// Runtime calls whose completion the runtime still holds. A completion posts
/// to the io_context of its connection, so that context must outlive it: the
/// context's owner waits here until none is left (the runtime answers each
/// within its `call_timeout`, or with `shutting_down`) before destroying it.
class calls_in_flight {
public:
  /// Counts one call until the last copy of the token is destroyed.
  std::shared_ptr<void> enter();
  void wait_until_none();

private:
  std::mutex mtx_;
  std::condition_variable idle_;
  std::size_t n_ = 0;
};

/// Where a request's answer goes.
struct reply_to {
  /// The connection's strand: the router continues on it after each runtime call.
  boost::asio::any_io_executor ex;
  /// Called exactly once, on `ex`: before `handle_request` returns when no
  /// runtime call is needed (a bad request, a static file), later otherwise.
  std::function<void(routed)> done;
  /// Counts the router's runtime calls; may be null (nothing outlives `ex`'s context).
  std::shared_ptr<calls_in_flight> calls = nullptr;
};

/// Routes `req`. Never throws (an exception answers 500). `req` need only live
/// until this returns: what a later step needs is copied.
void handle_request(const server_context& ctx, const request& req, reply_to to);

/// One check of a long poll: `done` gets the answer once the job has finished
/// or can no longer be read (404 after a delete), or, with `last`, the record
/// as it is; while it has not finished (and not `last`), a `routed` without `res`.
void poll_job(const server_context& ctx, jobrt::job_id id, bool last, reply_to to);

} // namespace jobrt_server
