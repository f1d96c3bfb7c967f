#include "http_server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <optional>
#include <string>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "request_reader.hpp"

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace jobrt_server {

namespace {

/// Everything a connection needs from the server.
struct shared {
  server_context& ctx;
  const server_settings& settings;
  std::shared_ptr<calls_in_flight> calls;
  sse_hub& hub;
  /// Live request connections, shared by the listener and its sessions.
  std::shared_ptr<std::atomic<std::size_t>> sessions = std::make_shared<std::atomic<std::size_t>>(0);
};

/// One HTTP/1.1 connection: read a request, route it, write the answer, repeat;
/// or hand the socket to an event stream. Everything runs on the connection's
/// strand; the router's runtime completions post back onto it, each holding
/// the session (a shared_ptr), so a client that leaves before its answer
/// leaves a session that lives until the answer comes, then fails to write it
/// and closes.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, shared s)
    : stream_(std::move(socket)),
      buffer_(request_reader::read_buffer_limit(s.settings.header_limit)),
      s_(s) {
    ++*s_.sessions;
  }
  ~session() { --*s_.sessions; }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::read, shared_from_this()));
  }

private:
  void read() {
    parser_.emplace(s_.settings.header_limit, s_.settings.body_limit);
    stream_.expires_after(s_.settings.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout
        || ec == net::error::operation_aborted)
      return close();
    if (ec == http::error::body_limit)
      return reply_and_close(error_response(http::status::payload_too_large, "payload_too_large",
                                            "the request body is larger than "
                                              + std::to_string(s_.settings.body_limit)
                                              + " bytes"));
    if (parser_->unsupported_coding())
      return reply_and_close(error_response(http::status::not_implemented, "not_implemented",
                                            "the only transfer coding taken is 'chunked'"));
    // A full read buffer means a header section, trailer section or chunk line
    // that never ended within the limit.
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow
        || parser_->over_header_limit())
      return reply_and_close(error_response(http::status::request_header_fields_too_large,
                                            "headers_too_large",
                                            "the request headers and trailers are larger than "
                                              + std::to_string(s_.settings.header_limit)
                                              + " bytes"));
    if (ec == http::error::partial_message)
      return close(); // the client went away mid-request
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category())
      return reply_and_close(error_response(http::status::bad_request, "bad_request",
                                            "malformed HTTP request: " + ec.message()));
    if (ec)
      return close();
    stream_.expires_never(); // the router may take a while; the write sets its own limit
    route(parser_->release());
  }

  /// Hands the request to the router; its answer comes back on this strand,
  /// at once or after the runtime answered.
  void route(request req) {
    auto held = std::make_shared<request>(std::move(req));
    auto done = [self = shared_from_this(), held](routed r) { self->on_routed(*held, std::move(r)); };
    handle_request(s_.ctx, *held, reply_to{stream_.get_executor(), std::move(done), s_.calls});
  }

  void on_routed(const request& req, routed r) {
    if (r.events) {
      s_.ctx.metrics.count_request(200);
      // The stream lives on this connection's strand; the hub holds it until it ends.
      auto sse = std::make_shared<sse_stream>(stream_.release_socket(), std::move(*r.events),
                                              s_.settings.sse, s_.hub, s_.ctx.metrics);
      sse->start();
      return;
    }
    if (r.wait)
      return start_long_poll(req, *r.wait);
    answer(req, std::move(*r.res));
  }

  /// Writes the router's answer to `req`.
  void answer(const request& req, response res) {
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "jobrt-server");
    res.prepare_payload();
    if (req.method() == http::verb::head)
      res.body().clear(); // Content-Length stays that of the GET answer
    write(std::move(res), false);
  }

  // -- long polls -------------------------------------------------------------------
  //
  // A long poll waits on this connection's strand: a timer fires every
  // long_poll_interval and one `get_async` asks for the job, so a waiting
  // request holds a timer and its connection, never a thread. (`wait_async`
  // has no timeout, and one completion per poll could not be taken back when
  // the wait ends.) The read timeout does not run while a request is handled;
  // the wait is bounded by max_wait_seconds.

  void start_long_poll(const request& req, long_poll lp) {
    poll_ = std::make_unique<poll_state>(poll_state{std::make_shared<request>(req), lp.id,
                                                    std::chrono::steady_clock::now() + lp.seconds,
                                                    net::steady_timer{stream_.get_executor()}});
    next_poll();
  }

  void next_poll() {
    auto now = std::chrono::steady_clock::now();
    auto wait = std::min<std::chrono::steady_clock::duration>(
      long_poll_interval, std::max(poll_->deadline - now, std::chrono::steady_clock::duration::zero()));
    poll_->timer.expires_after(wait);
    poll_->timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->poll_)
        return;
      bool last = std::chrono::steady_clock::now() >= self->poll_->deadline;
      auto done = [self](routed r) { self->on_polled(std::move(r.res)); };
      poll_job(self->s_.ctx, self->poll_->id, last,
               reply_to{self->stream_.get_executor(), std::move(done), self->s_.calls});
    });
  }

  void on_polled(std::optional<response> res) {
    if (!poll_)
      return;
    if (!res)
      return next_poll(); // not finished yet
    auto req = std::move(poll_->req);
    poll_.reset();
    answer(*req, std::move(*res));
  }

  void write(response res, bool force_close) {
    s_.ctx.metrics.count_request(res.result_int());
    res.set(nosniff_field, "nosniff");
    if (force_close)
      res.keep_alive(false);
    res_ = std::make_shared<response>(std::move(res));
    stream_.expires_after(s_.settings.read_timeout);
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&session::on_write, shared_from_this(),
                                                force_close));
  }

  void on_write(bool force_close, beast::error_code ec, std::size_t) {
    bool done = res_->need_eof() || force_close;
    res_.reset();
    if (ec)
      return close();
    if (force_close)
      return linger();
    if (done)
      return close();
    read();
  }

  /// Answers a request that cannot be read to its end, then closes.
  void reply_and_close(response res) {
    res.set(http::field::server, "jobrt-server");
    res.prepare_payload();
    write(std::move(res), true);
  }

  /// After an early answer (413, 400) the client may still be sending its body.
  /// Closing at once would make the kernel reset the connection and the client
  /// might never see the answer, so stop sending and drain for a while first.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds{5});
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > (std::size_t{16} << 20))
                                return self->close();
                              self->drain();
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_; ///< bounded: see request_reader
  std::optional<request_reader> parser_;
  std::shared_ptr<response> res_;
  /// A long poll under way: the request, the job, when it ends, its timer.
  struct poll_state {
    std::shared_ptr<request> req;
    jobrt::job_id id;
    std::chrono::steady_clock::time_point deadline;
    net::steady_timer timer;
  };
  std::unique_ptr<poll_state> poll_;
  shared s_;
  std::array<char, 16384> scratch_;
  std::size_t drained_ = 0;
};

} // namespace

// -- the listener ---------------------------------------------------------------------

class http_server::listener : public std::enable_shared_from_this<listener> {
public:
  listener(net::io_context& ioc, shared s)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), retry_(acceptor_.get_executor()), s_(s) {}

  unsigned short open(const std::string& host, unsigned short port) {
    tcp::endpoint ep{net::ip::make_address(host), port};
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(net::socket_base::max_listen_connections);
    return acceptor_.local_endpoint().port();
  }

  void accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
      self->retry_.cancel();
    });
  }

private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open())
      return;
    if (ec)
      return pause_accepting(ec);
    failing_ = false;
    if (*s_.sessions >= s_.settings.max_connections)
      refuse(socket);
    else
      std::make_shared<session>(std::move(socket), s_)->run();
    accept();
  }

  /// An accept that fails (EMFILE: out of file descriptors, ENOBUFS) fails again
  /// at once while the cause lasts: wait a little before the next, rather than
  /// spin on the listener's strand. Logged once per run of failures.
  void pause_accepting(const beast::error_code& ec) {
    if (!failing_)
      std::cerr << "jobrt-server: accepting a connection failed (" << ec.message()
                << "); retrying every " << accept_retry.count() << " ms\n";
    failing_ = true;
    retry_.expires_after(accept_retry);
    retry_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec && self->acceptor_.is_open())
        self->accept();
    });
  }

  /// Over the connection limit: a short 503 (without waiting for a request) and close.
  static void refuse(tcp::socket& socket) {
    static const std::string answer = [] {
      std::string body = R"({"error":"too_many_connections","message":"too many open connections"})";
      body += '\n';
      return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
             "X-Content-Type-Options: nosniff\r\nRetry-After: 1\r\nConnection: close\r\n"
             "Content-Length: "
             + std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    beast::error_code ignored;
    socket.non_blocking(true, ignored); // a fresh socket's send buffer is empty: never waits
    socket.write_some(net::buffer(answer.data(), answer.size()), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  /// How long to wait after a failed accept before the next.
  static constexpr std::chrono::milliseconds accept_retry{100};

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_; ///< on the acceptor's strand
  bool failing_ = false;    ///< the last accept failed (logged already)
  shared s_;
};

// -- the server -----------------------------------------------------------------------

http_server::http_server(server_context& ctx, server_settings settings)
  : ctx_(ctx),
    settings_(std::move(settings)),
    ioc_(static_cast<int>(settings_.io_threads)),
    hub_(ctx_.rt, ioc_, settings_.sse.flush_delay) {
  listener_ = std::make_shared<listener>(ioc_, shared{ctx_, settings_, calls_, hub_});
}

http_server::~http_server() {
  stop();
  // A runtime call still under way posts its answer into ioc_ when it comes:
  // wait until each has come (it then sits in the stopped ioc_, never run)
  // before ioc_ and the sessions those answers hold are destroyed. The
  // runtime answers every call within its call timeout.
  calls_->wait_until_none();
  // A request routed while stopping may have opened one more stream.
  hub_.close_all();
}

unsigned short http_server::listen() {
  auto port = listener_->open(settings_.host, settings_.port);
  listener_->accept();
  return port;
}

void http_server::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < settings_.io_threads; ++i)
    threads.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (auto& t : threads)
    t.join();
}

void http_server::stop() {
  listener_->stop();
  hub_.close_all();
  ioc_.stop();
}

} // namespace jobrt_server
