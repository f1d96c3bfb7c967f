/// jobctl: a command line client of jobrt-server's HTTP API.
///
/// Exit codes: 0 ok, 1 the API answered with an error, 2 usage error,
/// 3 the server cannot be reached, 4 the token is missing, wrong or not allowed;
/// `wait` also: 5 the job failed, 6 it was cancelled, 7 it did not finish in time.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <boost/json.hpp>

#include "http_client.hpp"
#include "render.hpp"
#include "schedules.hpp"

namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

enum exit_code {
  ok = 0,
  api_error = 1,
  usage_error = 2,
  no_server = 3,
  auth_error = 4,
  job_failed = 5,    ///< wait: the job failed
  job_cancelled = 6, ///< wait: the job was cancelled
  wait_timeout = 7,  ///< wait: the job had not finished when --timeout passed
};

constexpr const char* usage = R"(Usage: jobctl [--url URL] [--token TOKEN] [--json] COMMAND [ARGS]

Commands:
  submit TYPE JSON [--priority N] [--owner O] [--after ID[,ID...]] [--on-dependency-failure P]
                                                create a job; JSON is its parameters; with
                                                --after it runs once those jobs finished;
                                                P (if one failed or was cancelled): fail|cancel|run
  list [--status S[,S]] [--type T] [--owner O] [--limit N] [--cursor ID]
  show ID                                       every field of a job (parent, after, children too)
  pause ID | resume ID | cancel ID | retry ID   steer a job
  signal ID NAME [JSON]                         send a signal; JSON is its payload
  wait ID [--timeout SECONDS]                   wait until the job finished (default: no limit)
  watch [ID]                                    live progress (until ID finishes, or Ctrl-C)
  types                                         the job types and their parameters
  nodes                                         worker nodes: running/slots, heartbeat, types
  schedule list                                 recurring schedules: next run (UTC), last job
  schedule add NAME SPEC TYPE [--params JSON] [--tz ZONE] [--on-missed P] [--on-overlap P] [--paused]
                                                create or replace a schedule: SPEC is a cron
                                                expression ("*/5 * * * *"), a macro ("@daily")
                                                or an interval ("@every 90s"); --on-missed
                                                skip|run_once|run_each, --on-overlap skip|queue|allow
  schedule rm NAME | pause NAME | resume NAME   delete, pause or resume a schedule

Options:
  --url URL      server (default: $JOBRT_URL or http://127.0.0.1:8080)
  --token TOKEN  bearer token (default: $JOBRT_TOKEN)
  --json         print the server's JSON (one event per line for watch)

Exit codes: 0 ok, 1 API error, 2 usage, 3 cannot connect, 4 auth;
wait: 0 completed, 5 failed, 6 cancelled, 7 not finished within --timeout.
)";

/// The text of a JSON string (streaming a json::string directly would quote it).
std::string text(const json::value& v) {
  return v.is_string() ? std::string{v.get_string()} : json::serialize(v);
}

using jobctl::usage_failure;

/// The command line, split into options and positional arguments.
struct args {
  std::string url;
  std::string token;
  bool json = false;
  std::vector<std::string> positional;
  std::map<std::string, std::string> options; ///< command options, e.g. "priority"

  std::optional<std::string> opt(const std::string& name) const {
    auto i = options.find(name);
    if (i == options.end())
      return std::nullopt;
    return i->second;
  }
};

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

args parse_args(int argc, char** argv) {
  args a;
  a.url = env_or("JOBRT_URL", "http://127.0.0.1:8080");
  a.token = env_or("JOBRT_TOKEN", "");
  static const char* with_value[] = {"url", "token", "priority", "owner", "status",
                                     "type", "limit", "cursor", "timeout", "params",
                                     "tz", "on-missed", "on-overlap", "after",
                                     "on-dependency-failure"};
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--help" || s == "-h")
      throw usage_failure{};
    if (s == "--json") {
      a.json = true;
      continue;
    }
    if (s == "--paused") { // a flag of `schedule add`
      a.options["paused"] = "true";
      continue;
    }
    if (s.rfind("--", 0) != 0 || s == "--") {
      a.positional.push_back(s);
      continue;
    }
    auto name = s.substr(2);
    std::string value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else {
      bool known = false;
      for (auto* w : with_value)
        known = known || name == w;
      if (!known)
        throw usage_failure{"unknown option --" + name};
      if (i + 1 >= argc)
        throw usage_failure{"--" + name + " needs a value"};
      value = argv[++i];
    }
    if (name == "url")
      a.url = value;
    else if (name == "token")
      a.token = value;
    else
      a.options[name] = value;
  }
  return a;
}

/// Talks to the server and turns its answers into output and exit codes.
class cli {
public:
  cli(const args& a, jobrt_client::http_client client) : a_(a), client_(std::move(client)) {}

  int run();

private:
  int submit();
  int list();
  int show();
  int steer(const std::string& action);
  int signal();
  int wait();
  int watch();
  int types();
  int nodes();

  /// Sends a request; on an error answer prints it and returns the exit code.
  std::optional<json::value> call(http::verb method, const std::string& target,
                                  const std::string& body, int& code);
  int report_error(const jobrt_client::reply& r);
  const std::string& id_arg(std::size_t i) const;

  const args& a_;
  jobrt_client::http_client client_;
};

const std::string& cli::id_arg(std::size_t i) const {
  if (a_.positional.size() <= i)
    throw usage_failure{a_.positional[0] + " needs a job id"};
  const auto& s = a_.positional[i];
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
    throw usage_failure{"'" + s + "' is not a job id"};
  return s;
}

int cli::report_error(const jobrt_client::reply& r) {
  json::error_code ec;
  auto doc = json::parse(r.body, ec);
  std::string code = "http_" + std::to_string(r.status);
  std::string message = r.body;
  if (!ec && doc.is_object()) {
    if (auto* c = doc.get_object().if_contains("error"); c && c->is_string())
      code = std::string{c->get_string()};
    if (auto* m = doc.get_object().if_contains("message"); m && m->is_string())
      message = std::string{m->get_string()};
  }
  if (a_.json)
    std::cout << r.body << (r.body.empty() || r.body.back() != '\n' ? "\n" : "");
  if (r.status == 401) {
    std::cerr << "jobctl: not authorized (" << message << "); pass --token or set JOBRT_TOKEN\n";
    return auth_error;
  }
  if (r.status == 403) {
    std::cerr << "jobctl: forbidden: " << message << '\n';
    return auth_error;
  }
  std::cerr << "jobctl: " << code << ": " << message << '\n';
  return api_error;
}

std::optional<json::value> cli::call(http::verb method, const std::string& target,
                                     const std::string& body, int& code) {
  auto r = client_.request(method, target, body);
  if (r.status < 200 || r.status >= 300) {
    code = report_error(r);
    return std::nullopt;
  }
  code = ok;
  if (r.status == 204)
    return json::value{}; // no body
  json::error_code ec;
  auto doc = json::parse(r.body, ec);
  if (ec) {
    std::cerr << "jobctl: the server sent something that is not JSON\n";
    code = api_error;
    return std::nullopt;
  }
  return doc;
}

/// The ids of `--after 3,4,9`: job ids in digits, separated by commas.
json::array after_ids(const std::string& list) {
  json::array ids;
  std::size_t start = 0;
  for (;;) {
    auto comma = list.find(',', start);
    auto item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty() || item.size() > 19 || item.find_first_not_of("0123456789") != std::string::npos
        || item.find_first_not_of('0') == std::string::npos)
      throw usage_failure{"--after takes job ids separated by commas (\"3,4\"), not '" + list + "'"};
    ids.push_back(std::stoull(item));
    if (comma == std::string::npos)
      return ids;
    start = comma + 1;
  }
}

int cli::submit() {
  if (a_.positional.size() != 3)
    throw usage_failure{"usage: submit TYPE JSON [--priority N] [--owner O] [--after ID[,ID...]] "
                        "[--on-dependency-failure fail|cancel|run]"};
  json::error_code ec;
  auto params = json::parse(a_.positional[2], ec);
  if (ec)
    throw usage_failure{"the parameters are not valid JSON: " + ec.message()};
  json::object body{{"type", a_.positional[1]}, {"params", params}};
  if (auto p = a_.opt("priority")) {
    try {
      std::size_t used = 0;
      body["priority"] = std::stoi(*p, &used);
      if (used != p->size())
        throw std::invalid_argument{*p};
    } catch (const std::exception&) {
      throw usage_failure{"--priority must be a whole number"};
    }
  }
  if (auto o = a_.opt("owner"))
    body["owner"] = *o;
  if (auto after = a_.opt("after"))
    body["after"] = after_ids(*after);
  if (auto p = a_.opt("on-dependency-failure")) {
    if (*p != "fail" && *p != "cancel" && *p != "run")
      throw usage_failure{"--on-dependency-failure must be fail, cancel or run"};
    body["on_dependency_failure"] = *p;
  }
  int code = ok;
  auto doc = call(http::verb::post, "/api/jobs", json::serialize(body), code);
  if (!doc)
    return code;
  if (a_.json)
    std::cout << json::serialize(*doc) << '\n';
  else
    std::cout << "submitted job " << json::serialize(doc->at("id")) << " ("
              << text(doc->at("status")) << ")\n";
  return ok;
}

/// Percent-encodes `s`: unreserved characters (and those in `also_kept`)
/// stay, every other byte becomes %XX.
std::string percent_encode(const std::string& s, const char* also_kept) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
        || (c != 0 && std::strchr(also_kept, c) != nullptr))
      out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

/// A query value: commas stay, for status lists.
std::string query_escape(const std::string& s) {
  return percent_encode(s, ",");
}

} // namespace

std::string jobctl::path_escape(const std::string& s) {
  return percent_encode(s, "");
}

namespace {

using jobctl::path_escape;

int cli::list() {
  std::string q;
  for (const char* key : {"status", "type", "owner", "limit", "cursor"})
    if (auto v = a_.opt(key))
      q += (q.empty() ? "?" : "&") + std::string{key} + "=" + query_escape(*v);
  int code = ok;
  auto doc = call(http::verb::get, "/api/jobs" + q, {}, code);
  if (!doc)
    return code;
  if (a_.json) {
    std::cout << json::serialize(*doc) << '\n';
    return ok;
  }
  jobctl::print_table(std::cout, doc->at("jobs").as_array());
  if (!doc->at("next_cursor").is_null())
    std::cout << "(more: --cursor " << json::serialize(doc->at("next_cursor")) << ")\n";
  return ok;
}

int cli::show() {
  int code = ok;
  auto doc = call(http::verb::get, "/api/jobs/" + id_arg(1), {}, code);
  if (!doc)
    return code;
  if (a_.json)
    std::cout << json::serialize(*doc) << '\n';
  else
    jobctl::print_details(std::cout, doc->as_object());
  return ok;
}

int cli::steer(const std::string& action) {
  int code = ok;
  auto id = id_arg(1);
  auto doc = call(http::verb::post, "/api/jobs/" + id + "/" + action, {}, code);
  if (!doc)
    return code;
  if (a_.json)
    std::cout << json::serialize(*doc) << '\n';
  else
    std::cout << "job " << id << ": " << text(doc->at("status")) << '\n';
  return ok;
}


int cli::signal() {
  if (a_.positional.size() < 3 || a_.positional.size() > 4)
    throw usage_failure{"usage: signal ID NAME [JSON]"};
  auto id = id_arg(1);
  const auto& name = a_.positional[2];
  std::string body;
  if (a_.positional.size() == 4) {
    json::error_code ec;
    auto payload = json::parse(a_.positional[3], ec);
    if (ec)
      throw usage_failure{"the payload is not valid JSON: " + ec.message()};
    body = json::serialize(payload);
  }
  int code = ok;
  auto doc = call(http::verb::post, "/api/jobs/" + id + "/signals/" + path_escape(name), body, code);
  if (!doc)
    return code;
  if (a_.json)
    std::cout << json::serialize(*doc) << '\n';
  else
    std::cout << "job " << id << ": sent signal '" << name << "'\n";
  return ok;
}

bool finished(const json::value& status);

/// The exit code for a job's final status.
int final_code(const json::value& status) {
  if (status == "completed")
    return ok;
  return status == "cancelled" ? job_cancelled : job_failed;
}

int cli::wait() {
  if (a_.positional.size() != 2)
    throw usage_failure{"usage: wait ID [--timeout SECONDS]"};
  auto id = id_arg(1);
  using clock = std::chrono::steady_clock;
  std::optional<clock::time_point> deadline;
  if (auto t = a_.opt("timeout")) {
    if (t->empty() || t->size() > 9 || t->find_first_not_of("0123456789") != std::string::npos)
      throw usage_failure{"--timeout must be a whole number of seconds"};
    deadline = clock::now() + std::chrono::seconds{std::stoll(*t)};
  }
  constexpr long long longest_poll = 60; // the server's most for ?wait
  for (;;) {
    long long slice = longest_poll;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::seconds>(*deadline - clock::now()).count();
      slice = std::clamp<long long>(left, 0, longest_poll);
    }
    // The connection must outlast the server's wait.
    jobrt_client::http_client poller{client_.where(), a_.token,
                                     std::chrono::seconds{slice + 15}};
    auto r = poller.request(http::verb::get,
                            "/api/jobs/" + id + "?wait=" + std::to_string(slice));
    if (r.status != 200)
      return report_error(r);
    json::error_code ec;
    auto doc = json::parse(r.body, ec);
    if (ec || !doc.is_object()) {
      std::cerr << "jobctl: the server sent something that is not JSON\n";
      return api_error;
    }
    const auto& status = doc.at("status");
    bool done = finished(status);
    if (done || (deadline && (slice == 0 || clock::now() >= *deadline))) {
      if (a_.json)
        std::cout << json::serialize(doc) << '\n';
      else if (done)
        std::cout << "job " << id << ": " << text(status)
                  << (doc.at("error").is_string() && !doc.at("error").get_string().empty()
                        ? " (" + text(doc.at("error")) + ")"
                        : std::string{})
                  << '\n';
      if (done)
        return final_code(status);
      std::cerr << "jobctl: job " << id << " did not finish in time (it is " << text(status)
                << ")\n";
      return wait_timeout;
    }
  }
}

int cli::types() {
  int code = ok;
  auto doc = call(http::verb::get, "/api/job-types", {}, code);
  if (!doc)
    return code;
  if (a_.json) {
    std::cout << json::serialize(*doc) << '\n';
    return ok;
  }
  for (const auto& t : doc->at("types").as_array()) {
    std::cout << text(t.at("name")) << " - " << text(t.at("description")) << '\n';
    for (const auto& p : t.at("params").as_array())
      std::cout << "    " << text(p.at("name")) << ": " << text(p.at("type"))
                << (p.at("required").as_bool() ? "" : " (optional)") << '\n';
  }
  return ok;
}

int cli::nodes() {
  if (a_.positional.size() != 1)
    throw usage_failure{"usage: nodes"};
  int code = ok;
  auto doc = call(http::verb::get, "/api/nodes", {}, code);
  if (!doc)
    return code;
  if (a_.json) {
    std::cout << json::serialize(*doc) << '\n';
    return ok;
  }
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count();
  jobctl::print_nodes(std::cout, doc->as_object(), now);
  return ok;
}

bool finished(const json::value& status) {
  return status.is_string()
         && (status == "completed" || status == "failed" || status == "cancelled");
}

int cli::watch() {
  bool tty = ::isatty(STDOUT_FILENO) != 0;
  std::string lang = env_or("LANG", "") + env_or("LC_ALL", "");
  jobctl::live_view view{std::cout, tty, lang.find("UTF-8") != std::string::npos};
  std::string target = "/api/events";
  std::string final_status;
  int code = ok;
  if (a_.positional.size() > 1) {
    auto id = id_arg(1);
    auto doc = call(http::verb::get, "/api/jobs/" + id, {}, code);
    if (!doc)
      return code;
    target += "?job=" + id;
    if (finished(doc->at("status"))) {
      final_status = std::string{doc->at("status").as_string()};
      if (a_.json)
        std::cout << json::serialize(*doc) << '\n';
      else
        view.update(doc->as_object());
      return final_status == "completed" ? ok : api_error;
    }
    if (!a_.json)
      view.update(doc->as_object());
  } else if (!a_.json) {
    auto doc = call(http::verb::get, "/api/jobs?status=queued,running,paused,waiting&limit=100",
                    {}, code);
    if (!doc)
      return code;
    for (const auto& j : doc->at("jobs").as_array())
      view.update(j.as_object());
  }
  bool one_job = a_.positional.size() > 1;
  auto r = client_.stream_events(
    target,
    [&](const jobrt_client::sse_event& ev) {
      json::error_code ec;
      auto doc = json::parse(ev.data, ec);
      if (ec || !doc.is_object())
        return true;
      if (a_.json)
        std::cout << ev.data << std::endl;
      else
        view.update(doc.get_object());
      if (one_job && ev.event == "status" && finished(doc.at("status"))) {
        final_status = std::string{doc.at("status").as_string()};
        return false;
      }
      return true;
    },
    std::chrono::hours{24 * 365});
  if (r.status != 200)
    return report_error(r);
  if (one_job && final_status.empty()) {
    std::cerr << "jobctl: the server closed the event stream\n";
    return no_server;
  }
  return final_status.empty() || final_status == "completed" ? ok : api_error;
}

int cli::run() {
  const auto& cmd = a_.positional.at(0);
  if (cmd == "submit")
    return submit();
  if (cmd == "list")
    return list();
  if (cmd == "show")
    return show();
  if (cmd == "pause" || cmd == "resume" || cmd == "cancel" || cmd == "retry")
    return steer(cmd);
  if (cmd == "signal")
    return signal();
  if (cmd == "wait")
    return wait();
  if (cmd == "watch")
    return watch();
  if (cmd == "types")
    return types();
  if (cmd == "nodes")
    return nodes();
  if (cmd == "schedule")
    return jobctl::schedule_command(
      {a_.positional, a_.options, a_.json},
      [this](http::verb method, const std::string& target, const std::string& body, int& code) {
        return call(method, target, body, code);
      });
  throw usage_failure{"unknown command '" + cmd + "'"};
}

} // namespace

int main(int argc, char** argv) {
  try {
    auto a = parse_args(argc, argv);
    if (a.positional.empty())
      throw usage_failure{};
    auto u = jobrt_client::parse_url(a.url);
    if (!u)
      throw usage_failure{"--url must look like http://HOST:PORT, not '" + a.url + "'"};
    cli c{a, jobrt_client::http_client{*u, a.token}};
    return c.run();
  } catch (const usage_failure& f) {
    if (f.message.empty()) {
      std::cout << usage;
      return argc > 1 ? ok : usage_error;
    }
    std::cerr << "jobctl: " << f.message << "\n\n" << usage;
    return usage_error;
  } catch (const jobrt_client::client_error& e) {
    std::cerr << "jobctl: cannot reach the jobrt server: " << e.what()
              << "\n(is jobrt-server running? set --url or JOBRT_URL)\n";
    return no_server;
  } catch (const std::exception& e) {
    std::cerr << "jobctl: unexpected answer from the server: " << e.what() << '\n';
    return api_error;
  }
}
