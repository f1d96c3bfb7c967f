#include "render.hpp"

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <sstream>

#include <boost/json.hpp>

namespace json = boost::json;

namespace jobctl {

namespace {

std::string str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string{v->get_string()} : std::string{};
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() > width)
    s = s.substr(0, width - 1) + "~";
  s.resize(width, ' ');
  return s;
}

const json::object& progress_of(const json::object& j) {
  static const json::object empty;
  auto* p = j.if_contains("progress");
  return p && p->is_object() ? p->get_object() : empty;
}

json::value fraction_of(const json::object& j) {
  auto* f = progress_of(j).if_contains("fraction");
  return f ? *f : json::value{};
}

/// The ids of the array `key` as "3, 4, 9" (the first 50, then "and N more");
/// empty if there is none.
std::string id_list(const json::object& o, const char* key) {
  constexpr std::size_t shown = 50;
  auto* v = o.if_contains(key);
  if (!v || !v->is_array())
    return {};
  const auto& ids = v->get_array();
  std::string out;
  for (std::size_t i = 0; i < ids.size() && i < shown; ++i)
    out += (out.empty() ? "" : ", ") + json::serialize(ids[i]);
  if (ids.size() > shown)
    out += " and " + std::to_string(ids.size() - shown) + " more";
  return out;
}

} // namespace

std::string progress_bar(const json::value& fraction, int width, bool unicode) {
  bool known = fraction.is_number();
  double f = known ? fraction.to_number<double>() : 0.0;
  f = f < 0 ? 0 : (f > 1 ? 1 : f);
  int filled = static_cast<int>(f * width + 0.5);
  std::string bar = "[";
  for (int i = 0; i < width; ++i)
    bar += i < filled ? (unicode ? "\u2588" : "#") : (unicode ? "\u2591" : "-");
  bar += "] ";
  std::ostringstream pct;
  if (known)
    pct << std::setw(3) << static_cast<int>(f * 100 + 0.5) << '%';
  else
    pct << "  ?%";
  return bar + pct.str();
}

std::string format_time(const json::value& ms) {
  if (!ms.is_number() || ms.to_number<double>() <= 0)
    return "-";
  std::time_t t = static_cast<std::time_t>(ms.to_number<double>() / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string format_utc(const json::value& ms) {
  if (!ms.is_number() || ms.to_number<double>() <= 0)
    return "-";
  std::time_t t = static_cast<std::time_t>(ms.to_number<double>() / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

void print_schedules(std::ostream& out, const json::array& schedules) {
  // A column always ends in a space, even when its text is cut.
  auto cell = [](std::string text, std::size_t width) { return pad(std::move(text), width - 1) + ' '; };
  out << cell("NAME", 22) << cell("SPEC", 20) << cell("ZONE", 15) << cell("TYPE", 14)
      << cell("NEXT RUN", 24) << cell("LAST JOB", 10) << cell("FIRED", 7) << "PAUSED\n";
  for (const auto& v : schedules) {
    if (!v.is_object())
      continue;
    const auto& s = v.get_object();
    auto number = [&](const char* key) {
      auto* n = s.if_contains(key);
      return n && n->is_number() && n->to_number<double>() > 0 ? json::serialize(*n) : "-";
    };
    auto* paused = s.if_contains("paused");
    bool is_paused = paused && paused->is_bool() && paused->get_bool();
    auto* next = s.if_contains("next_tick");
    out << cell(str(s, "name"), 22) << cell(str(s, "spec"), 20) << cell(str(s, "time_zone"), 15)
        << cell(str(s, "type"), 14) << cell(is_paused ? "-" : format_utc(next ? *next : nullptr), 24)
        << cell(number("last_job") == "-" ? "-" : "#" + number("last_job"), 10)
        << cell(s.contains("fired") ? json::serialize(s.at("fired")) : "0", 7)
        << (is_paused ? "yes" : "no") << '\n';
  }
}

namespace {

std::uint64_t count_of(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_number() ? v->to_number<std::uint64_t>() : 0;
}

/// "countdown, approval:2": the types a node runs, with a cap where it has one.
std::string types_of(const json::object& n) {
  auto* t = n.if_contains("types");
  if (!t || !t->is_object())
    return "-";
  std::string out;
  for (const auto& kv : t->get_object()) {
    out += (out.empty() ? "" : ", ") + std::string{kv.key()};
    if (kv.value().is_number() && kv.value().to_number<double>() > 0)
      out += ":" + json::serialize(kv.value());
  }
  return out.empty() ? "-" : out;
}

/// "3s ago" from a time in ms since the epoch; "-" for none.
std::string ago(const json::value& ms, std::int64_t now_ms) {
  if (!ms.is_number() || ms.to_number<double>() <= 0)
    return "-";
  auto s = std::max<std::int64_t>(0, (now_ms - ms.to_number<std::int64_t>()) / 1000);
  return std::to_string(s) + "s ago";
}

} // namespace

void print_nodes(std::ostream& out, const json::object& doc, std::int64_t now_ms) {
  auto cell = [](std::string text, std::size_t width) { return pad(std::move(text), width - 1) + ' '; };
  static const json::array none;
  auto* list = doc.if_contains("nodes");
  const auto& nodes = list && list->is_array() ? list->get_array() : none;
  if (!nodes.empty()) {
    out << cell("ID", 6) << cell("NAME", 20) << cell("ADDRESS", 22) << cell("RUNNING", 10)
        << cell("DISPATCHED", 11) << cell("HEARTBEAT", 11) << cell("JOINED", 20) << "TYPES\n";
  }
  for (const auto& v : nodes) {
    if (!v.is_object())
      continue;
    const auto& n = v.get_object();
    auto at = [&](const char* key) { return n.contains(key) ? n.at(key) : json::value{}; };
    out << cell(std::to_string(count_of(n, "id")), 6) << cell(str(n, "name"), 20)
        << cell(str(n, "address"), 22)
        << cell(std::to_string(count_of(n, "running")) + "/" + std::to_string(count_of(n, "slots")), 10)
        << cell(std::to_string(count_of(n, "dispatched")), 11) << cell(ago(at("last_heartbeat"), now_ms), 11)
        << cell(format_time(at("joined_at")), 20) << types_of(n) << '\n';
  }
  auto* port = doc.if_contains("port");
  auto* accepting = doc.if_contains("accepting");
  if (!accepting || !accepting->is_bool() || !accepting->get_bool() || !port || !port->is_number()) {
    out << "this server takes no worker nodes (start it with --workers-port)\n";
    return;
  }
  if (nodes.empty())
    out << "no worker nodes; start one with: jobrt-worker --coordinator HOST:" << json::serialize(*port)
        << " --secret S\n";
  static const json::object no_counters;
  auto* c = doc.if_contains("counters");
  const auto& counters = c && c->is_object() ? c->get_object() : no_counters;
  out << "workers port " << json::serialize(*port) << ": " << count_of(counters, "nodes_joined")
      << " joined, " << count_of(counters, "nodes_lost") << " lost, "
      << count_of(counters, "nodes_refused") << " refused, " << count_of(counters, "runs_taken_back")
      << " runs taken back\n";
}

void print_table(std::ostream& out, const json::array& jobs) {
  out << pad("ID", 8) << pad("TYPE", 18) << pad("OWNER", 12) << pad("STATUS", 11)
      << pad("PROGRESS", 10) << "CREATED\n";
  for (const auto& v : jobs) {
    if (!v.is_object())
      continue;
    const auto& j = v.get_object();
    auto f = fraction_of(j);
    std::string pct = f.is_number()
                        ? std::to_string(static_cast<int>(f.to_number<double>() * 100 + 0.5)) + "%"
                        : "-";
    out << pad(json::serialize(j.at("id")), 8) << pad(str(j, "type"), 18)
        << pad(str(j, "owner").empty() ? "-" : str(j, "owner"), 12) << pad(str(j, "status"), 11)
        << pad(pct, 10) << format_time(j.contains("created_at") ? j.at("created_at") : nullptr)
        << '\n';
  }
}

void print_details(std::ostream& out, const json::object& j) {
  auto field = [&](const char* label, const std::string& value) {
    out << pad(std::string{label} + ":", 13) << value << '\n';
  };
  auto time = [&](const char* label, const char* key) {
    field(label, format_time(j.contains(key) ? j.at(key) : nullptr));
  };
  field("id", json::serialize(j.at("id")));
  field("type", str(j, "type"));
  field("status", str(j, "status"));
  if (!str(j, "node").empty())
    field("node", str(j, "node"));
  field("owner", str(j, "owner").empty() ? "-" : str(j, "owner"));
  field("priority", j.contains("priority") ? json::serialize(j.at("priority")) : "0");
  field("attempts", j.contains("attempts") ? json::serialize(j.at("attempts")) : "0");
  const auto& p = progress_of(j);
  field("progress", progress_bar(fraction_of(j), 30, false) + "  " + str(p, "stage")
                      + (str(p, "message").empty() ? "" : " - " + str(p, "message")));
  time("created", "created_at");
  time("started", "started_at");
  time("finished", "finished_at");
  time("checkpoint", "checkpoint_at");
  // A job waiting for its dependencies or children has no timer: its wake_at is
  // the largest 64-bit integer, which is no date.
  if (auto* w = j.if_contains("wake_at");
      w && w->is_number() && w->to_number<double>() > 0 && w->to_number<double>() < 253402300800000.0)
    time("wakes", "wake_at");
  if (auto* parent = j.if_contains("parent"); parent && parent->is_number() && parent->to_number<double>() > 0)
    field("parent", json::serialize(*parent));
  if (auto ids = id_list(j, "after"); !ids.empty())
    field("after", ids + " (if one failed or was cancelled: "
                     + (str(j, "on_dependency_failure").empty() ? "fail" : str(j, "on_dependency_failure"))
                     + ")");
  if (auto ids = id_list(j, "children"); !ids.empty())
    field("children", ids);
  field("params", j.contains("params") ? json::serialize(j.at("params")) : "null");
  if (!str(j, "error").empty())
    field("error", str(j, "error"));
  if (auto* o = j.if_contains("output"); o && !o->is_null())
    field("output", json::serialize(*o));
}

std::string live_view::line_for(const json::object& j) const {
  const auto& p = progress_of(j);
  std::string text = str(p, "stage");
  if (!str(p, "message").empty())
    text += (text.empty() ? "" : " - ") + str(p, "message");
  if (!str(j, "error").empty())
    text = str(j, "error");
  return pad("#" + json::serialize(j.at("id")), 7) + pad(str(j, "type"), 16)
         + pad(str(j, "status"), 10) + progress_bar(fraction_of(j), 24, unicode_) + "  "
         + pad(text, 40);
}

void live_view::update(const json::object& j) {
  auto* id = j.if_contains("id");
  if (!id || !id->is_number())
    return;
  auto key = id->to_number<std::uint64_t>();
  auto& slot = jobs_[key];
  for (const auto& kv : j)
    if (kv.key() != "event")
      slot[kv.key()] = kv.value();
  if (!tty_) {
    out_ << line_for(slot) << std::endl;
    return;
  }
  redraw();
}

void live_view::redraw() {
  if (drawn_ > 0)
    out_ << "\x1b[" << drawn_ << "A"; // back to the first line we drew
  for (const auto& kv : jobs_)
    out_ << "\r\x1b[2K" << line_for(kv.second) << '\n';
  drawn_ = jobs_.size();
  out_.flush();
}

} // namespace jobctl
