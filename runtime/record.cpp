#include "jobrt/record.hpp"
#include "jobrt/schedule.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

namespace json = boost::json;

namespace jobrt {

namespace {

// -- reading fields without throwing ------------------------------------------

/// Thrown only inside this file and caught by the decoders below.
struct shape_error {
  std::string what;
};

const json::object& as_object(const json::value& v, const char* what) {
  if (!v.is_object())
    throw shape_error{std::string{what} + " is not a JSON object"};
  return v.get_object();
}

std::string get_string(const json::object& o, const char* key) {
  auto* p = o.if_contains(key);
  if (p == nullptr || p->is_null())
    return {};
  if (!p->is_string())
    throw shape_error{std::string{"field '"} + key + "' is not a string"};
  return std::string{p->get_string()};
}

std::int64_t get_int(const json::object& o, const char* key) {
  auto* p = o.if_contains(key);
  if (p == nullptr || p->is_null())
    return 0;
  if (p->is_int64())
    return p->get_int64();
  if (p->is_uint64() && p->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(p->get_uint64());
  throw shape_error{std::string{"field '"} + key + "' is not an integer"};
}

std::uint64_t get_uint(const json::object& o, const char* key) {
  auto* p = o.if_contains(key);
  if (p == nullptr || p->is_null())
    return 0;
  if (p->is_uint64())
    return p->get_uint64();
  if (p->is_int64() && p->get_int64() >= 0)
    return static_cast<std::uint64_t>(p->get_int64());
  throw shape_error{std::string{"field '"} + key + "' is not a non-negative integer"};
}

json::value get_any(const json::object& o, const char* key) {
  auto* p = o.if_contains(key);
  return p ? *p : json::value{};
}

/// A list of job ids; absent or null is empty.
std::vector<job_id> get_ids(const json::object& o, const char* key) {
  std::vector<job_id> out;
  auto* p = o.if_contains(key);
  if (p == nullptr || p->is_null())
    return out;
  if (!p->is_array())
    throw shape_error{std::string{"field '"} + key + "' is not an array of job ids"};
  for (const auto& v : p->get_array()) {
    if (v.is_uint64())
      out.push_back(v.get_uint64());
    else if (v.is_int64() && v.get_int64() > 0)
      out.push_back(static_cast<job_id>(v.get_int64()));
    else
      throw shape_error{std::string{"field '"} + key + "' holds something that is not a job id"};
  }
  return out;
}

json::array ids_to_json(const std::vector<job_id>& ids) {
  json::array a;
  a.reserve(ids.size());
  for (auto id : ids)
    a.emplace_back(id);
  return a;
}

progress decode_progress(const json::value& v) {
  progress p;
  if (v.is_null())
    return p;
  const auto& o = as_object(v, "progress");
  if (auto* f = o.if_contains("fraction"); f && !f->is_null()) {
    if (!f->is_number())
      throw shape_error{"field 'fraction' is not a number"};
    p.fraction = f->to_number<double>();
    // 5E721 parses as infinity: no stored progress can be that.
    if (!std::isfinite(*p.fraction))
      throw shape_error{"field 'fraction' is not a finite number"};
  }
  p.stage = get_string(o, "stage");
  p.message = get_string(o, "message");
  p.detail = get_any(o, "detail");
  return p;
}

template <class F>
auto decode(F&& f) -> result<decltype(f())> {
  try {
    return f();
  } catch (const shape_error& e) {
    return error{errc::corrupt_record, e.what};
  } catch (const std::exception& e) {
    return error{errc::corrupt_record, e.what()};
  }
}

} // namespace

// -- encoders -----------------------------------------------------------------------

json::value to_json(const progress& p, json::storage_ptr sp) {
  json::object o(std::move(sp));
  o.reserve(4);
  if (p.fraction && std::isfinite(*p.fraction))
    o["fraction"] = *p.fraction;
  else
    o["fraction"] = nullptr;
  o["stage"] = p.stage;
  o["message"] = p.message;
  o["detail"] = p.detail;
  return o;
}

json::value to_json(const job_record& r, json::storage_ptr sp) {
  json::object o(sp);
  o.reserve(20);
  o["id"] = r.id;
  o["type"] = r.type;
  o["params"] = r.params;
  o["owner"] = r.owner;
  o["priority"] = r.priority;
  o["status"] = to_string(r.status);
  o["progress"] = to_json(r.progress, sp);
  o["created_at"] = r.created_at;
  o["started_at"] = r.started_at;
  o["finished_at"] = r.finished_at;
  o["checkpoint_at"] = r.checkpoint_at;
  o["wake_at"] = r.wake_at;
  o["waiting_for"] = r.waiting_for;
  o["max_attempts"] = r.max_attempts;
  o["timeout_ms"] = r.timeout_ms;
  o["idempotency_key"] = r.idempotency_key;
  o["attempts"] = r.attempts;
  o["error"] = r.error;
  o["output"] = r.output;
  o["parent"] = r.parent;
  o["after"] = ids_to_json(r.after);
  o["on_dependency_failure"] = to_string(r.on_dependency_failure);
  o["children"] = ids_to_json(r.children);
  if (!r.node.empty())
    o["node"] = r.node;
  return o;
}

json::value to_json(const checkpoint& c) {
  json::object o;
  o["state"] = c.state;
  o["progress"] = to_json(c.progress);
  o["at"] = c.at;
  if (c.signals_taken != 0)
    o["signals_taken"] = c.signals_taken;
  if (!c.children.empty())
    o["children"] = ids_to_json(c.children);
  if (c.awaiting_children)
    o["awaiting_children"] = true;
  return o;
}

json::value to_json(const job_event& e) {
  json::object o;
  o["event"] = e.what == job_event::kind::status ? "status" : "progress";
  o["id"] = e.id;
  o["type"] = e.type;
  o["owner"] = e.owner;
  o["status"] = to_string(e.status);
  o["progress"] = to_json(e.progress);
  if (!e.error.empty())
    o["error"] = e.error;
  o["at"] = e.at;
  return o;
}

// -- decoders -----------------------------------------------------------------------

result<progress> progress_from_json(const json::value& v) {
  return decode([&] { return decode_progress(v); });
}

result<job_record> record_from_json(const json::value& v) {
  return decode([&] {
    const auto& o = as_object(v, "job record");
    job_record r;
    r.id = get_uint(o, "id");
    r.type = get_string(o, "type");
    r.params = get_any(o, "params");
    r.owner = get_string(o, "owner");
    r.priority = static_cast<std::int32_t>(get_int(o, "priority"));
    auto status = parse_status(get_string(o, "status"));
    if (!status)
      throw shape_error{"field 'status' is not a job status"};
    r.status = *status;
    r.progress = decode_progress(get_any(o, "progress"));
    r.created_at = get_int(o, "created_at");
    r.started_at = get_int(o, "started_at");
    r.finished_at = get_int(o, "finished_at");
    r.checkpoint_at = get_int(o, "checkpoint_at");
    r.wake_at = get_int(o, "wake_at");
    r.waiting_for = get_string(o, "waiting_for");
    r.max_attempts = static_cast<std::uint32_t>(get_uint(o, "max_attempts"));
    if (r.max_attempts == 0)
      r.max_attempts = 1;
    r.timeout_ms = get_int(o, "timeout_ms");
    r.idempotency_key = get_string(o, "idempotency_key");
    r.attempts = static_cast<std::uint32_t>(get_uint(o, "attempts"));
    r.error = get_string(o, "error");
    r.output = get_any(o, "output");
    r.parent = get_uint(o, "parent");
    r.after = get_ids(o, "after");
    r.children = get_ids(o, "children");
    if (auto* n = o.if_contains("node"); n && n->is_string())
      r.node = std::string{n->get_string()};
    if (auto* p = o.if_contains("on_dependency_failure"); p && p->is_string()
        && !parse_dependency_failure(p->get_string(), r.on_dependency_failure))
      throw shape_error{"field 'on_dependency_failure' is not a policy"};
    return r;
  });
}

result<checkpoint> checkpoint_from_json(const json::value& v) {
  return decode([&] {
    const auto& o = as_object(v, "checkpoint");
    checkpoint c;
    c.state = get_any(o, "state");
    c.progress = decode_progress(get_any(o, "progress"));
    c.at = get_int(o, "at");
    if (o.contains("signals_taken"))
      c.signals_taken = static_cast<std::uint64_t>(get_int(o, "signals_taken"));
    c.children = get_ids(o, "children");
    auto* awaiting = o.if_contains("awaiting_children");
    c.awaiting_children = awaiting != nullptr && awaiting->is_bool() && awaiting->get_bool();
    return c;
  });
}

// -- schedules ---------------------------------------------------------------------

namespace {

constexpr const char* dependency_failure_names[] = {"fail", "cancel", "run"};
constexpr const char* missed_names[] = {"skip", "run_once", "run_each"};
constexpr const char* overlap_names[] = {"skip", "queue", "allow"};

template <class Enum, std::size_t N>
bool parse_name(std::string_view name, const char* const (&names)[N], Enum& out) noexcept {
  for (std::size_t i = 0; i < N; ++i)
    if (name == names[i]) {
      out = static_cast<Enum>(i);
      return true;
    }
  return false;
}

} // namespace

const char* to_string(dependency_failure d) noexcept {
  return dependency_failure_names[static_cast<std::size_t>(d)];
}
bool parse_dependency_failure(std::string_view name, dependency_failure& out) noexcept {
  return parse_name(name, dependency_failure_names, out);
}

const char* to_string(missed_ticks m) noexcept {
  return missed_names[static_cast<std::size_t>(m)];
}
const char* to_string(overlapping_ticks o) noexcept {
  return overlap_names[static_cast<std::size_t>(o)];
}
bool parse_missed_ticks(std::string_view name, missed_ticks& out) noexcept {
  return parse_name(name, missed_names, out);
}
bool parse_overlapping_ticks(std::string_view name, overlapping_ticks& out) noexcept {
  return parse_name(name, overlap_names, out);
}

result<void> check_schedule_name(std::string_view name) {
  constexpr std::size_t longest = 200;
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
           || c == '_' || c == '-' || c == ':';
  };
  if (name.empty() || name.size() > longest
      || !std::all_of(name.begin(), name.end(), allowed))
    return error{errc::invalid_argument,
                 "a schedule's name must be 1 to " + std::to_string(longest)
                   + " characters of letters, digits, '.', '_', '-' and ':' (got '"
                   + std::string{name.substr(0, 64)} + (name.size() > 64 ? "...'" : "'") + ")"};
  return {};
}

std::string schedule_tick_key(const std::string& name, millis tick) {
  return "jobrt.schedule/" + name + "/" + std::to_string(tick);
}

json::value to_json(const schedule_info& s) {
  const auto& op = s.options;
  json::object o;
  o["name"] = s.name;
  o["spec"] = s.spec;
  o["type"] = s.type;
  o["params"] = s.params;
  o["time_zone"] = op.time_zone;
  o["on_missed"] = to_string(op.on_missed);
  o["max_catch_up"] = op.max_catch_up;
  o["on_overlap"] = to_string(op.on_overlap);
  o["grace_ms"] = op.grace_ms;
  o["priority"] = op.priority;
  o["owner"] = op.owner;
  o["max_attempts"] = op.max_attempts;
  o["timeout_ms"] = op.timeout_ms;
  o["paused"] = s.paused;
  o["created_at"] = s.created_at;
  o["last_tick"] = s.last_tick;
  o["last_job"] = s.last_job;
  o["last_fired_at"] = s.last_fired_at;
  o["fired"] = s.fired;
  o["next_tick"] = s.next_tick;
  return o;
}

result<schedule_info> schedule_from_json(const json::value& v) {
  return decode([&] {
    const auto& o = as_object(v, "schedule");
    schedule_info s;
    auto& op = s.options;
    s.name = get_string(o, "name");
    s.spec = get_string(o, "spec");
    s.type = get_string(o, "type");
    s.params = get_any(o, "params");
    op.time_zone = get_string(o, "time_zone");
    if (!parse_missed_ticks(get_string(o, "on_missed"), op.on_missed))
      throw shape_error{"field 'on_missed' is not a policy for missed ticks"};
    op.max_catch_up = static_cast<std::uint32_t>(get_uint(o, "max_catch_up"));
    if (!parse_overlapping_ticks(get_string(o, "on_overlap"), op.on_overlap))
      throw shape_error{"field 'on_overlap' is not a policy for overlapping ticks"};
    op.grace_ms = get_int(o, "grace_ms");
    op.priority = static_cast<std::int32_t>(get_int(o, "priority"));
    op.owner = get_string(o, "owner");
    op.max_attempts = static_cast<std::uint32_t>(get_uint(o, "max_attempts"));
    op.timeout_ms = get_int(o, "timeout_ms");
    auto* paused = o.if_contains("paused");
    s.paused = paused != nullptr && paused->is_bool() && paused->get_bool();
    op.paused = s.paused;
    s.created_at = get_int(o, "created_at");
    s.last_tick = get_int(o, "last_tick");
    s.last_job = get_uint(o, "last_job");
    s.last_fired_at = get_int(o, "last_fired_at");
    s.fired = get_uint(o, "fired");
    s.next_tick = get_int(o, "next_tick");
    return s;
  });
}

} // namespace jobrt
