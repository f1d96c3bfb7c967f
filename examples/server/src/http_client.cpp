#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace jobrt_client {

std::optional<url> parse_url(const std::string& text) {
  constexpr std::string_view scheme = "http://";
  if (text.compare(0, scheme.size(), scheme) != 0)
    return std::nullopt;
  auto rest = text.substr(scheme.size());
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    if (slash + 1 != rest.size())
      return std::nullopt; // a base path is not supported
    rest.resize(slash);
  }
  url u;
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
    u.host = rest.substr(0, colon);
    u.port = rest.substr(colon + 1);
  } else {
    u.host = rest;
    u.port = "80";
  }
  if (u.host.size() > 2 && u.host.front() == '[' && u.host.back() == ']')
    u.host = u.host.substr(1, u.host.size() - 2);
  if (u.host.empty() || u.port.empty()
      || u.port.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return u;
}

namespace {

using kind = client_error::kind;

/// Runs the io_context until the operation finished, and turns errors into client_error.
void run(net::io_context& ioc, beast::error_code& ec, kind k, const std::string& what) {
  ioc.restart();
  ioc.run();
  if (!ec)
    return;
  if (ec == beast::error::timeout)
    throw client_error{kind::timeout, what + ": timed out"};
  throw client_error{k, what + ": " + ec.message()};
}

/// A connection with a deadline per operation.
class connection {
public:
  connection(const url& u, std::chrono::milliseconds timeout) : stream_(ioc_), timeout_(timeout) {
    beast::error_code ec;
    tcp::resolver resolver{ioc_};
    auto endpoints = resolver.resolve(u.host, u.port, ec);
    if (ec)
      throw client_error{kind::connect, "cannot resolve " + u.host + ": " + ec.message()};
    stream_.expires_after(timeout_);
    stream_.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run(ioc_, ec, kind::connect, "cannot connect to http://" + u.host + ":" + u.port);
  }

  void write_raw(const std::string& bytes) {
    beast::error_code ec;
    stream_.expires_after(timeout_);
    net::async_write(stream_, net::buffer(bytes), [&](beast::error_code e, std::size_t) { ec = e; });
    run(ioc_, ec, kind::protocol, "sending the request");
  }

  void write(http::request<http::string_body>& req) {
    beast::error_code ec;
    stream_.expires_after(timeout_);
    http::async_write(stream_, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run(ioc_, ec, kind::protocol, "sending the request");
  }

  reply read() {
    beast::error_code ec;
    http::response<http::string_body> res;
    stream_.expires_after(timeout_);
    http::async_read(stream_, buffer_, res, [&](beast::error_code e, std::size_t) { ec = e; });
    run(ioc_, ec, kind::protocol, "reading the answer");
    return {static_cast<int>(res.result_int()), std::move(res.body()),
            std::string{res[http::field::content_type]}};
  }

  /// Reads some bytes of a stream; 0 at the end of the stream.
  std::size_t read_some(char* data, std::size_t size, std::chrono::milliseconds idle) {
    beast::error_code ec;
    std::size_t n = 0;
    stream_.expires_after(idle);
    stream_.async_read_some(net::buffer(data, size), [&](beast::error_code e, std::size_t got) {
      ec = e;
      n = got;
    });
    ioc_.restart();
    ioc_.run();
    if (ec == net::error::eof || ec == net::error::connection_reset)
      return 0;
    if (ec == beast::error::timeout)
      throw client_error{kind::timeout, "event stream: nothing arrived in time"};
    if (ec)
      throw client_error{kind::protocol, "event stream: " + ec.message()};
    return n;
  }

  /// Bytes the HTTP reader buffered beyond what it parsed.
  std::string leftover() { return beast::buffers_to_string(buffer_.data()); }

private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::chrono::milliseconds timeout_;
};

http::request<http::string_body> make_request(const url& u, const std::string& token,
                                              http::verb method, const std::string& target) {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, u.host + ":" + u.port);
  req.set(http::field::user_agent, "jobrt-client");
  req.keep_alive(false);
  if (!token.empty())
    req.set(http::field::authorization, "Bearer " + token);
  return req;
}

/// Splits complete SSE frames off the front of `buf` and hands them to `on_event`.
bool dispatch_frames(std::string& buf, const std::function<bool(const sse_event&)>& on_event) {
  for (;;) {
    auto end = buf.find("\n\n");
    if (end == std::string::npos)
      return true;
    auto frame = buf.substr(0, end);
    buf.erase(0, end + 2);
    sse_event ev;
    bool has_data = false;
    std::size_t pos = 0;
    while (pos <= frame.size()) {
      auto nl = frame.find('\n', pos);
      auto line = frame.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? frame.size() + 1 : nl + 1;
      if (line.empty() || line.front() == ':')
        continue; // a comment (heartbeat)
      auto colon = line.find(':');
      auto field = line.substr(0, colon);
      auto value = colon == std::string::npos ? std::string{} : line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      if (field == "event")
        ev.event = value;
      else if (field == "data") {
        ev.data += has_data ? "\n" + value : value;
        has_data = true;
      }
    }
    if (has_data && !on_event(ev))
      return false;
  }
}

} // namespace

http_client::http_client(url u, std::string token, std::chrono::milliseconds timeout)
  : url_(std::move(u)), token_(std::move(token)), timeout_(timeout) {}

reply http_client::request(http::verb method, const std::string& target, const std::string& body,
                           const std::string& content_type) {
  connection c{url_, timeout_};
  auto req = make_request(url_, token_, method, target);
  if (!body.empty() || method == http::verb::post) {
    req.set(http::field::content_type, content_type);
    req.body() = body;
  }
  req.prepare_payload();
  c.write(req);
  return c.read();
}

reply http_client::raw(const std::string& bytes) {
  connection c{url_, timeout_};
  c.write_raw(bytes);
  return c.read();
}

reply http_client::stream_events(const std::string& target,
                                 const std::function<bool(const sse_event&)>& on_event,
                                 std::chrono::milliseconds idle_timeout,
                                 const std::function<bool()>& on_open) {
  connection c{url_, timeout_};
  auto req = make_request(url_, token_, http::verb::get, target);
  req.set(http::field::accept, "text/event-stream");
  c.write(req);
  // Read the header by hand: the stream has no length and never ends by itself.
  std::string buf;
  char chunk[4096];
  std::size_t header_end;
  while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
    auto n = c.read_some(chunk, sizeof chunk, timeout_);
    if (n == 0)
      throw client_error{kind::protocol, "event stream: the server closed the connection"};
    buf.append(chunk, n);
  }
  reply r;
  if (buf.size() < 12 || buf.compare(0, 5, "HTTP/") != 0)
    throw client_error{kind::protocol, "event stream: not an HTTP answer"};
  r.status = std::atoi(buf.c_str() + 9);
  auto body = buf.substr(header_end + 4);
  if (r.status != 200) {
    // Error answers are small JSON documents closed by the server after sending.
    for (std::size_t n; (n = c.read_some(chunk, sizeof chunk, timeout_)) > 0;)
      body.append(chunk, n);
    r.body = std::move(body);
    return r;
  }
  if (on_open && !on_open())
    return r;
  if (!dispatch_frames(body, on_event))
    return r;
  for (;;) {
    auto n = c.read_some(chunk, sizeof chunk, idle_timeout);
    if (n == 0)
      return r;
    body.append(chunk, n);
    if (!dispatch_frames(body, on_event))
      return r;
  }
}

} // namespace jobrt_client
