#include "api.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "jobrt/asio.hpp"

#include "api_input.hpp"
#include "nodes_json.hpp"
#include "static_files.hpp"

namespace json = boost::json;

namespace jobrt_server {

std::shared_ptr<void> calls_in_flight::enter() {
  {
    std::lock_guard guard{mtx_};
    ++n_;
  }
  return std::shared_ptr<void>(nullptr, [this](void*) {
    std::lock_guard guard{mtx_};
    if (--n_ == 0)
      idle_.notify_all();
  });
}

void calls_in_flight::wait_until_none() {
  std::unique_lock lock{mtx_};
  idle_.wait(lock, [this] { return n_ == 0; });
}

namespace {

using jobrt::job_id;

response internal_error(std::string_view what) {
  return error_response(http::status::internal_server_error, "internal", what);
}

/// Calls `done` once: the first answer wins, a later one (from a step that
/// threw after it answered) is dropped. Used on the strand only. The function
/// is released once called, so that a completion the runtime still holds no
/// longer holds the connection.
class responder {
public:
  explicit responder(std::function<void(routed)> done)
    : done_(std::make_shared<std::function<void(routed)>>(std::move(done))) {}

  void operator()(routed r) const {
    if (auto done = std::exchange(*done_, nullptr))
      done(std::move(r));
  }

private:
  std::shared_ptr<std::function<void(routed)>> done_;
};

/// A runtime completion that holds a `calls_in_flight` token. Members are
/// destroyed in reverse order: the token goes last, after the handler.
template <class Handler>
struct counted {
  std::shared_ptr<void> token;
  Handler handler;

  template <class Result>
  void operator()(Result r) {
    handler(std::move(r));
  }
};

/// What every step of a request needs: the runtime, where to continue, and
/// where the answer goes. Cheap to copy into completions.
struct flow {
  const server_context* ctx;
  boost::asio::any_io_executor ex;
  std::shared_ptr<calls_in_flight> calls;
  responder answer;

  jobrt::runtime& rt() const { return ctx->rt; }

  void reply(response res) const { answer(routed{std::move(res), {}}); }
  void reply(routed r) const { answer(std::move(r)); }

  /// The completion of a runtime call: posts `next(result)` onto `ex` (a
  /// runtime thread only posts); an exception from `next` answers 500.
  template <class T, class Next>
  jobrt::completion<T> then(Next next) const {
    auto step = [answer = answer, next = std::move(next)](jobrt::result<T> r) mutable {
      try {
        next(std::move(r));
      } catch (const std::exception& e) {
        answer(routed{internal_error(e.what()), {}});
      } catch (...) {
        answer(routed{internal_error("unknown error"), {}});
      }
    };
    auto post = jobrt::on_executor(ex, std::move(step));
    return counted<decltype(post)>{calls ? calls->enter() : nullptr, std::move(post)};
  }
};

/// One request being routed. Only the synchronous part of a route sees `req`
/// and `t`; its completions copy what they need (an id, the principal).
struct call {
  const request& req;
  const target& t;
  const principal& who;
  flow f;
};

response not_found(std::string_view message) {
  return error_response(http::status::not_found, "not_found", message);
}

response method_not_allowed(std::string_view allow) {
  auto res = error_response(http::status::method_not_allowed, "method_not_allowed",
                            "allowed methods: " + std::string{allow});
  res.set(http::field::allow, allow);
  return res;
}

/// Reads the job; if the caller may touch it, goes on with `next(record)` on
/// the strand, otherwise answers the error (404, 403, ...).
template <class Next>
void with_job(const flow& f, const principal& who, job_id id, Next next) {
  f.rt().get_async(id, f.then<jobrt::job_record>([f, who, next = std::move(next)](
                                                    jobrt::result<jobrt::job_record> rec) mutable {
    if (!rec)
      return f.reply(error_response(rec.error()));
    if (!who.may_access(rec->owner))
      return f.reply(forbidden_owner());
    next(std::move(*rec));
  }));
}

/// The record as an answer; with `waited` (a request with `wait`), the header
/// saying whether the job has finished.
response record_answer(const jobrt::job_record& rec, bool waited) {
  auto res = json_response(http::status::ok, jobrt::to_json(rec));
  if (waited)
    res.set(job_finished_field, jobrt::is_finished(rec.status) ? "true" : "false");
  return res;
}

// -- /api/jobs -----------------------------------------------------------------------

void list_jobs(const call& c) {
  jobrt::list_query q;
  if (auto err = read_list_query(c.t, c.who, q))
    return c.f.reply(std::move(*err));
  c.f.rt().list_async(q, c.f.then<jobrt::list_page>([f = c.f](jobrt::result<jobrt::list_page> page) {
    if (!page)
      return f.reply(error_response(page.error()));
    json::array jobs;
    jobs.reserve(page->jobs.size());
    for (const auto& r : page->jobs)
      jobs.push_back(jobrt::to_json(r));
    json::value cursor = nullptr;
    if (page->next_cursor != 0)
      cursor = page->next_cursor;
    f.reply(json_response(http::status::ok, {{"jobs", std::move(jobs)}, {"next_cursor", cursor}}));
  }));
}

/// For an owner token: goes on with `next()` once every job of `after[i...]`
/// exists and is the owner's, else answers 404 or 403 as `GET /api/jobs/{id}`
/// would (a job must not wait on, and so learn the outcome of, another
/// owner's job). One `get` at a time; at most 1000 ids.
template <class Next>
void check_after(const flow& f, const principal& who, std::shared_ptr<const std::vector<job_id>> after,
                 std::size_t i, Next next) {
  if (i == after->size())
    return next();
  with_job(f, who, (*after)[i], [f, who, after, i, next = std::move(next)](const jobrt::job_record&) mutable {
    check_after(f, who, std::move(after), i + 1, std::move(next));
  });
}

/// POST /api/jobs: answers from the submit's own result. An idempotent resubmit
/// answers 202 too, with the earlier job's id and its status now.
void submit_job(const call& c) {
  auto parsed = read_submit(c.req.body());
  if (auto* err = std::get_if<response>(&parsed))
    return c.f.reply(std::move(*err));
  auto& s = std::get<submit_request>(parsed);
  if (c.who.scoped()) {
    if (!s.opts.owner.empty() && s.opts.owner != c.who.owner)
      return c.f.reply(error_response(http::status::forbidden, "forbidden",
                                      "this token may only submit jobs as owner '" + c.who.owner + "'"));
    s.opts.owner = c.who.owner;
  }
  auto after = std::make_shared<const std::vector<job_id>>(s.opts.after);
  auto submit = [f = c.f, s = std::move(s)] {
    f.rt().submit_async(s.type, s.params, s.opts,
                        f.then<jobrt::submitted>([f](jobrt::result<jobrt::submitted> r) {
      if (!r)
        return f.reply(error_response(r.error())); // 404 for an `after` job that does not exist
      auto res = json_response(http::status::accepted,
                               {{"id", r->id}, {"status", jobrt::to_string(r->status)}});
      res.set(http::field::location, "/api/jobs/" + std::to_string(r->id));
      f.reply(std::move(res));
    }));
  };
  if (!c.who.scoped() || after->empty())
    return submit();
  check_after(c.f, c.who, std::move(after), 0, std::move(submit));
}

// -- /api/jobs/{id}[/{action}] ---------------------------------------------------

/// GET /api/jobs/{id}[?wait=SECONDS]: at once, or a long poll of an unfinished job.
void get_job(const call& c, job_id id) {
  std::optional<std::uint64_t> wait;
  if (auto w = c.t.param("wait")) {
    wait = parse_uint(*w, max_wait_seconds);
    if (!wait)
      return c.f.reply(bad_request("invalid_argument", "wait must be a whole number of seconds from 0 to "
                                                         + std::to_string(max_wait_seconds)
                                                         + ", in digits only"));
  }
  with_job(c.f, c.who, id, [f = c.f, id, wait](jobrt::job_record rec) {
    auto res = record_answer(rec, wait.has_value());
    if (!wait || *wait == 0 || jobrt::is_finished(rec.status))
      return f.reply(std::move(res));
    f.reply(routed{std::move(res), {}, long_poll{id, std::chrono::seconds{*wait}}});
  });
}

/// POST /api/jobs/{id}/{pause|resume|cancel|retry}: the change, then the record
/// as it is after it (three calls, each in the completion of the one before).
void steer_job(const call& c, job_id id, std::string action) {
  with_job(c.f, c.who, id, [f = c.f, id, action = std::move(action)](const jobrt::job_record&) {
    auto read_back = f.then<void>([f, id](jobrt::result<void> r) {
      if (!r)
        return f.reply(error_response(r.error()));
      f.rt().get_async(id, f.then<jobrt::job_record>([f](jobrt::result<jobrt::job_record> rec) {
        if (!rec)
          return f.reply(error_response(rec.error()));
        f.reply(json_response(http::status::ok, jobrt::to_json(*rec)));
      }));
    });
    auto& rt = f.rt();
    if (action == "pause")
      rt.pause_async(id, std::move(read_back));
    else if (action == "resume")
      rt.resume_async(id, std::move(read_back));
    else if (action == "cancel")
      rt.cancel_async(id, std::move(read_back));
    else
      rt.retry_async(id, std::move(read_back));
  });
}

void delete_job(const call& c, job_id id) {
  with_job(c.f, c.who, id, [f = c.f, id](const jobrt::job_record&) {
    f.rt().remove_async(id, f.then<void>([f, id](jobrt::result<void> r) {
      if (!r)
        return f.reply(error_response(r.error())); // 409 for an unfinished job: cancel it first
      f.reply(json_response(http::status::ok, {{"id", id}, {"deleted", true}}));
    }));
  });
}

/// POST /api/jobs/{id}/signals/{name}: the body (optional) is the payload.
void signal_job(const call& c, job_id id, std::string_view raw_name) {
  auto name = read_signal_name(raw_name);
  if (auto* err = std::get_if<response>(&name))
    return c.f.reply(std::move(*err));
  auto payload = read_signal_payload(c.req.body());
  if (auto* err = std::get_if<response>(&payload))
    return c.f.reply(std::move(*err));
  with_job(c.f, c.who, id,
           [f = c.f, id, name = std::get<std::string>(std::move(name)),
            payload = std::get<json::value>(std::move(payload))](const jobrt::job_record&) mutable {
    auto signalled = f.then<void>([f, id, name](jobrt::result<void> r) {
      if (!r)
        return f.reply(error_response(r.error())); // 409 for a finished job
      f.reply(json_response(http::status::accepted, {{"id", id}, {"signal", name}}));
    });
    f.rt().signal_async(id, name, std::move(payload), std::move(signalled));
  });
}

bool is_action(std::string_view a) {
  return a == "pause" || a == "resume" || a == "cancel" || a == "retry";
}

/// Routes /api/jobs/{id} and /api/jobs/{id}/{action}; `rest` is after "/api/jobs/".
void route_job(const call& c, std::string_view rest) {
  auto slash = rest.find('/');
  auto id = parse_id(rest.substr(0, slash));
  if (!id)
    return c.f.reply(not_found("no such job: '" + std::string{rest.substr(0, slash)} + "'"));
  auto method = c.req.method();
  if (slash == std::string_view::npos) {
    if (method == http::verb::get)
      return get_job(c, *id);
    if (method == http::verb::delete_)
      return delete_job(c, *id);
    return c.f.reply(method_not_allowed("GET, DELETE"));
  }
  auto action = rest.substr(slash + 1);
  if (action.compare(0, 8, "signals/") == 0) {
    // api, jobs, {id}, signals, {name}: a name is one segment (a '/' in it is %2F).
    auto raw = raw_segments(c.req.target());
    if (raw.size() != 5)
      return c.f.reply(not_found("no such route"));
    if (method != http::verb::post)
      return c.f.reply(method_not_allowed("POST"));
    return signal_job(c, *id, raw[4]);
  }
  if (!is_action(action))
    return c.f.reply(not_found("no such route"));
  if (method != http::verb::post)
    return c.f.reply(method_not_allowed("POST"));
  steer_job(c, *id, std::string{action});
}

// -- /api/schedules --------------------------------------------------------------------

/// `204 No Content`, with the headers every answer of the API carries.
response no_content() {
  response res{http::status::no_content, 11};
  res.set(http::field::cache_control, "no-store");
  res.set(nosniff_field, "nosniff");
  return res;
}

/// Goes on with `next()` on the strand if the caller may touch the schedule
/// `name`. The server token may touch every schedule, and need not read it;
/// an owner token reads the list first: 404 for none, 403 for another owner's
/// (with `missing_ok`, a schedule that does not exist yet passes).
template <class Next>
void with_schedule(const flow& f, const principal& who, const std::string& name, bool missing_ok,
                   Next next) {
  if (!who.scoped())
    return next();
  using list = std::vector<jobrt::schedule_info>;
  f.rt().list_schedules_async(f.then<list>([f, who, name, missing_ok, next = std::move(next)](
                                             jobrt::result<list> all) mutable {
    if (!all)
      return f.reply(error_response(all.error()));
    auto s = std::find_if(all->begin(), all->end(), [&](const auto& x) { return x.name == name; });
    if (s == all->end() && !missing_ok)
      return f.reply(not_found("no such schedule: '" + name + "'"));
    if (s != all->end() && !who.may_access(s->options.owner))
      return f.reply(error_response(http::status::forbidden, "forbidden",
                                    "the schedule '" + name + "' belongs to another owner"));
    next();
  }));
}

/// GET /api/schedules: every schedule (an owner token: its owner's), by name.
void list_schedules(const call& c) {
  using list = std::vector<jobrt::schedule_info>;
  c.f.rt().list_schedules_async(c.f.then<list>([f = c.f, who = c.who](jobrt::result<list> all) {
    if (!all)
      return f.reply(error_response(all.error()));
    json::array out;
    out.reserve(all->size());
    for (const auto& s : *all)
      if (who.may_access(s.options.owner))
        out.push_back(jobrt::to_json(s));
    f.reply(json_response(http::status::ok, {{"schedules", std::move(out)}}));
  }));
}

/// POST /api/schedules: creates or replaces; 201 with the schedule as stored.
void put_schedule(const call& c) {
  auto parsed = read_schedule(c.req.body());
  if (auto* err = std::get_if<response>(&parsed))
    return c.f.reply(std::move(*err));
  auto s = std::get<schedule_request>(std::move(parsed));
  if (c.who.scoped()) {
    if (!s.opts.owner.empty() && s.opts.owner != c.who.owner)
      return c.f.reply(error_response(http::status::forbidden, "forbidden",
                                      "this token may only schedule jobs as owner '" + c.who.owner + "'"));
    s.opts.owner = c.who.owner;
  }
  auto name = s.name;
  with_schedule(c.f, c.who, name, true, [f = c.f, s = std::move(s)] {
    f.rt().schedule_async(s.name, s.spec, s.type, s.params, s.opts,
                          f.then<jobrt::schedule_info>([f](jobrt::result<jobrt::schedule_info> r) {
      if (!r)
        return f.reply(error_response(r.error()));
      f.reply(json_response(http::status::created, jobrt::to_json(*r)));
    }));
  });
}

/// DELETE /api/schedules/{name}, POST /api/schedules/{name}/{pause|resume}: 204.
void steer_schedule(const call& c, std::string name, std::string action) {
  with_schedule(c.f, c.who, name, false, [f = c.f, name, action = std::move(action)] {
    auto done = f.then<void>([f](jobrt::result<void> r) {
      if (!r)
        return f.reply(error_response(r.error())); // 404 for no such schedule
      f.reply(no_content());
    });
    auto& rt = f.rt();
    if (action == "delete")
      rt.unschedule_async(name, std::move(done));
    else if (action == "pause")
      rt.pause_schedule_async(name, std::move(done));
    else
      rt.resume_schedule_async(name, std::move(done));
  });
}

/// Routes /api/schedules/{name}[/{action}]. The name is one raw path segment,
/// percent-decoded and checked (a bad one answers 400).
void route_schedule(const call& c) {
  // api, schedules, {name}[, {action}]
  auto raw = raw_segments(c.req.target());
  if (raw.size() != 3 && raw.size() != 4)
    return c.f.reply(not_found("no such route"));
  auto name = read_schedule_name(raw[2]);
  if (auto* err = std::get_if<response>(&name))
    return c.f.reply(std::move(*err));
  auto method = c.req.method();
  if (raw.size() == 3) {
    if (method != http::verb::delete_)
      return c.f.reply(method_not_allowed("DELETE"));
    return steer_schedule(c, std::get<std::string>(std::move(name)), "delete");
  }
  if (raw[3] != "pause" && raw[3] != "resume")
    return c.f.reply(not_found("no such route"));
  if (method != http::verb::post)
    return c.f.reply(method_not_allowed("POST"));
  steer_schedule(c, std::get<std::string>(std::move(name)), std::string{raw[3]});
}

// -- the rest ------------------------------------------------------------------------

/// GET /api/job-types. `job_types()` reads the registry, which does not change
/// after start: synchronous, but it never waits, so it runs on the strand.
response job_types(const call& c) {
  json::array types;
  for (const auto& info : c.f.rt().job_types()) {
    json::array params;
    for (const auto& p : info.params)
      params.push_back({{"name", p.name}, {"type", p.type}, {"required", p.required}});
    types.push_back({{"name", info.name},
                     {"description", info.description},
                     {"params", std::move(params)},
                     {"max_running", info.options.max_running},
                     {"blocking", info.options.blocking}});
  }
  return json_response(http::status::ok, {{"types", std::move(types)}});
}

/// GET /api/events: checks the filter, then hands the connection to the SSE
/// layer. Checked in this order: owner, job id, the job itself, progress.
void open_events(const call& c) {
  jobrt::event_filter filter;
  filter.owner = c.t.param("owner").value_or("");
  if (c.who.scoped()) {
    if (!filter.owner.empty() && filter.owner != c.who.owner)
      return c.f.reply(forbidden_owner());
    filter.owner = c.who.owner;
  }
  auto open = [progress = c.t.param("progress")](const flow& f, jobrt::event_filter filter) {
    if (progress) {
      auto b = parse_bool(*progress);
      if (!b)
        return f.reply(bad_request("invalid_argument", "progress must be true, false, 1 or 0"));
      filter.progress = *b;
    }
    f.reply(routed{std::nullopt, std::move(filter)});
  };
  auto j = c.t.param("job");
  if (!j || j->empty())
    return open(c.f, std::move(filter));
  auto id = parse_id(*j);
  if (!id)
    return c.f.reply(bad_request("invalid_argument", "job must be a job id, in digits only"));
  filter.id = *id;
  with_job(c.f, c.who, *id, [f = c.f, filter, open](const jobrt::job_record&) { open(f, filter); });
}

void healthz(const flow& f) {
  f.rt().stats_async(f.then<jobrt::runtime_stats>([f](jobrt::result<jobrt::runtime_stats> st) {
    if (!st)
      return f.reply(error_response(http::status::service_unavailable, "unhealthy", st.error().message));
    f.reply(json_response(http::status::ok, {{"status", "ok"}}));
  }));
}

void metrics_text(const call& c) {
  if (c.who.scoped())
    return c.f.reply(error_response(http::status::forbidden, "forbidden",
                                    "metrics need the server token, not an owner token"));
  c.f.rt().stats_async(c.f.then<jobrt::runtime_stats>([f = c.f](jobrt::result<jobrt::runtime_stats> st) {
    response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = f.ctx->metrics.render(st);
    f.reply(std::move(res));
  }));
}

/// GET /api/nodes: the server token only, as for /metrics (an owner token
/// would learn the addresses of the machines and the load of other owners).
void list_nodes(const call& c) {
  if (c.who.scoped())
    return c.f.reply(error_response(http::status::forbidden, "forbidden",
                                    "worker nodes need the server token, not an owner token"));
  c.f.rt().stats_async(c.f.then<jobrt::runtime_stats>([f = c.f](jobrt::result<jobrt::runtime_stats> st) {
    if (!st)
      return f.reply(error_response(st.error()));
    const auto& rt = f.rt();
    f.reply(json_response(http::status::ok, nodes_json(*st, rt.workers_port(), rt.options().workers.run_locally)));
  }));
}

/// Routes that need a principal.
void route_api(const call& c) {
  const auto& path = c.t.path;
  auto method = c.req.method();
  if (path == "/api/events")
    return method == http::verb::get ? open_events(c) : c.f.reply(method_not_allowed("GET"));
  if (path == "/api/jobs") {
    if (method == http::verb::get)
      return list_jobs(c);
    if (method == http::verb::post)
      return submit_job(c);
    return c.f.reply(method_not_allowed("GET, POST"));
  }
  constexpr std::string_view prefix = "/api/jobs/";
  if (path.compare(0, prefix.size(), prefix) == 0)
    return route_job(c, std::string_view{path}.substr(prefix.size()));
  if (path == "/api/schedules") {
    if (method == http::verb::get)
      return list_schedules(c);
    if (method == http::verb::post)
      return put_schedule(c);
    return c.f.reply(method_not_allowed("GET, POST"));
  }
  constexpr std::string_view schedules_prefix = "/api/schedules/";
  if (path.compare(0, schedules_prefix.size(), schedules_prefix) == 0)
    return route_schedule(c);
  if (path == "/api/job-types")
    return c.f.reply(method == http::verb::get ? job_types(c) : method_not_allowed("GET"));
  if (path == "/api/nodes")
    return method == http::verb::get ? list_nodes(c) : c.f.reply(method_not_allowed("GET"));
  if (path == "/metrics")
    return method == http::verb::get ? metrics_text(c) : c.f.reply(method_not_allowed("GET"));
  c.f.reply(not_found("no such route: " + path));
}

bool needs_auth(const std::string& path) {
  return path.compare(0, 5, "/api/") == 0 || path == "/api" || path == "/metrics";
}

void route(const flow& f, const request& req) {
  if (req.target().size() > max_target_size)
    return f.reply(error_response(http::status::uri_too_long, "uri_too_long",
                                  "the request target is longer than "
                                    + std::to_string(max_target_size) + " bytes"));
  std::string why;
  auto t = parse_target(req.target(), &why);
  if (!t)
    return f.reply(bad_request("invalid_request", why));
  if (!needs_auth(t->path)) {
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      return f.reply(method_not_allowed("GET"));
    if (t->path == "/healthz")
      return healthz(f);
    if (auto file = serve_static(t->path))
      return f.reply(std::move(*file));
    return f.reply(not_found("no such route: " + t->path));
  }
  auto who = authenticate(f.ctx->auth, req, *t, t->path == "/api/events");
  if (auto* err = std::get_if<response>(&who))
    return f.reply(std::move(*err));
  route_api(call{req, *t, std::get<principal>(who), f});
}

} // namespace

void handle_request(const server_context& ctx, const request& req, reply_to to) {
  flow f{&ctx, std::move(to.ex), std::move(to.calls), responder{std::move(to.done)}};
  try {
    route(f, req);
  } catch (const std::exception& e) {
    f.reply(internal_error(e.what()));
  } catch (...) {
    f.reply(internal_error("unknown error"));
  }
}

void poll_job(const server_context& ctx, jobrt::job_id id, bool last, reply_to to) {
  flow f{&ctx, std::move(to.ex), std::move(to.calls), responder{std::move(to.done)}};
  try {
    ctx.rt.get_async(id, f.then<jobrt::job_record>([f, last](jobrt::result<jobrt::job_record> rec) {
      if (!rec)
        return f.reply(error_response(rec.error())); // deleted meanwhile, or shutting down
      if (!last && !jobrt::is_finished(rec->status))
        return f.reply(routed{});
      f.reply(record_answer(*rec, true));
    }));
  } catch (const std::exception& e) {
    f.reply(internal_error(e.what()));
  }
}

} // namespace jobrt_server
