#pragma once

/// Completion handlers that run on an Asio executor. A `completion` runs on a
/// thread of the runtime's (see jobrt/runtime.hpp); `jobrt::on_executor` wraps a
/// handler of yours so that it runs on your executor instead: an io_context, a
/// strand of one connection, a thread pool. Header-only; needs Boost.Asio.
///
///   void on_request(tcp_session& s, std::string body) {          // on s's strand
///     rt.submit_json_async("email.send", body, {},
///       jobrt::on_executor(s.strand(), [&s](jobrt::result<jobrt::submitted> r) {
///         s.answer(r);                                             // on s's strand again
///       }));
///   }

#include <memory>
#include <utility>

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include "jobrt/runtime.hpp"

namespace jobrt {

/// A handler for any `completion<T>` that posts `handler(result)` to `ex`. Until
/// then it counts as work of `ex`, as an Asio operation in flight does: an
/// io_context's `run()` does not return while a call waits for its answer. The
/// handler may be move-only (a Beast continuation, say): it is held once, and
/// runs once.
template <class Executor, class Handler>
auto on_executor(const Executor& ex, Handler handler) {
  auto held = std::make_shared<Handler>(std::move(handler));
  auto working = boost::asio::prefer(ex, boost::asio::execution::outstanding_work.tracked);
  return [working = std::move(working), held](auto r) {
    boost::asio::post(working, [held, r = std::move(r)]() mutable { (*held)(std::move(r)); });
  };
}

} // namespace jobrt
