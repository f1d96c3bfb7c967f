/// The child process of the worker-node tests (node_tests.cpp), in one of two
/// modes. Every line it writes on stdout is written with one write(2).
///
///   node_child coordinator DATA_DIR|memory SECRET [--node-timeout MS] [--tls CERT KEY CA]
///     Starts a runtime that takes worker nodes on a free loopback port
///     (workers.port = 0) and runs no job itself (workers.run_locally = false),
///     prints `up PORT`, then answers each command it reads from stdin with one
///     line, `ok [RESULT]` or `err MESSAGE`:
///       submit TYPE JSON      -> ok ID
///       pause ID | resume ID | cancel ID
///       signal ID NAME JSON
///       get ID                -> ok RECORD_JSON
///       wait ID MS            -> ok RECORD_JSON (the final record)
///       stats                 -> ok {"nodes": [...], "node_counters": {...}}
///       quit                  (also at the end of stdin): shuts down, prints `bye`
///
///   node_child worker PORT SECRET NAME SLOTS [CERT KEY CA]
///     Runs a jobrt::worker named NAME for the coordinator on 127.0.0.1:PORT and
///     reports what happens to it: `joined NODE_ID` when welcomed, `refused N`
///     when the coordinator refused its N-th hello, `failed WHY` when a join
///     failed for another reason. Stops and prints `bye` at the end of stdin.
///
/// A SECRET of "-" is none (TLS alone).

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include "nodes/node_jobs.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

void say(const std::string& line) {
  auto text = line + "\n";
  const char* p = text.data();
  auto left = text.size();
  while (left > 0) {
    auto n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0)
      return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::string secret_arg(const std::string& s) {
  return s == "-" ? std::string{} : s;
}

json::value stats_json(const jobrt::runtime_stats& s) {
  json::array nodes;
  for (const auto& n : s.nodes)
    nodes.push_back(jobrt::to_json(n));
  auto counters = jobrt::to_json(s.node_counters);
  return json::object{{"nodes", std::move(nodes)}, {"node_counters", std::move(counters)},
                      {"running", s.running}, {"queued", s.queued}};
}

std::string answer(const jobrt::result<void>& r) {
  return r ? std::string{"ok"} : "err " + r.error().message;
}

std::string answer(const jobrt::result<jobrt::job_record>& r) {
  return r ? "ok " + json::serialize(jobrt::to_json(*r)) : "err " + r.error().message;
}

/// The rest of `in` (after one space), parsed as JSON.
bool rest_json(std::istringstream& in, json::value& out, std::string& why) {
  std::string text;
  std::getline(in, text);
  boost::system::error_code ec;
  out = json::parse(text, ec);
  if (ec) {
    why = "bad JSON: " + ec.message();
    return false;
  }
  return true;
}

std::string serve(jobrt::runtime& rt, const std::string& line) {
  std::istringstream in{line};
  std::string cmd;
  in >> cmd;
  jobrt::job_id id = 0;
  if (cmd == "submit") {
    std::string type;
    in >> type;
    json::value params;
    std::string why;
    if (!rest_json(in, params, why))
      return "err " + why;
    auto r = rt.submit(type, params);
    return r ? "ok " + std::to_string(*r) : "err " + r.error().message;
  }
  if (cmd == "stats") {
    auto s = rt.stats();
    return s ? "ok " + json::serialize(stats_json(*s)) : "err " + s.error().message;
  }
  if (!(in >> id))
    return "err no job id in '" + line + "'";
  if (cmd == "pause")
    return answer(rt.pause(id));
  if (cmd == "resume")
    return answer(rt.resume(id));
  if (cmd == "cancel")
    return answer(rt.cancel(id));
  if (cmd == "get")
    return answer(rt.get(id));
  if (cmd == "wait") {
    long ms = 0;
    in >> ms;
    return answer(rt.wait(id, std::chrono::milliseconds(ms)));
  }
  if (cmd == "signal") {
    std::string name;
    in >> name;
    json::value payload;
    std::string why;
    if (!rest_json(in, payload, why))
      return "err " + why;
    return answer(rt.signal(id, name, std::move(payload)));
  }
  return "err unknown command '" + cmd + "'";
}

int coordinator(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: node_child coordinator DATA_DIR|memory SECRET [options]\n");
    return 2;
  }
  jobrt::runtime_options o;
  std::string where = argv[2];
  if (where == "memory") {
    o.storage = jobrt::storage_kind::memory;
  } else {
    o.data_dir = where;
    o.durable = false;
  }
  o.max_running = 16;
  o.worker_threads = 2;
  o.workers.port = 0;
  o.workers.secret = secret_arg(argv[3]);
  o.workers.run_locally = false;
  for (int i = 4; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--node-timeout" && i + 1 < argc) {
      o.workers.node_timeout = std::chrono::milliseconds(std::stol(argv[++i]));
    } else if (a == "--tls" && i + 3 < argc) {
      o.workers.tls.certificate = argv[++i];
      o.workers.tls.key = argv[++i];
      o.workers.tls.ca_file = argv[++i];
    } else {
      std::fprintf(stderr, "node_child: unknown option '%s'\n", a.c_str());
      return 2;
    }
  }
  auto rt = jobrt::runtime::start(std::move(o));
  if (!rt) {
    say("err start: " + rt.error().message);
    return 1;
  }
  say("up " + std::to_string((*rt)->workers_port().value_or(0)));
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "quit")
      break;
    if (line.empty())
      continue;
    say(serve(**rt, line));
  }
  (*rt)->shutdown();
  rt->reset();
  say("bye");
  return 0;
}

int worker(int argc, char** argv) {
  if (argc != 6 && argc != 9) {
    std::fprintf(stderr, "usage: node_child worker PORT SECRET NAME SLOTS [CERT KEY CA]\n");
    return 2;
  }
  jobrt::worker_options o;
  o.coordinator_port = static_cast<std::uint16_t>(std::stoul(argv[2]));
  o.secret = secret_arg(argv[3]);
  o.name = argv[4];
  o.slots = std::stoul(argv[5]);
  if (argc == 9) {
    o.tls.certificate = argv[6];
    o.tls.key = argv[7];
    o.tls.ca_file = argv[8];
  }
  o.worker_threads = 2;
  o.heartbeat_interval = 200ms;
  o.reconnect_first = 50ms;
  o.reconnect_last = 400ms;
  auto w = jobrt::worker::start(std::move(o));
  if (!w) {
    say("err start: " + w.error().message);
    return 1;
  }
  std::uint64_t node = 0;
  std::uint64_t refusals = 0;
  std::string last_error;
  for (;;) {
    auto s = (*w)->stats();
    if (s.connected && s.node_id != node) {
      node = s.node_id;
      say("joined " + std::to_string(node));
    }
    if (s.refusals > refusals) {
      refusals = s.refusals;
      say("refused " + std::to_string(refusals));
    } else if (!s.connected && !s.last_error.empty() && s.last_error != last_error) {
      last_error = s.last_error;
      say("failed " + last_error);
    }
    if (!s.connected)
      node = 0;
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, 10) > 0) {
      char buf[256];
      if (::read(STDIN_FILENO, buf, sizeof buf) <= 0)
        break; // the end of stdin: leave
    }
  }
  (*w)->stop();
  w->reset();
  say("bye");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  node_jobs::register_all();
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "coordinator")
    return coordinator(argc, argv);
  if (mode == "worker")
    return worker(argc, argv);
  std::fprintf(stderr, "usage: node_child coordinator|worker ...\n");
  return 2;
}
