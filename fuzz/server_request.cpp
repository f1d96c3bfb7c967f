/// Fuzzes jobrt-server's request handling: a parsed HTTP request (method,
/// target, headers, body) goes through the router (`handle_request`: target
/// and query parsing, authentication, routing, JSON bodies) against a real
/// in-memory runtime with tokens configured; the response comes out. The
/// router answers asynchronously, on an executor: each input runs a private
/// io_context until the answer came, so one input is one whole request.
///
/// Checked for every input: the router does not throw; it answers exactly
/// once, on the io_context it was given; the answer is either a
/// response or an event stream; the status is a known HTTP code from 200 to
/// 599; a JSON answer parses, and an error answer is `{"error", "message"}`;
/// every JSON answer says nosniff; 401 names its scheme; a request with no
/// credentials never gets past authentication; an owner token only ever sees
/// its owner's jobs. The response must serialize as an HTTP message.
///
/// Input, as text: the method on the first line, the target on the second,
/// then `Name: value` header lines up to an empty line, then the body.
/// Tokens: `Bearer fuzz-admin` (full access), `Bearer fuzz-acme` (owner acme).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "api.hpp"
#include "countdown.hpp"
#include "http_util.hpp"
#include "metrics.hpp"

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view admin_token = "fuzz-admin";
constexpr std::string_view acme_token = "fuzz-acme";

/// One runtime for the whole run: in memory, the countdown job only (the other
/// example jobs read and write files named by their parameters), finished jobs
/// deleted after a second.
struct world {
  jobrt::registry types;
  std::unique_ptr<jobrt::runtime> rt;
  std::unique_ptr<jobrt_server::metrics> m;
  std::unique_ptr<jobrt_server::server_context> ctx;

  world() {
    types.add<jobrt_examples::countdown_job>();
    jobrt::runtime_options o;
    o.storage = jobrt::storage_kind::memory;
    o.types = &types;
    o.max_running = 2;
    o.worker_threads = 2;
    for (auto s : {jobrt::job_status::completed, jobrt::job_status::failed, jobrt::job_status::cancelled})
      o.retention[s] = std::chrono::seconds{1};
    o.retention_sweep_every = std::chrono::seconds{1};
    auto started = jobrt::runtime::start(o);
    if (!started)
      std::abort();
    rt = std::move(*started);
    m = std::make_unique<jobrt_server::metrics>(*rt);
    jobrt_server::auth_config auth;
    auth.admin_token = std::string{admin_token};
    auth.owner_tokens[std::string{acme_token}] = "acme";
    ctx = std::make_unique<jobrt_server::server_context>(
      jobrt_server::server_context{*rt, auth, *m});
  }

  /// Fuzzed submits pile up (a countdown with a large n runs for ages): cancel
  /// what is unfinished now and then, so that memory stays flat over a long run.
  void tidy() {
    jobrt::list_query q;
    q.statuses = {jobrt::job_status::queued, jobrt::job_status::running, jobrt::job_status::waiting,
                  jobrt::job_status::paused};
    q.limit = 1000;
    if (auto page = rt->list(q))
      for (const auto& r : page->jobs)
        (void)rt->cancel(r.id);
  }
};

world& the_world() {
  static world* w = new world; // never destroyed: libFuzzer exits without unwinding
  return *w;
}

std::string_view next_line(std::string_view& in) {
  auto nl = in.find('\n');
  auto line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  return line;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

void check_owner(const json::value& record) {
  if (!record.is_object())
    return;
  if (auto* o = record.as_object().if_contains("owner"); o && *o != "acme")
    std::abort(); // an owner token saw another owner's job
}

void check(const jobrt_server::request& req, const jobrt_server::routed& r) {
  if (r.res.has_value() == r.events.has_value())
    std::abort(); // exactly one of the two
  auto auth = req[http::field::authorization];
  bool has_credentials = !auth.empty() || req.target().find("access_token") != std::string_view::npos;
  bool is_acme = auth == "Bearer fuzz-acme";
  if (r.events) {
    if (!has_credentials)
      std::abort(); // an event stream opened without a token
    if (is_acme && r.events->owner != "acme")
      std::abort();
    return;
  }
  auto res = *r.res;
  auto code = res.result_int();
  if (code < 200 || code > 599 || http::int_to_status(code) == http::status::unknown)
    std::abort();
  // The routes that need a token, as the raw (not yet decoded) path names them.
  auto path = req.target().substr(0, req.target().find('?'));
  bool api_like = starts_with(path, "/api/") || path == "/api" || path == "/metrics";
  if (api_like && !has_credentials && code != 400 && code != 401 && code != 414)
    std::abort(); // got past authentication without a token
  if (code == 401 && res[http::field::www_authenticate].empty())
    std::abort();
  if (res[http::field::content_type] == "application/json") {
    if (res["X-Content-Type-Options"] != "nosniff")
      std::abort();
    json::error_code ec;
    auto doc = json::parse(res.body(), ec);
    if (ec || !doc.is_object())
      std::abort();
    const auto& o = doc.as_object();
    if (code >= 400) {
      auto* e = o.if_contains("error");
      auto* m = o.if_contains("message");
      if (!e || !e->is_string() || !m || !m->is_string())
        std::abort();
    } else if (is_acme) {
      check_owner(doc);
      if (auto* jobs = o.if_contains("jobs"); jobs && jobs->is_array())
        for (const auto& j : jobs->as_array())
          check_owner(j);
    }
  }
  // What the connection would write.
  res.version(11);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  if (out.str().compare(0, 9, "HTTP/1.1 ") != 0)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& w = the_world();
  static std::uint64_t runs = 0;
  if (++runs % 2048 == 0)
    w.tidy();

  std::string_view in{reinterpret_cast<const char*>(data), size};
  auto method = next_line(in);
  auto target = next_line(in);
  if (method.empty() || target.empty())
    return 0;
  jobrt_server::request req;
  req.version(11);
  req.method_string(method); // an unknown method becomes verb::unknown with this text
  req.target(target);
  for (auto line = next_line(in); !line.empty() || !in.empty(); line = next_line(in)) {
    if (line.empty())
      break;
    auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos)
      continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
    req.insert(line.substr(0, colon), value);
  }
  req.body().assign(in.data(), in.size());
  req.prepare_payload();

  // The runtime's completions post into `ioc`; the guard keeps run_one()
  // waiting for them. Every runtime call answers (at worst with a timeout),
  // so the loop ends.
  boost::asio::io_context ioc;
  auto guard = boost::asio::make_work_guard(ioc);
  std::optional<jobrt_server::routed> r;
  int answers = 0;
  auto done = [&](jobrt_server::routed answer) {
    if (!ioc.get_executor().running_in_this_thread())
      std::abort(); // an answer off the executor the router was given
    ++answers;
    r = std::move(answer);
  };
  // Called on the executor, as a connection calls it on its strand.
  boost::asio::post(ioc, [&] {
    try {
      jobrt_server::handle_request(*w.ctx, req, {ioc.get_executor(), done});
    } catch (...) {
      std::abort(); // the router must answer, never throw
    }
  });
  while (!r)
    ioc.run_one();
  // Whatever else was posted (nothing should be) runs before the check.
  guard.reset();
  ioc.run();
  if (answers != 1)
    std::abort();
  check(req, *r);
  return 0;
}
