#pragma once

/// GET /api/events: one Server-Sent Events stream per connection, each with its
/// own runtime subscription.
///
/// The runtime calls `on_event` on a thread of its own; it only appends to a
/// per-connection queue and wakes the connection's strand, so a slow client
/// never blocks the runtime or other clients. The queue is bounded: a progress
/// event replaces the queued progress event of the same job, and when the queue
/// is full the oldest progress event is dropped. If it is full of status events
/// the client is too slow to follow at all, and the stream is closed (the
/// browser's EventSource reconnects and the dashboard reloads its lists).

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "jobrt/runtime.hpp"

namespace jobrt_server {

class metrics;

struct sse_settings {
  std::chrono::milliseconds heartbeat{15'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_queued = 256;
};

class sse_stream;

/// Knows every open stream, so that shutdown can end them before the runtime
/// and the I/O threads go away.
class sse_hub {
public:
  void add(const std::shared_ptr<sse_stream>& s);
  void remove(const sse_stream* s);
  /// Cancels every subscription and closes every stream.
  void close_all();

private:
  std::mutex mtx_;
  std::set<std::weak_ptr<sse_stream>, std::owner_less<std::weak_ptr<sse_stream>>> streams_;
};

class sse_stream : public std::enable_shared_from_this<sse_stream> {
public:
  using tcp = boost::asio::ip::tcp;

  sse_stream(tcp::socket socket, sse_settings settings, sse_hub& hub, metrics& m);
  ~sse_stream();

  /// Sends the response header, subscribes, and starts heartbeats.
  void start(jobrt::runtime& rt, jobrt::event_filter filter);
  /// Unsubscribes and closes the connection; safe from any thread, idempotent.
  void close();

private:
  struct queued {
    jobrt::job_id id;
    bool progress;
    std::string text; ///< the whole SSE frame
  };

  void on_event(const jobrt::job_event& e);            // runtime thread
  bool enqueue(queued item);                           // under mtx_
  void flush();                                        // strand
  void write(std::string data);                        // strand
  void on_written(boost::system::error_code ec);       // strand
  void arm_heartbeat();                                // strand
  void watch_peer();                                   // strand
  void shut();                                         // strand
  void unsubscribe();                                  // any thread

  tcp::socket socket_;
  boost::asio::steady_timer heartbeat_;
  boost::asio::steady_timer write_deadline_;
  sse_settings settings_;
  sse_hub& hub_;
  metrics& metrics_;
  std::mutex sub_mtx_; ///< guards sub_ (close() and shut() may race)
  jobrt::subscription sub_;

  std::mutex mtx_; ///< guards queue_, wake_posted_ and overflowed_
  std::deque<queued> queue_;
  bool wake_posted_ = false;
  bool overflowed_ = false;

  // strand only
  bool writing_ = false;
  bool closed_ = false;
  std::string pending_; ///< frames waiting for the current write to end
  char peer_byte_[256];
};

} // namespace jobrt_server
