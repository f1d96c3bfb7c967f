#include "http_util.hpp"

#include <charconv>
#include <limits>

#include <boost/json/serialize.hpp>

namespace jobrt_server {

response json_response(http::status status, const boost::json::value& body) {
  response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.set(nosniff_field, "nosniff"); // an error body may echo input: never sniff it as HTML
  res.body() = boost::json::serialize(body);
  res.body() += '\n';
  return res;
}

response error_response(http::status status, std::string_view code, std::string_view message) {
  // Messages quote the request (a path, a query value); Boost.JSON writes a
  // string's bytes as they are, so bytes that are not UTF-8 would make the
  // body invalid JSON.
  return json_response(status, boost::json::object{{"error", valid_utf8(code)},
                                                   {"message", valid_utf8(message)}});
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto continuation = [&](std::size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = byte(i);
    std::size_t n = 0; // bytes of the sequence starting at i, 0 if it is not valid
    if (c < 0x80)
      n = 1;
    else if (c >= 0xC2 && c <= 0xDF && continuation(i + 1))
      n = 2;
    else if (c >= 0xE0 && c <= 0xEF && continuation(i + 1) && continuation(i + 2)) {
      unsigned char c1 = byte(i + 1);
      if (!(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 > 0x9F)) // overlong, surrogate
        n = 3;
    } else if (c >= 0xF0 && c <= 0xF4 && continuation(i + 1) && continuation(i + 2)
               && continuation(i + 3)) {
      unsigned char c1 = byte(i + 1);
      if (!(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 > 0x8F)) // overlong, over U+10FFFF
        n = 4;
    }
    if (n == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

http::status status_for(jobrt::errc code) noexcept {
  using jobrt::errc;
  switch (code) {
    case errc::unknown_job_type:
    case errc::malformed_json:
    case errc::invalid_params:
    case errc::invalid_argument:
      return http::status::bad_request;
    case errc::payload_too_large:
      return http::status::payload_too_large;
    case errc::not_found:
      return http::status::not_found;
    case errc::illegal_transition:
      return http::status::conflict;
    case errc::storage_full:
      return http::status::insufficient_storage;
    case errc::shutting_down:
      return http::status::service_unavailable;
    case errc::timeout:
      return http::status::gateway_timeout;
    case errc::storage_error:
    case errc::corrupt_record:
      break;
  }
  return http::status::internal_server_error;
}

response error_response(const jobrt::error& err) {
  return error_response(status_for(err.code), jobrt::to_string(err.code), err.message);
}

std::optional<std::string> target::param(const std::string& name) const {
  auto i = query.find(name);
  if (i == query.end())
    return std::nullopt;
  return i->second;
}

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size())
        return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<target> parse_target(std::string_view raw, std::string* why) {
  auto fail = [&](std::string message) -> std::optional<target> {
    if (why)
      *why = std::move(message);
    return std::nullopt;
  };
  target t;
  auto q = raw.find('?');
  auto path = percent_decode(raw.substr(0, q), false);
  if (!path)
    return fail("malformed request target: bad percent escape");
  t.path = std::move(*path);
  if (q == std::string_view::npos)
    return t;
  auto query = raw.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{}
                                                             : pair.substr(eq + 1),
                                true);
    if (!key || !value)
      return fail("malformed request target: bad percent escape");
    if (t.query.size() >= max_query_params)
      return fail("more than " + std::to_string(max_query_params) + " query parameters");
    // One value per name: which of two a handler would take is not obvious.
    if (!t.query.emplace(std::move(*key), std::move(*value)).second)
      return fail("a query parameter is given more than once");
  }
  return t;
}

std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) noexcept {
  if (s.empty() || s.size() > 20)
    return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9')
      return std::nullopt; // from_chars alone would stop early, and stoll takes signs and spaces
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v > max)
    return std::nullopt;
  return v;
}

std::optional<std::uint64_t> parse_id(std::string_view s) noexcept {
  auto id = parse_uint(s, std::numeric_limits<std::uint64_t>::max());
  if (!id || *id == 0)
    return std::nullopt;
  return id;
}

std::optional<bool> parse_bool(std::string_view s) noexcept {
  if (s == "true" || s == "1")
    return true;
  if (s == "false" || s == "0")
    return false;
  return std::nullopt;
}

} // namespace jobrt_server
