#pragma once

/// GET /api/events: Server-Sent Events streams, served from the HTTP I/O threads.
///
/// The server holds one runtime subscription, in the hub, however many streams
/// are open: a stream costs memory (a socket, a timer, a bounded queue), not a
/// thread. The runtime calls the hub on a thread of its own; the hub finds
/// the streams whose filter matches (indexed by job id and owner) and appends
/// the event to each one's queue. The frame is serialized once per event and
/// shared by every queue. A stream that got its first event since its last
/// write is woken (its strand writes the whole queue) after `flush_delay`, in
/// small chunks 250 us apart, so that the events of a burst go out in one
/// write per stream and requests (and the runtime's threads) are not kept
/// waiting behind thousands of writes at once.
///
/// Each queue is bounded: a progress event replaces the queued progress event
/// of the same job, and when the queue is full the oldest progress event is
/// dropped. If it is full of status events the client is too slow to follow at
/// all, and the stream is closed (the browser's EventSource reconnects and the
/// dashboard reloads its lists). A queue holds what arrives until the stream's
/// next write (at the next tick, or when the write under way ends), so a slow
/// client never blocks the runtime or other clients.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "jobrt/runtime.hpp"

namespace jobrt_server {

class metrics;

struct sse_settings {
  std::chrono::milliseconds heartbeat{15'000};
  /// A write not done after this is found at the next heartbeat, and the stream closed.
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_queued = 256;
  /// How long an event waits for others to share its write (the runtime sends
  /// a job's progress at most this often too). A queue half full is written at once.
  std::chrono::milliseconds flush_delay{100};
};

class sse_stream;

/// The server's runtime subscription and every open stream. Shutdown ends them
/// all before the runtime and the I/O threads go away.
class sse_hub {
public:
  /// `rt` and `ioc` must outlive the hub; `rt` is subscribed to at the first stream.
  sse_hub(jobrt::runtime& rt, boost::asio::io_context& ioc, std::chrono::milliseconds flush_delay);
  ~sse_hub();
  sse_hub(const sse_hub&) = delete;
  sse_hub& operator=(const sse_hub&) = delete;

  /// Registers an open stream; false once `close_all()` ran.
  bool add(const std::shared_ptr<sse_stream>& s);
  /// Unregisters a stream (no effect on one that is not registered).
  void remove(sse_stream* s);
  /// Cancels the subscription and closes every stream; later `add`s fail.
  void close_all();

private:
  using bucket = std::vector<std::shared_ptr<sse_stream>>;

  void close_streams(); ///< close_all() but the tick's cleanup on the I/O threads
  void on_event(const jobrt::job_event& e);                  // runtime thread
  bucket& bucket_of(const sse_stream& s);                    // under mtx_
  void on_tick();    // tick_strand_
  void wake_next();  // tick_strand_

  jobrt::runtime& rt_;

  std::mutex sub_mtx_; ///< guards sub_ and subscribed_; taken before mtx_, never inside it
  jobrt::subscription sub_;
  bool subscribed_ = false;

  std::mutex mtx_; ///< guards everything below and the streams' hub slots
  bool closed_ = false;
  std::size_t count_ = 0;
  std::unordered_map<jobrt::job_id, bucket> by_job_;  ///< streams of one job
  std::unordered_map<std::string, bucket> by_owner_;  ///< streams of one owner's jobs
  bucket any_;                                        ///< streams of every job
  bucket dirty_;           ///< streams to wake at the next tick
  bool tick_armed_ = false;

  boost::asio::strand<boost::asio::io_context::executor_type> tick_strand_;
  // tick_strand_ only
  boost::asio::steady_timer tick_; ///< flush_delay after the first event since the last tick
  boost::asio::steady_timer pace_; ///< between two chunks of wakes
  bucket waking_;                  ///< streams to wake, from waking_at_ on
  std::size_t waking_at_ = 0;
  std::size_t chunk_ = 0;          ///< wakes per chunk in this round
  bool pacing_ = false;
  std::chrono::milliseconds flush_delay_;
};

class sse_stream : public std::enable_shared_from_this<sse_stream> {
public:
  using tcp = boost::asio::ip::tcp;

  sse_stream(tcp::socket socket, jobrt::event_filter filter, sse_settings settings, sse_hub& hub,
             metrics& m);
  ~sse_stream();
  sse_stream(const sse_stream&) = delete;
  sse_stream& operator=(const sse_stream&) = delete;

  /// On the socket's strand: registers with the hub, sends the response
  /// header, and starts heartbeats.
  void start();
  /// Closes the connection; safe from any thread, idempotent.
  void close();

  const jobrt::event_filter& filter() const { return filter_; }

private:
  friend class sse_hub;

  struct queued {
    jobrt::job_id id;
    bool progress;
    std::shared_ptr<const std::string> text; ///< the whole SSE frame, shared by every stream
  };

  /// Called by the hub (under its lock) for an event this stream wants; true
  /// if the stream needs a wake (its first event since it last wrote).
  bool offer(jobrt::job_id id, bool progress, const std::shared_ptr<const std::string>& text);
  void wake(); // any thread
  bool enqueue(queued item);                     // under mtx_
  void pump();                                   // strand
  void write(std::string data);                  // strand
  void on_written(boost::system::error_code ec); // strand
  void arm_timer();                              // strand
  void watch_peer();                             // strand
  void shut();                                   // strand

  tcp::socket socket_;
  boost::asio::steady_timer timer_; ///< heartbeats and the write deadline: one timer, no per-write timer work
  const jobrt::event_filter filter_;
  sse_settings settings_;
  sse_hub& hub_;
  metrics& metrics_;

  // the hub's, under its lock
  bool registered_ = false;
  std::size_t hub_slot_ = 0; ///< index in the hub's bucket

  std::mutex mtx_; ///< guards queue_, wake_posted_ and overflowed_
  std::vector<queued> queue_;
  bool wake_posted_ = false; ///< a wake is due or posted, or a write in flight will pump
  bool urgent_ = false;      ///< the queue is half full and a wake is posted
  bool overflowed_ = false;

  // strand only
  bool writing_ = false;
  bool closed_ = false;
  bool heartbeat_due_ = false;
  std::chrono::steady_clock::time_point write_started_;
  char peer_byte_[64];
};

} // namespace jobrt_server
