#include "sse.hpp"

#include <algorithm>
#include <iterator>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>

#include "metrics.hpp"

namespace net = boost::asio;

namespace jobrt_server {

namespace {

constexpr const char* response_header = "HTTP/1.1 200 OK\r\n"
                                        "Content-Type: text/event-stream\r\n"
                                        "Cache-Control: no-store\r\n"
                                        "X-Accel-Buffering: no\r\n"
                                        "X-Content-Type-Options: nosniff\r\n"
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

// -- the hub ----------------------------------------------------------------------

sse_hub::sse_hub(jobrt::runtime& rt, net::io_context& ioc, std::chrono::milliseconds flush_delay)
  : rt_(rt),
    tick_strand_(net::make_strand(ioc)),
    tick_(tick_strand_),
    pace_(tick_strand_),
    flush_delay_(flush_delay) {}

sse_hub::~sse_hub() {
  // The I/O threads have ended by now (the server stops them first): post
  // nothing that uses the hub; its timers cancel themselves.
  close_streams();
}

sse_hub::bucket& sse_hub::bucket_of(const sse_stream& s) {
  const auto& f = s.filter();
  if (f.id != 0)
    return by_job_[f.id];
  if (!f.owner.empty())
    return by_owner_[f.owner];
  return any_;
}

bool sse_hub::add(const std::shared_ptr<sse_stream>& s) {
  std::lock_guard sub_guard{sub_mtx_};
  {
    std::lock_guard guard{mtx_};
    if (closed_)
      return false;
  }
  if (!subscribed_) {
    // Subscribed before the first stream's header goes out: a client that has
    // seen the header may rely on receiving every event caused after that
    // point. The subscription then stays until shutdown (no thread churn when
    // a lone client reconnects).
    sub_ = rt_.subscribe([this](const jobrt::job_event& e) { on_event(e); });
    subscribed_ = true;
  }
  std::lock_guard guard{mtx_};
  if (closed_)
    return false; // close_all() cancels the subscription once we let go of sub_mtx_
  auto& b = bucket_of(*s);
  s->hub_slot_ = b.size();
  s->registered_ = true;
  b.push_back(s);
  ++count_;
  return true;
}

void sse_hub::remove(sse_stream* s) {
  std::shared_ptr<sse_stream> gone; // released after the lock
  std::lock_guard guard{mtx_};
  if (!s->registered_)
    return;
  auto& b = bucket_of(*s);
  auto slot = s->hub_slot_;
  gone = std::move(b[slot]);
  if (slot + 1 != b.size()) { // swap with the last: O(1) with 10,000 streams in one bucket
    b[slot] = std::move(b.back());
    b[slot]->hub_slot_ = slot;
  }
  b.pop_back();
  s->registered_ = false;
  --count_;
  if (b.empty()) {
    const auto& f = s->filter();
    if (f.id != 0)
      by_job_.erase(f.id);
    else if (!f.owner.empty())
      by_owner_.erase(f.owner);
  }
}

void sse_hub::close_all() {
  close_streams();
  net::post(tick_strand_, [this] {
    tick_.cancel();
    pace_.cancel();
    waking_.clear();
    waking_at_ = 0;
    pacing_ = false;
  });
}

void sse_hub::close_streams() {
  std::vector<std::shared_ptr<sse_stream>> open;
  {
    std::lock_guard guard{mtx_};
    closed_ = true;
    auto take = [&](bucket& b) {
      for (auto& s : b) {
        s->registered_ = false;
        open.push_back(std::move(s));
      }
    };
    for (auto& kv : by_job_)
      take(kv.second);
    for (auto& kv : by_owner_)
      take(kv.second);
    take(any_);
    by_job_.clear();
    by_owner_.clear();
    any_.clear();
    dirty_.clear();
    count_ = 0;
  }
  jobrt::subscription sub;
  {
    std::lock_guard sub_guard{sub_mtx_};
    sub = std::move(sub_);
  }
  sub.cancel(); // outside mtx_: it waits for a callback in progress, which takes mtx_
  for (auto& s : open)
    s->close();
}

void sse_hub::on_event(const jobrt::job_event& e) {
  const bool progress = e.what == jobrt::job_event::kind::progress;
  std::shared_ptr<const std::string> text; // serialized at the first stream that wants it
  auto offer_to = [&](const bucket& b) {
    for (const auto& s : b) {
      const auto& f = s->filter();
      if ((progress && !f.progress) || (!f.owner.empty() && f.owner != e.owner))
        continue;
      if (!text)
        text = std::make_shared<const std::string>(frame(e));
      if (s->offer(e.id, progress, text))
        dirty_.push_back(s);
    }
  };
  // Under the lock, so that a stream that has left (or is being shut) gets
  // nothing more. The work per stream is a short append: the stream is woken
  // at the next tick, on an I/O thread, not from here.
  std::lock_guard guard{mtx_};
  if (count_ == 0)
    return;
  if (auto i = by_job_.find(e.id); i != by_job_.end())
    offer_to(i->second);
  if (!e.owner.empty())
    if (auto i = by_owner_.find(e.owner); i != by_owner_.end())
      offer_to(i->second);
  offer_to(any_);
  if (dirty_.empty() || tick_armed_)
    return;
  tick_armed_ = true;
  net::post(tick_strand_, [this] {
    tick_.expires_after(flush_delay_);
    tick_.async_wait([this](boost::system::error_code ec) {
      if (!ec)
        on_tick();
    });
  });
}

void sse_hub::on_tick() {
  {
    std::lock_guard guard{mtx_};
    tick_armed_ = false;
    if (waking_.empty())
      waking_.swap(dirty_);
    else // a round still under way: these join it
      waking_.insert(waking_.end(), std::make_move_iterator(dirty_.begin()),
                     std::make_move_iterator(dirty_.end()));
    dirty_.clear();
  }
  if (pacing_)
    return;
  pacing_ = true;
  // Small chunks (a request waits for one at most), and at most 200 of them a
  // round, so that 10,000 streams take about 100 ms.
  chunk_ = std::max<std::size_t>(16, waking_.size() / 200);
  wake_next();
}

/// Wakes a chunk of streams, then lets the I/O threads and everything else run
/// for a quarter of a millisecond: writing to thousands of streams at once
/// would keep requests and the runtime's threads waiting for as long.
void sse_hub::wake_next() {
  auto to = std::min(waking_.size(), waking_at_ + chunk_);
  for (auto i = waking_at_; i < to; ++i)
    waking_[i]->wake();
  waking_at_ = to;
  if (waking_at_ == waking_.size()) {
    waking_.clear();
    waking_at_ = 0;
    pacing_ = false;
    return;
  }
  pace_.expires_after(std::chrono::microseconds{250});
  pace_.async_wait([this](boost::system::error_code ec) {
    if (!ec)
      wake_next();
  });
}

// -- one stream ---------------------------------------------------------------------

sse_stream::sse_stream(tcp::socket socket, jobrt::event_filter filter, sse_settings settings,
                       sse_hub& hub, metrics& m)
  : socket_(std::move(socket)),
    timer_(socket_.get_executor()),
    filter_(std::move(filter)),
    settings_(settings),
    hub_(hub),
    metrics_(m) {
  metrics_.sse_opened();
}

sse_stream::~sse_stream() {
  metrics_.sse_closed();
}

void sse_stream::start() {
  // Registered before the header goes out (see sse_hub::add). Events that
  // arrive meanwhile wait in the queue until the header is written.
  if (!hub_.add(shared_from_this())) { // shutting down
    shut();
    return;
  }
  boost::system::error_code ec;
  socket_.non_blocking(true, ec); // write() tries a send before it goes asynchronous
  write(response_header);
  arm_timer();
  watch_peer();
}

bool sse_stream::offer(jobrt::job_id id, bool progress,
                       const std::shared_ptr<const std::string>& text) {
  std::lock_guard guard{mtx_};
  if (overflowed_)
    return false;
  if (!enqueue({id, progress, text})) {
    overflowed_ = true;
    queue_.clear();
    queue_.shrink_to_fit();
    // Now, even with a write in flight (which would pump later): close.
    wake();
    return false;
  }
  if (!wake_posted_) {
    wake_posted_ = true;
    return true; // at the hub's next tick
  }
  if (!urgent_ && queue_.size() * 2 >= settings_.max_queued) {
    urgent_ = true; // a burst: write before the tick, so that a fast client keeps up
    wake();
  }
  return false;
}

void sse_stream::wake() {
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->pump(); });
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

/// Writes what is queued, unless a write is in flight: then its completion
/// pumps again, and the queue (bounded, coalescing) holds what arrives meanwhile.
void sse_stream::pump() {
  if (closed_)
    return;
  std::string data;
  bool overflowed = false;
  {
    std::lock_guard guard{mtx_};
    overflowed = overflowed_;
    if (!overflowed) {
      if (writing_)
        return; // wake_posted_ stays set: no one posts until on_written pumps
      wake_posted_ = false;
      urgent_ = false;
      std::size_t size = 0;
      for (const auto& q : queue_)
        size += q.text->size();
      data.reserve(size);
      for (const auto& q : queue_)
        data += *q.text;
      queue_.clear();
      if (queue_.capacity() > 16) // after a burst: 10,000 idle streams keep little
        queue_.shrink_to_fit();
    }
  }
  if (overflowed) {
    shut();
    return;
  }
  if (data.empty()) {
    if (!heartbeat_due_)
      return;
    data = ": heartbeat\n\n";
  }
  heartbeat_due_ = false; // anything written shows the connection is alive
  write(std::move(data));
}

void sse_stream::write(std::string data) {
  if (closed_ || writing_)
    return;
  // Most writes fit the socket's send buffer: try at once, without the
  // completion handler an asynchronous write would cost.
  boost::system::error_code ec;
  auto sent = socket_.write_some(net::buffer(data), ec);
  if (ec == net::error::would_block || ec == net::error::try_again) {
    ec = {};
    sent = 0;
  }
  if (ec) {
    shut();
    return;
  }
  if (sent == data.size())
    return;
  writing_ = true;
  write_started_ = std::chrono::steady_clock::now();
  auto buf = std::make_shared<std::string>(data.substr(sent));
  net::async_write(socket_, net::buffer(*buf),
                   [self = shared_from_this(), buf](boost::system::error_code ec, std::size_t) {
                     self->on_written(ec);
                   });
}

void sse_stream::on_written(boost::system::error_code ec) {
  writing_ = false;
  if (ec) {
    shut();
    return;
  }
  pump();
}

void sse_stream::arm_timer() {
  timer_.expires_after(std::min(settings_.heartbeat, settings_.write_timeout));
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_)
      return;
    if (self->writing_
        && std::chrono::steady_clock::now() - self->write_started_ >= self->settings_.write_timeout) {
      self->shut(); // the client stopped reading: give up on it
      return;
    }
    self->heartbeat_due_ = true;
    self->pump();
    self->arm_timer();
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

void sse_stream::close() {
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->shut(); });
}

void sse_stream::shut() {
  if (closed_)
    return;
  closed_ = true;
  hub_.remove(this); // no offer runs after this returns
  {
    std::lock_guard guard{mtx_};
    overflowed_ = true; // nothing more is queued
    queue_.clear();
    queue_.shrink_to_fit();
  }
  timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

} // namespace jobrt_server
