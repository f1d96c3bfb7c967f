#pragma once

/// What the API reads from a request, checked strictly: the submit body, the
/// list query, signal names and payloads. Each reader gives the value, or the
/// `400` answer that names what is wrong. Pure functions: no runtime call.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "jobrt/runtime.hpp"

#include "auth.hpp"
#include "http_util.hpp"

namespace jobrt_server {

/// `400 {"error": code, "message": message}`.
response bad_request(std::string_view code, std::string_view message);

/// The body of `POST /api/jobs`.
struct submit_request {
  std::string type;
  boost::json::value params = boost::json::object{};
  jobrt::submit_options opts;
};

/// Most ids a submit body's `after` may name (the runtime's limit).
constexpr std::size_t max_after = 1000;

/// Reads a submit body. `after` must be an array of at most `max_after` ids
/// from 1; `on_dependency_failure` one of "fail", "cancel", "run"; `after`
/// cannot be combined with a `run_at` other than 0.
std::variant<submit_request, response> read_submit(const std::string& body);

/// The body of `POST /api/schedules`.
struct schedule_request {
  std::string name;
  std::string spec;
  std::string type;
  boost::json::value params = boost::json::object{};
  jobrt::schedule_options opts;
};

/// Longest `grace_ms` and `timeout_ms` of a schedule: 366 days, in ms.
constexpr std::int64_t max_schedule_ms = 366LL * 24 * 3600 * 1000;

/// Reads a schedule body: name, spec and type required, every other field of
/// `schedule_options` optional (null means its default). The spec and the time
/// zone are only checked to be strings here; the runtime parses them.
std::variant<schedule_request, response> read_schedule(const std::string& body);

/// A schedule name from its raw path segment: percent-decoded, then checked by
/// `jobrt::check_schedule_name` (letters, digits, '.', '_', '-', ':'; 1 to 200).
std::variant<std::string, response> read_schedule_name(std::string_view raw);

/// Fills `q` from the query string of `GET /api/jobs`; an error answer if a
/// parameter is bad. An owner token only ever lists its own jobs.
std::optional<response> read_list_query(const target& t, const principal& who, jobrt::list_query& q);

/// Longest signal name, in bytes (the runtime's limit).
constexpr std::size_t max_signal_name_size = 128;

/// A signal name from its raw path segment: percent-decoded, 1 to 128 bytes of
/// UTF-8 text without control characters.
std::variant<std::string, response> read_signal_name(std::string_view raw);
/// A signal payload: the body as JSON, or null for a body of only whitespace.
std::variant<boost::json::value, response> read_signal_payload(const std::string& body);

/// The segments of the request target's path as they were sent (not decoded),
/// without the leading empty one: "/api/jobs/7/signals/a%2Fb" gives api, jobs,
/// 7, signals, a%2Fb. The decoded path cannot tell "a%2Fb" from "a/b".
std::vector<std::string_view> raw_segments(std::string_view target);

} // namespace jobrt_server
