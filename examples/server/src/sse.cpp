#include "sse.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>

#include "metrics.hpp"

namespace net = boost::asio;

namespace jobrt_server {

// -- the hub ----------------------------------------------------------------------

void sse_hub::add(const std::shared_ptr<sse_stream>& s) {
  std::lock_guard guard{mtx_};
  streams_.insert(s);
}

void sse_hub::remove(const sse_stream* s) {
  std::lock_guard guard{mtx_};
  for (auto i = streams_.begin(); i != streams_.end();) {
    auto p = i->lock();
    if (!p || p.get() == s)
      i = streams_.erase(i);
    else
      ++i;
  }
}

void sse_hub::close_all() {
  std::vector<std::shared_ptr<sse_stream>> open;
  {
    std::lock_guard guard{mtx_};
    for (const auto& w : streams_)
      if (auto p = w.lock())
        open.push_back(std::move(p));
    streams_.clear();
  }
  for (auto& s : open)
    s->close();
}

// -- one stream ---------------------------------------------------------------------

namespace {

constexpr const char* response_header = "HTTP/1.1 200 OK\r\n"
                                        "Content-Type: text/event-stream\r\n"
                                        "Cache-Control: no-store\r\n"
                                        "X-Accel-Buffering: no\r\n"
                                        "Connection: close\r\n"
                                        "\r\n"
                                        "retry: 2000\n"
                                        ": jobrt event stream\n\n";

std::string frame(const jobrt::job_event& e) {
  std::string f = e.what == jobrt::job_event::kind::status ? "event: status\n" : "event: progress\n";
  f += "data: ";
  f += boost::json::serialize(jobrt::to_json(e)); // serialize() never emits a raw newline
  f += "\n\n";
  return f;
}

} // namespace

sse_stream::sse_stream(tcp::socket socket, sse_settings settings, sse_hub& hub, metrics& m)
  : socket_(std::move(socket)),
    heartbeat_(socket_.get_executor()),
    write_deadline_(socket_.get_executor()),
    settings_(settings),
    hub_(hub),
    metrics_(m) {
  metrics_.sse_opened();
}

sse_stream::~sse_stream() {
  metrics_.sse_closed();
}

void sse_stream::start(jobrt::runtime& rt, jobrt::event_filter filter) {
  hub_.add(shared_from_this());
  // Subscribe before the header goes out: a client that has seen the header
  // may rely on receiving every event caused after that point. Events that
  // arrive meanwhile are flushed by a handler that runs after this one.
  std::weak_ptr<sse_stream> weak = shared_from_this();
  {
    std::lock_guard guard{sub_mtx_};
    sub_ = rt.subscribe(
      [weak](const jobrt::job_event& e) {
        if (auto self = weak.lock())
          self->on_event(e);
      },
      std::move(filter));
  }
  write(response_header);
  arm_heartbeat();
  watch_peer();
}

void sse_stream::on_event(const jobrt::job_event& e) {
  std::lock_guard guard{mtx_};
  if (overflowed_)
    return;
  if (!enqueue({e.id, e.what == jobrt::job_event::kind::progress, frame(e)})) {
    overflowed_ = true;
    queue_.clear();
  }
  if (wake_posted_)
    return;
  wake_posted_ = true;
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->flush(); });
}

bool sse_stream::enqueue(queued item) {
  if (item.progress) {
    // Coalesce: a newer progress event of a job replaces its queued one, unless
    // a status event of that job came in between (keeps the order per job).
    for (auto i = queue_.rbegin(); i != queue_.rend(); ++i) {
      if (i->id != item.id)
        continue;
      if (i->progress) {
        *i = std::move(item);
        return true;
      }
      break;
    }
  }
  if (queue_.size() >= settings_.max_queued) {
    auto victim = std::find_if(queue_.begin(), queue_.end(), [](const queued& q) { return q.progress; });
    if (victim == queue_.end())
      return item.progress; // drop this progress event; a status event means overflow
    queue_.erase(victim);
  }
  queue_.push_back(std::move(item));
  return true;
}

void sse_stream::flush() {
  std::string data;
  bool overflowed = false;
  {
    std::lock_guard guard{mtx_};
    wake_posted_ = false;
    overflowed = overflowed_;
    for (auto& q : queue_)
      data += q.text;
    queue_.clear();
  }
  if (overflowed) {
    shut();
    return;
  }
  if (!data.empty())
    write(std::move(data));
}

void sse_stream::write(std::string data) {
  if (closed_)
    return;
  if (writing_) {
    pending_ += data;
    return;
  }
  writing_ = true;
  auto buf = std::make_shared<std::string>(std::move(data));
  write_deadline_.expires_after(settings_.write_timeout);
  write_deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) // the client stopped reading: give up on it
      self->shut();
  });
  net::async_write(socket_, net::buffer(*buf),
                   [self = shared_from_this(), buf](boost::system::error_code ec, std::size_t) {
                     self->on_written(ec);
                   });
}

void sse_stream::on_written(boost::system::error_code ec) {
  writing_ = false;
  write_deadline_.cancel();
  if (ec) {
    shut();
    return;
  }
  if (!pending_.empty()) {
    std::string next;
    next.swap(pending_);
    write(std::move(next));
  }
}

void sse_stream::arm_heartbeat() {
  heartbeat_.expires_after(settings_.heartbeat);
  heartbeat_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_)
      return;
    self->write(": heartbeat\n\n");
    self->arm_heartbeat();
  });
}

/// A client never sends anything after its request; a read that completes means
/// it closed the connection (or misbehaves), either way the stream ends.
void sse_stream::watch_peer() {
  socket_.async_read_some(net::buffer(peer_byte_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                            if (ec)
                              self->shut();
                            else
                              self->watch_peer();
                          });
}

void sse_stream::unsubscribe() {
  std::lock_guard guard{sub_mtx_};
  sub_.cancel(); // waits for a callback in progress; none runs afterwards
}

void sse_stream::close() {
  unsubscribe();
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->shut(); });
}

void sse_stream::shut() {
  if (closed_)
    return;
  closed_ = true;
  unsubscribe();
  heartbeat_.cancel();
  write_deadline_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  hub_.remove(this);
}

} // namespace jobrt_server
