#include "api_input.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include <boost/json.hpp>

namespace json = boost::json;

namespace jobrt_server {

namespace {

/// A JSON integer in [lo, hi]; nullopt for anything else (a double, even 5.0,
/// a string, a number out of range).
std::optional<std::int64_t> json_integer(const json::value& v, std::int64_t lo, std::int64_t hi) {
  if (v.is_int64()) {
    auto n = v.get_int64();
    if (n >= lo && n <= hi)
      return n;
  } else if (v.is_uint64()) {
    auto n = v.get_uint64();
    if (hi >= 0 && n <= static_cast<std::uint64_t>(hi) && static_cast<std::int64_t>(n) >= lo)
      return static_cast<std::int64_t>(n);
  }
  return std::nullopt;
}

/// Latest `run_at`: 9999-12-31T23:59:59Z in ms. Later times cannot be shown as
/// dates by most clients, and no one means them.
constexpr std::int64_t max_run_at = 253'402'300'799'000;
/// Longest owner and idempotency key: both become parts of the store's index keys.
constexpr std::size_t max_name_size = 256;

/// True for text that names something: not empty, at most `max_name_size`
/// bytes, no control characters.
bool is_name(std::string_view s) {
  if (s.empty() || s.size() > max_name_size)
    return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}

/// A signal name: 1 to 128 bytes of UTF-8 text without control characters.
bool is_signal_name(std::string_view s) {
  if (s.empty() || s.size() > max_signal_name_size || valid_utf8(s) != s)
    return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}

/// JSON text of a request body; the body is at most body_limit bytes, and
/// max_depth bounds the nesting.
json::value parse_body(const std::string& body, json::error_code& ec) {
  json::parse_options po;
  po.max_depth = 32;
  return json::parse(body, ec, {}, po);
}

/// A request body that must be a JSON object: the object, or the 400 that says
/// why it is not one.
std::variant<json::object, response> body_object(const std::string& body) {
  json::error_code ec;
  auto doc = parse_body(body, ec);
  if (ec)
    return bad_request("malformed_json", "request body: " + ec.message());
  if (!doc.is_object())
    return bad_request("invalid_request", "request body must be a JSON object");
  return std::move(doc.get_object());
}

/// The ids of a submit body's `after`: an array of at most `max_after` whole
/// numbers from 1. Whether each job exists is the runtime's check (404).
std::optional<response> read_after(const json::value& v, std::vector<jobrt::job_id>& out) {
  auto must = [] {
    return bad_request("invalid_request", "'after' must be an array of at most "
                                            + std::to_string(max_after)
                                            + " job ids (whole numbers from 1)");
  };
  if (!v.is_array() || v.get_array().size() > max_after)
    return must();
  out.clear();
  out.reserve(v.get_array().size());
  for (const auto& e : v.get_array()) {
    jobrt::job_id id = 0;
    if (e.is_uint64())
      id = e.get_uint64();
    else if (e.is_int64() && e.get_int64() > 0)
      id = static_cast<jobrt::job_id>(e.get_int64());
    if (id == 0)
      return must();
    out.push_back(id);
  }
  return std::nullopt;
}

} // namespace

response bad_request(std::string_view code, std::string_view message) {
  return error_response(http::status::bad_request, code, message);
}

std::variant<submit_request, response> read_submit(const std::string& body) {
  auto doc = body_object(body);
  if (auto* refused = std::get_if<response>(&doc))
    return std::move(*refused);
  submit_request s;
  for (const auto& kv : std::get<json::object>(doc)) {
    auto key = kv.key();
    const auto& v = kv.value();
    if (key == "type") {
      if (!v.is_string() || !is_name(v.get_string()))
        return bad_request("invalid_request", "'type' must be the name of a job type");
      s.type = std::string{v.get_string()};
    } else if (key == "params") {
      if (!v.is_null())
        s.params = v;
    } else if (key == "priority") {
      if (v.is_null())
        continue;
      auto p = json_integer(v, std::numeric_limits<std::int32_t>::min(),
                            std::numeric_limits<std::int32_t>::max());
      if (!p)
        return bad_request("invalid_request", "'priority' must be a 32-bit integer");
      s.opts.priority = static_cast<std::int32_t>(*p);
    } else if (key == "owner") {
      if (v.is_null())
        continue;
      if (!v.is_string() || (!v.get_string().empty() && !is_name(v.get_string())))
        return bad_request("invalid_request", "'owner' must be a string of at most "
                                                + std::to_string(max_name_size)
                                                + " bytes without control characters");
      s.opts.owner = std::string{v.get_string()};
    } else if (key == "idempotency_key") {
      if (v.is_null())
        continue;
      if (!v.is_string() || !is_name(v.get_string()))
        return bad_request("invalid_request", "'idempotency_key' must be a non-empty string of at most "
                                                + std::to_string(max_name_size)
                                                + " bytes without control characters");
      s.opts.idempotency_key = std::string{v.get_string()};
    } else if (key == "run_at") {
      if (v.is_null())
        continue;
      auto at = json_integer(v, 0, max_run_at);
      if (!at)
        return bad_request("invalid_request",
                           "'run_at' must be a whole number of milliseconds since the Unix epoch, "
                           "from 0 to 253402300799000 (the end of year 9999)");
      s.opts.run_at = *at;
    } else if (key == "after") {
      if (v.is_null())
        continue;
      if (auto err = read_after(v, s.opts.after))
        return std::move(*err);
    } else if (key == "on_dependency_failure") {
      if (v.is_null())
        continue;
      if (!v.is_string() || !jobrt::parse_dependency_failure(v.get_string(), s.opts.on_dependency_failure))
        return bad_request("invalid_request",
                           "'on_dependency_failure' must be one of \"fail\", \"cancel\", \"run\"");
    } else {
      return bad_request("invalid_request", "unknown field '" + std::string{key} + "'");
    }
  }
  if (s.type.empty())
    return bad_request("invalid_request", "missing required field 'type'");
  if (!s.opts.after.empty() && s.opts.run_at != 0)
    return bad_request("invalid_request", "'after' and 'run_at' cannot be combined: a job runs either "
                                          "after other jobs or at a time");
  return s;
}

namespace {

/// The 400 answer for a body field of the wrong type or range.
response bad_field(std::string_view field, std::string_view must) {
  return bad_request("invalid_request", "'" + std::string{field} + "' must be " + std::string{must});
}

/// Reads one optional field of a schedule body into `r`; an error answer if
/// its value is wrong, or if it is no field of a schedule.
std::optional<response> read_schedule_field(std::string_view key, const json::value& v,
                                            schedule_request& r) {
  auto& o = r.opts;
  auto integer = [&](std::int64_t lo, std::int64_t hi, const char* must,
                     auto& out) -> std::optional<response> {
    auto n = json_integer(v, lo, hi);
    if (!n)
      return bad_field(key, must);
    out = static_cast<std::remove_reference_t<decltype(out)>>(*n);
    return std::nullopt;
  };
  if (key == "params") {
    r.params = v;
  } else if (key == "time_zone") {
    if (!v.is_string() || v.get_string().size() > max_name_size)
      return bad_field(key, "an IANA time zone name such as \"Europe/Berlin\", or \"UTC\"");
    o.time_zone = std::string{v.get_string()};
  } else if (key == "on_missed") {
    if (!v.is_string() || !jobrt::parse_missed_ticks(v.get_string(), o.on_missed))
      return bad_field(key, "one of \"skip\", \"run_once\", \"run_each\"");
  } else if (key == "on_overlap") {
    if (!v.is_string() || !jobrt::parse_overlapping_ticks(v.get_string(), o.on_overlap))
      return bad_field(key, "one of \"skip\", \"queue\", \"allow\"");
  } else if (key == "max_catch_up") {
    return integer(1, 10'000, "a whole number from 1 to 10000", o.max_catch_up);
  } else if (key == "grace_ms") {
    return integer(0, max_schedule_ms, "a whole number of milliseconds from 0 to 31622400000 (366 days)",
                   o.grace_ms);
  } else if (key == "timeout_ms") {
    return integer(0, max_schedule_ms,
                   "a whole number of milliseconds from 0 (the type's default) to 31622400000 (366 days)",
                   o.timeout_ms);
  } else if (key == "max_attempts") {
    return integer(0, std::numeric_limits<std::uint32_t>::max(),
                   "a whole number from 0 (the type's default) to 4294967295", o.max_attempts);
  } else if (key == "priority") {
    return integer(std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(),
                   "a 32-bit integer", o.priority);
  } else if (key == "owner") {
    if (!v.is_string() || (!v.get_string().empty() && !is_name(v.get_string())))
      return bad_field(key, "a string of at most " + std::to_string(max_name_size)
                              + " bytes without control characters");
    o.owner = std::string{v.get_string()};
  } else if (key == "paused") {
    if (!v.is_bool())
      return bad_field(key, "true or false");
    o.paused = v.get_bool();
  } else {
    return bad_request("invalid_request", "unknown field '" + std::string{key} + "'");
  }
  return std::nullopt;
}

} // namespace

std::variant<schedule_request, response> read_schedule(const std::string& body) {
  auto doc = body_object(body);
  if (auto* refused = std::get_if<response>(&doc))
    return std::move(*refused);
  schedule_request r;
  for (const auto& kv : std::get<json::object>(doc)) {
    auto key = kv.key();
    const auto& v = kv.value();
    if (key == "name") {
      if (!v.is_string())
        return bad_field(key, "a string");
      if (auto ok = jobrt::check_schedule_name(v.get_string()); !ok)
        return bad_request("invalid_request", "'name': " + ok.error().message);
      r.name = std::string{v.get_string()};
    } else if (key == "spec") {
      if (!v.is_string() || v.get_string().empty() || v.get_string().size() > max_name_size)
        return bad_field(key, "a cron expression (\"*/5 * * * *\"), a macro (\"@daily\") or an "
                              "interval (\"@every 90s\")");
      r.spec = std::string{v.get_string()};
    } else if (key == "type") {
      if (!v.is_string() || !is_name(v.get_string()))
        return bad_field(key, "the name of a job type");
      r.type = std::string{v.get_string()};
    } else if (v.is_null()) {
      continue; // an optional field's default
    } else if (auto err = read_schedule_field(key, v, r)) {
      return std::move(*err);
    }
  }
  for (auto [field, value] : {std::pair{"name", &r.name}, {"spec", &r.spec}, {"type", &r.type}})
    if (value->empty())
      return bad_request("invalid_request", "missing required field '" + std::string{field} + "'");
  return r;
}

std::variant<std::string, response> read_schedule_name(std::string_view raw) {
  auto name = percent_decode(raw, false);
  if (!name)
    return bad_request("invalid_argument", "a schedule name must be a valid path segment");
  if (auto ok = jobrt::check_schedule_name(*name); !ok)
    return bad_request("invalid_argument", ok.error().message);
  return std::move(*name);
}

std::optional<response> read_list_query(const target& t, const principal& who, jobrt::list_query& q) {
  if (auto s = t.param("status"); s && !s->empty()) {
    std::string_view rest = *s;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto name = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      auto st = jobrt::parse_status(name);
      if (!st)
        return bad_request("invalid_argument", "unknown status '" + std::string{name} + "'");
      if (std::find(q.statuses.begin(), q.statuses.end(), *st) == q.statuses.end())
        q.statuses.push_back(*st);
    }
  }
  q.type = t.param("type").value_or("");
  q.owner = t.param("owner").value_or("");
  if (who.scoped()) {
    if (!q.owner.empty() && q.owner != who.owner)
      return forbidden_owner();
    q.owner = who.owner; // an owner token only ever lists its own jobs
  }
  if (auto l = t.param("limit")) {
    auto n = parse_uint(*l, 1000);
    if (!n || *n == 0)
      return bad_request("invalid_argument",
                         "limit must be a whole number from 1 to 1000, in digits only");
    q.limit = static_cast<std::size_t>(*n);
  }
  if (auto cur = t.param("cursor"); cur && !cur->empty()) {
    auto id = parse_id(*cur);
    if (!id)
      return bad_request("invalid_argument", "cursor must be a job id, in digits only");
    q.before = *id;
  }
  return std::nullopt;
}

std::variant<std::string, response> read_signal_name(std::string_view raw) {
  auto name = percent_decode(raw, false);
  if (!name || !is_signal_name(*name))
    return bad_request("invalid_argument",
                       "a signal name must be 1 to " + std::to_string(max_signal_name_size)
                         + " bytes of UTF-8 text without control characters");
  return std::move(*name);
}

std::variant<json::value, response> read_signal_payload(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return json::value{nullptr};
  json::error_code ec;
  auto payload = parse_body(body, ec);
  if (ec)
    return bad_request("malformed_json", "signal payload: " + ec.message());
  return payload;
}

std::vector<std::string_view> raw_segments(std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/')
    path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

} // namespace jobrt_server
