#pragma once

/// Small helpers shared by the server's handlers: JSON responses, the mapping of
/// jobrt error codes to HTTP statuses, and URL (path and query) parsing.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>
#include <boost/json/value.hpp>

#include "jobrt/error.hpp"

namespace jobrt_server {

namespace http = boost::beast::http;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

/// Set to "nosniff" on every answer, so that no browser renders a body as
/// anything but its declared type (error bodies echo parts of the request).
constexpr std::string_view nosniff_field = "X-Content-Type-Options";

/// A response with a JSON body.
response json_response(http::status status, const boost::json::value& body);
/// `s` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s);
/// `{"error": code, "message": message}` with the given status (made valid UTF-8).
response error_response(http::status status, std::string_view code, std::string_view message);
/// The HTTP status for a jobrt error code (400, 404, 409, 413, 503, ...).
http::status status_for(jobrt::errc code) noexcept;
/// `error_response` for a jobrt error.
response error_response(const jobrt::error& err);

/// Longest request target (path and query) the router takes; longer answers 414.
constexpr std::size_t max_target_size = 8 * 1024;
/// Most query parameters in one target; more answers 400.
constexpr std::size_t max_query_params = 32;

/// A request target split into its decoded path and query parameters.
struct target {
  std::string path;
  std::map<std::string, std::string> query; ///< each name at most once

  /// The value of a query parameter, if present.
  std::optional<std::string> param(const std::string& name) const;
};

/// Splits and percent-decodes a request target. nullopt if an escape is
/// malformed, a parameter is repeated, or there are more than
/// `max_query_params`; `why` (if given) then says which.
std::optional<target> parse_target(std::string_view raw, std::string* why = nullptr);
/// Percent-decodes; `+` becomes a space when `plus_is_space`. nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

/// Parses a decimal number strictly: digits only (no sign, space or other
/// character), at most `max`, no overflow. nullopt otherwise.
std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) noexcept;
/// Parses a decimal job id (as `parse_uint`, and not 0).
std::optional<std::uint64_t> parse_id(std::string_view s) noexcept;
/// `true`/`1` or `false`/`0`; nullopt for anything else.
std::optional<bool> parse_bool(std::string_view s) noexcept;

} // namespace jobrt_server
