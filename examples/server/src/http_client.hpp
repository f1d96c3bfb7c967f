#pragma once

/// A small blocking HTTP/1.1 client on Beast, for jobctl and the integration
/// tests: one connection per request, a deadline on every call, bearer tokens,
/// and a reader for the server's Server-Sent Events stream.

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/beast/http/verb.hpp>

namespace jobrt_client {

struct url {
  std::string host = "127.0.0.1";
  std::string port = "8080";
};

/// Parses "http://HOST[:PORT][/]"; nullopt for anything else (https is not supported).
std::optional<url> parse_url(const std::string& text);

struct reply {
  int status = 0;
  std::string body;
  std::string content_type;
};

/// One Server-Sent Event.
struct sse_event {
  std::string event = "message";
  std::string data;
};

/// Why a call failed before any HTTP answer arrived.
class client_error : public std::runtime_error {
public:
  enum class kind { connect, timeout, protocol };
  client_error(kind k, const std::string& what) : std::runtime_error(what), kind_(k) {}
  kind which() const noexcept { return kind_; }

private:
  kind kind_;
};

class http_client {
public:
  explicit http_client(url u, std::string token = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds{10});

  /// Sends one request and reads the whole answer. Throws client_error.
  reply request(boost::beast::http::verb method, const std::string& target,
                const std::string& body = {}, const std::string& content_type = "application/json");

  /// Sends `bytes` as they are (for malformed-request tests) and reads one answer.
  reply raw(const std::string& bytes);

  /// Opens `target` as an event stream and calls `on_event` for each event
  /// until it returns false, the server closes the stream, or nothing (not even
  /// a heartbeat) arrives for `idle_timeout`. Returns the answer's status; when
  /// it is not 200, `body` holds the error document. Throws client_error.
  /// `on_open` runs once the stream's header arrived (the subscription is
  /// live); returning false ends the call there.
  reply stream_events(const std::string& target,
                      const std::function<bool(const sse_event&)>& on_event,
                      std::chrono::milliseconds idle_timeout,
                      const std::function<bool()>& on_open = {});

  const url& where() const { return url_; }

private:
  url url_;
  std::string token_;
  std::chrono::milliseconds timeout_;
};

} // namespace jobrt_client
