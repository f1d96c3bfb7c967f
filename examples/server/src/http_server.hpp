#pragma once

/// The HTTP layer: an async Beast server on a few I/O threads, and no other
/// thread. Requests are parsed with limits (body size, header size, read
/// timeout) on the I/O threads and handed to the router on the connection's
/// strand; the router calls the runtime's asynchronous forms, whose completions
/// post back onto that strand, where the answer is written. A request waiting
/// for a commit holds its connection, not a thread, so any number of them wait
/// at once (up to `max_connections`).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "api.hpp"
#include "sse.hpp"

namespace jobrt_server {

struct server_settings {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;     ///< 0: any free port
  std::size_t io_threads = 2;
  std::size_t body_limit = std::size_t{1} << 20;
  std::size_t header_limit = 16 * 1024; ///< headers, trailers and chunk extensions together
  /// Open request connections; another is answered 503 and closed. Event
  /// streams, once handed off, no longer count.
  std::size_t max_connections = 1024;
  std::chrono::milliseconds read_timeout{30'000}; ///< a whole request, and keep-alive idle time
  sse_settings sse;
};

class http_server {
public:
  http_server(server_context& ctx, server_settings settings);
  ~http_server();

  /// Binds and listens; returns the port (useful with port 0). Throws
  /// boost::system::system_error when the address cannot be bound.
  unsigned short listen();
  /// Serves until `stop()`; returns after the I/O threads ended.
  void run();
  /// Thread-safe: stops accepting, closes event streams, and ends `run()`.
  void stop();

  boost::asio::io_context& io() { return ioc_; }

private:
  class listener;

  server_context& ctx_;
  server_settings settings_;
  std::shared_ptr<calls_in_flight> calls_ = std::make_shared<calls_in_flight>();
  boost::asio::io_context ioc_;
  sse_hub hub_;
  std::shared_ptr<listener> listener_;
};

} // namespace jobrt_server
