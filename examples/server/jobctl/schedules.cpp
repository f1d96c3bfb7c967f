#include "schedules.hpp"

#include <iostream>

#include <boost/json.hpp>

#include "render.hpp"

namespace json = boost::json;
namespace http = boost::beast::http;

namespace jobctl {

namespace {

constexpr int ok = 0;

const std::string& arg(const schedule_args& a, std::size_t i, const char* usage) {
  if (a.positional.size() <= i)
    throw usage_failure{std::string{"usage: schedule "} + usage};
  return a.positional[i];
}

int list(const schedule_args& a, const api_call& call) {
  if (a.positional.size() != 2)
    throw usage_failure{"usage: schedule list"};
  int code = ok;
  auto doc = call(http::verb::get, "/api/schedules", {}, code);
  if (!doc)
    return code;
  if (a.json)
    std::cout << json::serialize(*doc) << '\n';
  else
    print_schedules(std::cout, doc->at("schedules").as_array());
  return ok;
}

constexpr const char* add_usage =
  "add NAME SPEC TYPE [--params JSON] [--tz ZONE] [--on-missed P] [--on-overlap P] [--paused]";

int add(const schedule_args& a, const api_call& call) {
  if (a.positional.size() != 5)
    throw usage_failure{std::string{"usage: schedule "} + add_usage};
  json::object body{{"name", a.positional[2]}, {"spec", a.positional[3]}, {"type", a.positional[4]}};
  auto opt = [&](const char* name) -> const std::string* {
    auto i = a.options.find(name);
    return i == a.options.end() ? nullptr : &i->second;
  };
  if (auto* p = opt("params")) {
    json::error_code ec;
    auto params = json::parse(*p, ec);
    if (ec)
      throw usage_failure{"--params is not valid JSON: " + ec.message()};
    body["params"] = std::move(params);
  }
  if (auto* tz = opt("tz"))
    body["time_zone"] = *tz;
  if (auto* m = opt("on-missed"))
    body["on_missed"] = *m;
  if (auto* o = opt("on-overlap"))
    body["on_overlap"] = *o;
  if (opt("paused"))
    body["paused"] = true;
  int code = ok;
  auto doc = call(http::verb::post, "/api/schedules", json::serialize(body), code);
  if (!doc)
    return code;
  if (a.json) {
    std::cout << json::serialize(*doc) << '\n';
    return ok;
  }
  const auto& s = doc->as_object();
  std::cout << "schedule '" << a.positional[2] << "': ";
  if (s.at("paused").as_bool())
    std::cout << "paused\n";
  else
    std::cout << "next run " << format_utc(s.at("next_tick")) << '\n';
  return ok;
}

/// rm, pause, resume: a 204 and one line.
int steer(const schedule_args& a, const api_call& call, const std::string& sub) {
  const auto& name = arg(a, 2, (sub + " NAME").c_str());
  if (a.positional.size() != 3)
    throw usage_failure{"usage: schedule " + sub + " NAME"};
  auto target = "/api/schedules/" + path_escape(name);
  auto method = http::verb::delete_;
  if (sub != "rm") {
    target += "/" + sub;
    method = http::verb::post;
  }
  int code = ok;
  if (!call(method, target, {}, code))
    return code;
  if (!a.json) // the server answers 204: no JSON to print
    std::cout << "schedule '" << name << "' "
              << (sub == "rm" ? "deleted" : sub == "pause" ? "paused" : "resumed") << '\n';
  return ok;
}

} // namespace

int schedule_command(const schedule_args& a, const api_call& call) {
  const auto& sub = arg(a, 1, "list|add|rm|pause|resume ...");
  if (sub == "list")
    return list(a, call);
  if (sub == "add")
    return add(a, call);
  if (sub == "rm" || sub == "pause" || sub == "resume")
    return steer(a, call, sub);
  throw usage_failure{"unknown schedule command '" + sub + "'"};
}

} // namespace jobctl
