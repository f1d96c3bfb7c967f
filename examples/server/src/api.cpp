#include "api.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "static_files.hpp"

namespace json = boost::json;

namespace jobrt_server {

namespace {

using jobrt::job_id;

/// One request being handled: what every handler needs.
struct call {
  const server_context& ctx;
  const request& req;
  const target& t;
  const principal& who;
};

response bad_request(std::string_view code, std::string_view message) {
  return error_response(http::status::bad_request, code, message);
}

response not_found(std::string_view message) {
  return error_response(http::status::not_found, "not_found", message);
}

response method_not_allowed(std::string_view allow) {
  auto res = error_response(http::status::method_not_allowed, "method_not_allowed",
                            "allowed methods: " + std::string{allow});
  res.set(http::field::allow, allow);
  return res;
}

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

/// The job, if it exists and the caller may touch it; otherwise the error answer.
std::variant<jobrt::job_record, response> load_job(const call& c, job_id id) {
  auto rec = c.ctx.rt.get(id);
  if (!rec)
    return error_response(rec.error());
  if (!c.who.may_access(rec->owner))
    return forbidden_owner();
  return std::move(*rec);
}

// -- GET /api/jobs ---------------------------------------------------------------

/// Fills `q` from the query string; an error answer if a parameter is bad.
std::optional<response> read_list_query(const call& c, jobrt::list_query& q) {
  if (auto s = c.t.param("status"); s && !s->empty()) {
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
  q.type = c.t.param("type").value_or("");
  q.owner = c.t.param("owner").value_or("");
  if (c.who.scoped()) {
    if (!q.owner.empty() && q.owner != c.who.owner)
      return forbidden_owner();
    q.owner = c.who.owner; // an owner token only ever lists its own jobs
  }
  if (auto l = c.t.param("limit")) {
    auto n = parse_uint(*l, 1000);
    if (!n || *n == 0)
      return bad_request("invalid_argument",
                         "limit must be a whole number from 1 to 1000, in digits only");
    q.limit = static_cast<std::size_t>(*n);
  }
  if (auto cur = c.t.param("cursor"); cur && !cur->empty()) {
    auto id = parse_id(*cur);
    if (!id)
      return bad_request("invalid_argument", "cursor must be a job id, in digits only");
    q.before = *id;
  }
  return std::nullopt;
}

response list_jobs(const call& c) {
  jobrt::list_query q;
  if (auto err = read_list_query(c, q))
    return std::move(*err);
  auto page = c.ctx.rt.list(q);
  if (!page)
    return error_response(page.error());
  json::array jobs;
  jobs.reserve(page->jobs.size());
  for (const auto& r : page->jobs)
    jobs.push_back(jobrt::to_json(r));
  json::value cursor = nullptr;
  if (page->next_cursor != 0)
    cursor = page->next_cursor;
  return json_response(http::status::ok, {{"jobs", std::move(jobs)}, {"next_cursor", cursor}});
}

// -- POST /api/jobs --------------------------------------------------------------

struct submit_request {
  std::string type;
  json::value params = json::object{};
  jobrt::submit_options opts;
};

/// Reads the submit body; an error answer if it is not what the API takes.
std::variant<submit_request, response> read_submit(const call& c) {
  json::error_code ec;
  json::parse_options po;
  po.max_depth = 32; // the body is at most body_limit bytes; this bounds the nesting
  auto doc = json::parse(c.req.body(), ec, {}, po);
  if (ec)
    return bad_request("malformed_json", "request body: " + ec.message());
  if (!doc.is_object())
    return bad_request("invalid_request", "request body must be a JSON object");
  submit_request s;
  for (const auto& kv : doc.get_object()) {
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
    } else {
      return bad_request("invalid_request", "unknown field '" + std::string{key} + "'");
    }
  }
  if (s.type.empty())
    return bad_request("invalid_request", "missing required field 'type'");
  return s;
}

response submit_job(const call& c) {
  auto parsed = read_submit(c);
  if (auto* err = std::get_if<response>(&parsed))
    return std::move(*err);
  auto& s = std::get<submit_request>(parsed);
  if (c.who.scoped()) {
    if (!s.opts.owner.empty() && s.opts.owner != c.who.owner)
      return error_response(http::status::forbidden, "forbidden",
                            "this token may only submit jobs as owner '" + c.who.owner + "'");
    s.opts.owner = c.who.owner;
  }
  auto id = c.ctx.rt.submit(s.type, s.params, s.opts);
  if (!id)
    return error_response(id.error());
  auto rec = c.ctx.rt.get(*id); // an idempotent resubmit may name an older job
  auto status = rec ? jobrt::to_string(rec->status) : "queued";
  auto res = json_response(http::status::accepted, {{"id", *id}, {"status", status}});
  res.set(http::field::location, "/api/jobs/" + std::to_string(*id));
  return res;
}

// -- /api/jobs/{id}[/{action}] ---------------------------------------------------

/// The record as an answer; with `waited` (a request with `wait`), the header
/// saying whether the job has finished.
response record_answer(const jobrt::job_record& rec, bool waited) {
  auto res = json_response(http::status::ok, jobrt::to_json(rec));
  if (waited)
    res.set(job_finished_field, jobrt::is_finished(rec.status) ? "true" : "false");
  return res;
}

/// GET /api/jobs/{id}[?wait=SECONDS]: at once, or a long poll of an unfinished job.
routed get_job(const call& c, job_id id) {
  std::optional<std::uint64_t> wait;
  if (auto w = c.t.param("wait")) {
    wait = parse_uint(*w, max_wait_seconds);
    if (!wait)
      return {bad_request("invalid_argument", "wait must be a whole number of seconds from 0 to "
                                                + std::to_string(max_wait_seconds)
                                                + ", in digits only"),
              {}};
  }
  auto job = load_job(c, id);
  if (auto* err = std::get_if<response>(&job))
    return {std::move(*err), {}};
  const auto& rec = std::get<jobrt::job_record>(job);
  auto res = record_answer(rec, wait.has_value());
  if (!wait || *wait == 0 || jobrt::is_finished(rec.status))
    return {std::move(res), {}};
  return {std::move(res), {}, long_poll{id, std::chrono::seconds{*wait}}};
}

response steer_job(const call& c, job_id id, std::string_view action) {
  auto job = load_job(c, id);
  if (auto* err = std::get_if<response>(&job))
    return std::move(*err);
  auto& rt = c.ctx.rt;
  jobrt::result<void> r;
  if (action == "pause")
    r = rt.pause(id);
  else if (action == "resume")
    r = rt.resume(id);
  else if (action == "cancel")
    r = rt.cancel(id);
  else
    r = rt.retry(id);
  if (!r)
    return error_response(r.error());
  auto rec = rt.get(id);
  if (!rec)
    return error_response(rec.error());
  return json_response(http::status::ok, jobrt::to_json(*rec));
}

response delete_job(const call& c, job_id id) {
  auto job = load_job(c, id);
  if (auto* err = std::get_if<response>(&job))
    return std::move(*err);
  if (auto r = c.ctx.rt.remove(id); !r)
    return error_response(r.error()); // 409 for an unfinished job: cancel it first
  return json_response(http::status::ok, {{"id", id}, {"deleted", true}});
}

bool is_action(std::string_view a) {
  return a == "pause" || a == "resume" || a == "cancel" || a == "retry";
}

/// Longest signal name, in bytes (the runtime's limit).
constexpr std::size_t max_signal_name_size = 128;

/// A signal name: 1 to 128 bytes of UTF-8 text without control characters.
bool is_signal_name(std::string_view s) {
  if (s.empty() || s.size() > max_signal_name_size || valid_utf8(s) != s)
    return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}

/// The segments of the request target's path as they were sent (not decoded),
/// without the leading empty one: "/api/jobs/7/signals/a%2Fb" gives api, jobs,
/// 7, signals, a%2Fb. The decoded path cannot tell "a%2Fb" from "a/b".
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

/// POST /api/jobs/{id}/signals/{name}: the body (optional) is the payload.
response signal_job(const call& c, job_id id, std::string_view raw_name) {
  auto name = percent_decode(raw_name, false);
  if (!name || !is_signal_name(*name))
    return bad_request("invalid_argument",
                       "a signal name must be 1 to " + std::to_string(max_signal_name_size)
                         + " bytes of UTF-8 text without control characters");
  json::value payload = nullptr;
  const auto& body = c.req.body();
  if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
    json::error_code ec;
    json::parse_options po;
    po.max_depth = 32;
    payload = json::parse(body, ec, {}, po);
    if (ec)
      return bad_request("malformed_json", "signal payload: " + ec.message());
  }
  auto job = load_job(c, id);
  if (auto* err = std::get_if<response>(&job))
    return std::move(*err);
  if (auto r = c.ctx.rt.signal(id, *name, std::move(payload)); !r)
    return error_response(r.error()); // 409 for a finished job
  return json_response(http::status::accepted, {{"id", id}, {"signal", *name}});
}

/// Routes /api/jobs/{id} and /api/jobs/{id}/{action}; `rest` is after "/api/jobs/".
routed route_job(const call& c, std::string_view rest) {
  auto slash = rest.find('/');
  auto id = parse_id(rest.substr(0, slash));
  if (!id)
    return {not_found("no such job: '" + std::string{rest.substr(0, slash)} + "'"), {}};
  auto method = c.req.method();
  if (slash == std::string_view::npos) {
    if (method == http::verb::get)
      return get_job(c, *id);
    if (method == http::verb::delete_)
      return {delete_job(c, *id), {}};
    return {method_not_allowed("GET, DELETE"), {}};
  }
  auto action = rest.substr(slash + 1);
  if (action.compare(0, 8, "signals/") == 0) {
    // api, jobs, {id}, signals, {name}: a name is one segment (a '/' in it is %2F).
    auto raw = raw_segments(c.req.target());
    if (raw.size() != 5)
      return {not_found("no such route"), {}};
    if (method != http::verb::post)
      return {method_not_allowed("POST"), {}};
    return {signal_job(c, *id, raw[4]), {}};
  }
  if (!is_action(action))
    return {not_found("no such route"), {}};
  if (method != http::verb::post)
    return {method_not_allowed("POST"), {}};
  return {steer_job(c, *id, action), {}};
}

// -- the rest ------------------------------------------------------------------------

response job_types(const call& c) {
  json::array types;
  for (const auto& info : c.ctx.rt.job_types()) {
    json::array params;
    for (const auto& f : info.params)
      params.push_back({{"name", f.name}, {"type", f.type}, {"required", f.required}});
    types.push_back({{"name", info.name},
                     {"description", info.description},
                     {"params", std::move(params)},
                     {"max_running", info.options.max_running},
                     {"blocking", info.options.blocking}});
  }
  return json_response(http::status::ok, {{"types", std::move(types)}});
}

/// GET /api/events: checks the filter, then hands the connection to the SSE layer.
routed open_events(const call& c) {
  jobrt::event_filter f;
  f.owner = c.t.param("owner").value_or("");
  if (c.who.scoped()) {
    if (!f.owner.empty() && f.owner != c.who.owner)
      return {forbidden_owner(), {}};
    f.owner = c.who.owner;
  }
  if (auto j = c.t.param("job"); j && !j->empty()) {
    auto id = parse_id(*j);
    if (!id)
      return {bad_request("invalid_argument", "job must be a job id, in digits only"), {}};
    auto job = load_job(c, *id);
    if (auto* err = std::get_if<response>(&job))
      return {std::move(*err), {}};
    f.id = *id;
  }
  if (auto p = c.t.param("progress")) {
    auto b = parse_bool(*p);
    if (!b)
      return {bad_request("invalid_argument", "progress must be true, false, 1 or 0"), {}};
    f.progress = *b;
  }
  return {std::nullopt, f};
}

response healthz(const call& c) {
  auto st = c.ctx.rt.stats();
  if (!st)
    return error_response(http::status::service_unavailable, "unhealthy", st.error().message);
  return json_response(http::status::ok, {{"status", "ok"}});
}

response metrics_text(const call& c) {
  if (c.who.scoped())
    return error_response(http::status::forbidden, "forbidden",
                          "metrics need the server token, not an owner token");
  response res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.body() = c.ctx.metrics.render();
  return res;
}

/// Routes that need a principal.
routed route_api(const call& c) {
  const auto& path = c.t.path;
  auto method = c.req.method();
  if (path == "/api/events")
    return method == http::verb::get ? open_events(c) : routed{method_not_allowed("GET"), {}};
  if (path == "/api/jobs") {
    if (method == http::verb::get)
      return {list_jobs(c), {}};
    if (method == http::verb::post)
      return {submit_job(c), {}};
    return {method_not_allowed("GET, POST"), {}};
  }
  constexpr std::string_view prefix = "/api/jobs/";
  if (path.compare(0, prefix.size(), prefix) == 0)
    return route_job(c, std::string_view{path}.substr(prefix.size()));
  if (path == "/api/job-types")
    return {method == http::verb::get ? job_types(c) : method_not_allowed("GET"), {}};
  if (path == "/metrics")
    return {method == http::verb::get ? metrics_text(c) : method_not_allowed("GET"), {}};
  return {not_found("no such route: " + path), {}};
}

bool needs_auth(const std::string& path) {
  return path.compare(0, 5, "/api/") == 0 || path == "/api" || path == "/metrics";
}

} // namespace

std::optional<response> poll_job(const server_context& ctx, jobrt::job_id id, bool last) {
  auto rec = ctx.rt.get(id);
  if (!rec)
    return error_response(rec.error()); // deleted meanwhile, or shutting down
  if (!last && !jobrt::is_finished(rec->status))
    return std::nullopt;
  return record_answer(*rec, true);
}

routed handle_request(const server_context& ctx, const request& req) {
  if (req.target().size() > max_target_size)
    return {error_response(http::status::uri_too_long, "uri_too_long",
                           "the request target is longer than "
                             + std::to_string(max_target_size) + " bytes"),
            {}};
  std::string why;
  auto t = parse_target(req.target(), &why);
  if (!t)
    return {bad_request("invalid_request", why), {}};
  if (!needs_auth(t->path)) {
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      return {method_not_allowed("GET"), {}};
    if (t->path == "/healthz") {
      principal anyone;
      return {healthz(call{ctx, req, *t, anyone}), {}};
    }
    if (auto file = serve_static(t->path))
      return {std::move(*file), {}};
    return {not_found("no such route: " + t->path), {}};
  }
  auto who = authenticate(ctx.auth, req, *t, t->path == "/api/events");
  if (auto* err = std::get_if<response>(&who))
    return {std::move(*err), {}};
  return route_api(call{ctx, req, *t, std::get<principal>(who)});
}

} // namespace jobrt_server
