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

#include <boost/asio/post.hpp>

#include "jobrt/runtime.hpp"

namespace jobrt {

/// A handler for any `completion<T>` that posts `handler(result)` to `ex`. The
/// handler may be move-only (a Beast continuation, say): it is held once, and
/// runs once.
template <class Executor, class Handler>
auto on_executor(Executor ex, Handler handler) {
  auto held = std::make_shared<Handler>(std::move(handler));
  return [ex = std::move(ex), held](auto r) {
    boost::asio::post(ex, [held, r = std::move(r)]() mutable { (*held)(std::move(r)); });
  };
}

} // namespace jobrt
