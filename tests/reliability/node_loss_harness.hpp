#pragma once

/// What the node-loss tests (node_loss_tests.cpp, node_crash_loop_tests.cpp)
/// share: a cluster of child processes (node_loss_child: one coordinator and
/// worker nodes) that they start, kill with SIGKILL, freeze with SIGSTOP and
/// thaw with SIGCONT, whose lines they read into one ledger; and the checks of
/// the `node_steps` histories (node_loss_job.hpp). Include after
/// <boost/test/unit_test.hpp> (and BOOST_TEST_MODULE).
///
/// The checks, each named with the jobs that break it:
/// - no_acknowledged_job_lost: every job acknowledged by a submit completed
///   (a `done` line), and the store shows it completed with that output;
/// - every_step_once:          the output holds steps 1..N, in order, once each;
/// - no_two_runs_at_once:      the attempts in the output never go down (a step
///                             of an older run kept after one of a newer run
///                             means both ran and both were taken);
/// - ran_on_a_worker:          every step names a worker node (the coordinator
///                             runs no job);
/// - history_matches_runs:     every (step, attempt, node) of the output is one
///                             a worker said it ran;
/// - rework_within_interval:   a run resumed at most one checkpoint interval
///                             behind the furthest step of the run before it;
/// - no_step_after_leaving:    a run on a worker that left (the coordinator
///                             went away, or evicted it) took no step after;
/// - no_child_errors:          no child wrote an `error` line.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "reliability/child_process.hpp"
#include "reliability/crash_loop_support.hpp"
#include "reliability/node_loss_job.hpp"
#include "storage/job_store.hpp"
#include "test_jobs.hpp"

namespace node_loss {

using jobrt::job_id;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

/// A TCP port that was free a moment ago (bound to port 0, read, closed).
inline std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

// -- what the children said -----------------------------------------------------------

struct run_start {
  job_id id = 0;
  std::int64_t from = 0; ///< steps already done (from its checkpoint)
  std::int64_t attempt = 0;
  std::string node;
  std::int64_t t = 0;
};

struct step_ran {
  job_id id = 0;
  std::int64_t n = 0;
  std::int64_t attempt = 0;
  std::string node;
  std::int64_t t = 0;
};

struct ledger {
  std::vector<job_id> submitted; ///< in order, acknowledged
  std::map<job_id, std::string> done; ///< output, as JSON text
  std::map<job_id, std::vector<run_start>> starts;
  std::map<job_id, std::vector<step_ran>> steps;
  std::vector<std::string> errors;
  /// By worker name: (node id, T) of each join; (runs stopped so far, T) of each leave.
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::int64_t>>> joins;
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::int64_t>>> lefts;
  std::map<std::string, std::uint64_t> runs_stopped;
  /// By worker name: joined and not left since, in its current process.
  std::map<std::string, bool> connected;
  /// The coordinator's last `stats` line, by key (of its current process).
  std::map<std::string, std::uint64_t> stats;
  std::uint64_t ups = 0;

  std::uint64_t stat(const std::string& k) const {
    auto i = stats.find(k);
    return i == stats.end() ? 0 : i->second;
  }
  std::size_t joins_of(const std::string& w) const {
    auto i = joins.find(w);
    return i == joins.end() ? 0 : i->second.size();
  }
  std::size_t lefts_of(const std::string& w) const {
    auto i = lefts.find(w);
    return i == lefts.end() ? 0 : i->second.size();
  }
  bool all_done() const {
    for (auto id : submitted)
      if (done.count(id) == 0)
        return false;
    return true;
  }
  std::size_t done_count() const {
    std::size_t n = 0;
    for (auto id : submitted)
      n += done.count(id);
    return n;
  }
  /// Steps that `worker` reported after T `after` (microseconds).
  std::size_t steps_on_after(const std::string& worker, std::int64_t after,
                             std::int64_t before = INT64_MAX) const {
    std::size_t n = 0;
    for (const auto& [id, v] : steps)
      for (const auto& s : v)
        n += s.node == worker && s.t > after && s.t < before;
    return n;
  }
  /// The last run start of job `id`, if any.
  const run_start* last_start(job_id id) const {
    auto i = starts.find(id);
    if (i == starts.end() || i->second.empty())
      return nullptr;
    return &*std::max_element(i->second.begin(), i->second.end(),
                              [](const run_start& a, const run_start& b) { return a.t < b.t; });
  }

  void apply(const std::string& who, const std::string& line) {
    std::istringstream in{line};
    std::string what;
    in >> what;
    if (what == "up") {
      ++ups;
      stats.clear();
    } else if (what == "submitted") {
      job_id id = 0;
      in >> id;
      submitted.push_back(id);
    } else if (what == "done") {
      job_id id = 0;
      in >> id;
      std::string rest;
      std::getline(in, rest);
      if (!rest.empty() && rest[0] == ' ')
        rest.erase(0, 1);
      auto [it, fresh] = done.emplace(id, rest);
      if (!fresh && it->second != rest)
        errors.push_back("job " + std::to_string(id) + " completed twice with different outputs");
    } else if (what == "stats") {
      std::string kv;
      while (in >> kv) {
        auto eq = kv.find('=');
        if (eq != std::string::npos)
          stats[kv.substr(0, eq)] = std::stoull(kv.substr(eq + 1));
      }
    } else if (what == "start") {
      run_start r;
      in >> r.id >> r.from >> r.attempt >> r.node >> r.t;
      starts[r.id].push_back(r);
    } else if (what == "step") {
      step_ran s;
      in >> s.id >> s.n >> s.attempt >> s.node >> s.t;
      steps[s.id].push_back(s);
    } else if (what == "joined") {
      std::uint64_t node = 0;
      std::int64_t t = 0;
      in >> node >> t;
      joins[who].emplace_back(node, t);
      connected[who] = true;
    } else if (what == "left") {
      std::uint64_t stopped = 0;
      std::int64_t t = 0;
      in >> stopped >> t;
      lefts[who].emplace_back(stopped, t);
      connected[who] = false;
    } else if (what == "stopped") {
      std::uint64_t stopped = 0;
      in >> stopped;
      runs_stopped[who] = stopped;
    } else if (what == "error") {
      errors.push_back(who + ": " + line);
    }
  }
};

// -- the processes ----------------------------------------------------------------------

struct process {
  crash_support::child_process cp;
  std::string pending;
  bool reading = false; ///< its stdout is open
  bool alive = false;   ///< not reaped
  bool frozen = false;
  /// Extra arguments of the coordinator, for a restart with the same load.
  std::vector<std::string> args;
};

/// One coordinator ("coordinator") and named workers on one data directory and port.
class cluster {
public:
  cluster(std::string exe, std::chrono::milliseconds node_timeout)
    : exe_(std::move(exe)), port_(free_port()), node_timeout_(node_timeout) {}

  ~cluster() {
    for (auto& [name, p] : procs_)
      if (p.alive) {
        ::kill(p.cp.pid, SIGKILL);
        ::waitpid(p.cp.pid, nullptr, 0);
      }
    for (auto& [name, p] : procs_)
      if (p.reading)
        ::close(p.cp.out);
  }

  ledger& led() { return led_; }
  std::uint16_t port() const { return port_; }
  std::string store() const { return (dir_.path / "store").string(); }
  static std::int64_t now_t() { return now_us(); }

  /// Starts the coordinator with `args` (--submit N ...) and waits for its "up".
  void start_coordinator(std::vector<std::string> args = {}) {
    std::vector<std::string> argv{"coordinator", store(), secret_, std::to_string(port_),
                                  std::to_string(node_timeout_.count())};
    argv.insert(argv.end(), args.begin(), args.end());
    auto ups = led_.ups;
    start("coordinator", argv);
    procs_["coordinator"].args = std::move(args);
    BOOST_REQUIRE_MESSAGE(wait_for([&] { return led_.ups > ups || !procs_["coordinator"].reading; },
                                   30s)
                            && led_.ups > ups,
                          "the coordinator did not come up on port " << port_ << errors_text());
  }

  void start_worker(const std::string& name, std::size_t slots) {
    start(name, {"worker", std::to_string(port_), secret_, name, std::to_string(slots)});
  }

  /// Waits until `worker` has joined `count` times in all.
  bool wait_joined(const std::string& worker, std::size_t count,
                   std::chrono::milliseconds timeout = 20s) {
    return wait_for([&] { return led_.joins_of(worker) >= count; }, timeout);
  }

  bool alive(const std::string& name) const {
    auto i = procs_.find(name);
    return i != procs_.end() && i->second.alive;
  }

  /// SIGKILL, reaped, and everything it wrote read.
  void kill(const std::string& name) {
    auto& p = procs_.at(name);
    if (!p.alive)
      return;
    ::kill(p.cp.pid, SIGKILL);
    int status = 0;
    ::waitpid(p.cp.pid, &status, 0);
    p.alive = false;
    p.frozen = false;
    BOOST_CHECK_MESSAGE(crash_support::sigkilled(status),
                        name << " ended before it was killed (status " << status << ")"
                             << errors_text());
    if (p.reading) {
      crash_support::read_child_to_end(p.cp.out, p.pending, [&] { take(name, p); });
      ::close(p.cp.out);
      p.reading = false;
    }
    led_.connected[name] = false;
  }

  /// Whether worker `name` runs and is joined, by what it said last.
  bool joined(const std::string& name) const {
    auto i = led_.connected.find(name);
    return alive(name) && i != led_.connected.end() && i->second;
  }

  void freeze(const std::string& name) {
    auto& p = procs_.at(name);
    ::kill(p.cp.pid, SIGSTOP);
    p.frozen = true;
  }
  void thaw(const std::string& name) {
    auto& p = procs_.at(name);
    ::kill(p.cp.pid, SIGCONT);
    p.frozen = false;
  }

  /// Reads what the children write for `span`.
  void pump(std::chrono::milliseconds span) {
    auto deadline = steady::now() + span;
    for (;;) {
      std::vector<pollfd> fds;
      std::vector<std::string> names;
      for (auto& [name, p] : procs_)
        if (p.reading) {
          fds.push_back(pollfd{p.cp.out, POLLIN, 0});
          names.push_back(name);
        }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      if (left.count() <= 0)
        return;
      if (fds.empty()) {
        ::usleep(static_cast<useconds_t>(left.count()) * 1000);
        return;
      }
      int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
      if (n <= 0)
        continue;
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0)
          continue;
        auto& p = procs_[names[i]];
        char buf[65536];
        auto got = ::read(p.cp.out, buf, sizeof buf);
        if (got > 0) {
          p.pending.append(buf, static_cast<std::size_t>(got));
          take(names[i], p);
        } else if (got == 0 || errno != EINTR) {
          ::close(p.cp.out);
          p.reading = false;
        }
      }
    }
  }

  /// Reads what the children write until `done()` or the timeout; returns `done()`.
  bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = steady::now() + timeout;
    while (!done()) {
      if (steady::now() >= deadline)
        return false;
      pump(20ms);
    }
    return true;
  }

  /// The children's error lines, for a failure message.
  std::string errors_text() const {
    std::string out;
    for (const auto& e : led_.errors)
      out += "\n  " + e;
    return out;
  }

private:
  void start(const std::string& name, const std::vector<std::string>& argv) {
    auto& p = procs_[name];
    BOOST_REQUIRE_MESSAGE(!p.alive, name << " is running already");
    p.cp = crash_support::spawn_child(exe_, argv);
    p.pending.clear();
    p.reading = true;
    p.alive = true;
    p.frozen = false;
    led_.connected[name] = false;
  }

  void take(const std::string& name, process&) {
    auto& p = procs_[name];
    crash_support::take_lines(p.pending, [&](const std::string& line) {
      if (trace_)
        std::cerr << "[" << name << "] " << line << "\n";
      led_.apply(name, line);
    });
  }

  std::string exe_;
  std::string secret_ = "node-loss-secret";
  test_jobs::temp_dir dir_;
  std::uint16_t port_;
  std::chrono::milliseconds node_timeout_;
  std::map<std::string, process> procs_;
  ledger led_;
  /// JOBRT_NODE_LOSS_TRACE=1: every line the children write, on stderr.
  bool trace_ = std::getenv("JOBRT_NODE_LOSS_TRACE") != nullptr;
};

// -- the checks -------------------------------------------------------------------------

/// Checks every acknowledged job's history (see the top of this file) against
/// `steps` and the checkpoint interval `every`.
inline void check_histories(const ledger& led, std::int64_t steps, std::int64_t every,
                            crash_support::checks& found) {
  for (const auto& e : led.errors)
    found.fail("no_child_errors", e);
  // A run on a worker that left (the coordinator went away, or evicted it)
  // takes no further step (50 ms for a step under way as it noticed). A step
  // belongs to the latest start of its job with its attempt on its node: a run
  // cut short by a coordinator's death before its start was durable gives its
  // attempt number to the next run.
  for (const auto& [id, ran] : led.steps) {
    auto st = led.starts.find(id);
    if (st == led.starts.end())
      continue;
    for (const auto& s : ran) {
      const run_start* r = nullptr;
      for (const auto& q : st->second)
        if (q.node == s.node && q.attempt == s.attempt && q.t <= s.t && (!r || q.t > r->t))
          r = &q;
      auto l = led.lefts.find(s.node);
      if (r == nullptr || l == led.lefts.end())
        continue;
      std::int64_t left_at = INT64_MAX;
      for (const auto& [stopped, t] : l->second)
        if (t > r->t)
          left_at = std::min(left_at, t);
      if (left_at != INT64_MAX && s.t > left_at + 50'000)
        found.fail("no_step_after_leaving",
                   "job " + std::to_string(id) + ": attempt " + std::to_string(s.attempt) + " on "
                     + s.node + " ran step " + std::to_string(s.n) + " "
                     + std::to_string((s.t - left_at) / 1000) + " ms after the node left");
    }
  }
  for (auto id : led.submitted) {
    auto name = "job " + std::to_string(id);
    auto d = led.done.find(id);
    if (d == led.done.end()) {
      found.fail("no_acknowledged_job_lost", name + " did not complete");
      continue;
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(d->second, ec);
    if (ec || !v.is_object()) {
      found.fail("every_step_once", name + ": an output that is not an object: " + d->second);
      continue;
    }
    auto out = jobrt::decode<steps_state>(v);
    if (!out) {
      found.fail("every_step_once", name + ": an output of the wrong shape: " + d->second);
      continue;
    }
    const auto& h = *out;
    bool whole = h.steps.size() == static_cast<std::size_t>(steps)
                 && h.attempts.size() == h.steps.size() && h.nodes.size() == h.steps.size();
    for (std::size_t i = 0; whole && i < h.steps.size(); ++i)
      whole = h.steps[i] == static_cast<std::int64_t>(i) + 1;
    if (!whole) {
      found.fail("every_step_once", name + ": " + d->second);
      continue;
    }
    // The runs the workers reported, by (step, attempt, node).
    std::set<std::tuple<std::int64_t, std::int64_t, std::string>> ran;
    if (auto s = led.steps.find(id); s != led.steps.end())
      for (const auto& r : s->second)
        ran.emplace(r.n, r.attempt, r.node);
    for (std::size_t i = 0; i < h.steps.size(); ++i) {
      if (i > 0 && h.attempts[i] < h.attempts[i - 1])
        found.fail("no_two_runs_at_once",
                   name + ": step " + std::to_string(i + 1) + " of attempt "
                     + std::to_string(h.attempts[i]) + " on " + h.nodes[i] + " after step "
                     + std::to_string(i) + " of attempt " + std::to_string(h.attempts[i - 1])
                     + " on " + h.nodes[i - 1]);
      if (h.nodes[i].empty() || h.nodes[i] == "-")
        found.fail("ran_on_a_worker", name + ": step " + std::to_string(i + 1)
                                        + " ran in the coordinator");
      if (ran.count({h.steps[i], h.attempts[i], h.nodes[i]}) == 0)
        found.fail("history_matches_runs",
                   name + ": step " + std::to_string(i + 1) + " of attempt "
                     + std::to_string(h.attempts[i]) + " on " + h.nodes[i]
                     + " was not reported by that node");
    }
    // Rework: each run against the run before it (the greatest lower attempt
    // that started, the latest of them if a coordinator's death made two runs
    // share it), counting only the steps that run took before this one began.
    auto st = led.starts.find(id);
    if (st == led.starts.end())
      continue;
    auto runs = st->second;
    std::sort(runs.begin(), runs.end(),
              [](const run_start& a, const run_start& b) { return a.t < b.t; });
    static const std::vector<step_ran> none;
    auto ran_steps = led.steps.find(id);
    const auto& all_steps = ran_steps == led.steps.end() ? none : ran_steps->second;
    for (const auto& r : runs) {
      const run_start* before = nullptr;
      for (const auto& q : runs)
        if (q.attempt < r.attempt && q.t < r.t
            && (!before || q.attempt > before->attempt
                || (q.attempt == before->attempt && q.t > before->t)))
          before = &q;
      if (!before)
        continue;
      std::int64_t furthest = before->from;
      for (const auto& s : all_steps)
        if (s.attempt == before->attempt && s.node == before->node && s.t >= before->t
            && s.t < r.t)
          furthest = std::max(furthest, s.n);
      if (furthest - r.from > every)
        found.fail("rework_within_interval",
                   name + ": attempt " + std::to_string(r.attempt) + " on " + r.node
                     + " resumed after step " + std::to_string(r.from) + ", but attempt "
                     + std::to_string(before->attempt) + " on " + before->node + " had run step "
                     + std::to_string(furthest) + " (checkpoint every " + std::to_string(every)
                     + ")");
    }
  }
}

/// With every process gone: the store shows every acknowledged job completed,
/// with the output its `done` line showed.
inline void check_store(const std::string& store, const ledger& led, crash_support::checks& found) {
  auto s = crash_support::open_store(store, "opening the store after the run");
  for (auto id : led.submitted) {
    auto name = "job " + std::to_string(id);
    auto rec = s->get(id);
    if (!rec) {
      found.fail("no_acknowledged_job_lost", name + " is not in the store: " + rec.error().message);
      continue;
    }
    if (rec->status != jobrt::job_status::completed) {
      found.fail("no_acknowledged_job_lost",
                 name + " is " + jobrt::to_string(rec->status) + " in the store: " + rec->error);
      continue;
    }
    auto d = led.done.find(id);
    if (d != led.done.end() && boost::json::serialize(rec->output) != d->second)
      found.fail("no_acknowledged_job_lost",
                 name + ": the store's output differs from the one reported done");
  }
}

/// How many runs of each attempt, for a summary line.
inline std::string summary(const ledger& led) {
  std::size_t runs = 0, resumed = 0;
  std::set<std::string> nodes;
  for (const auto& [id, v] : led.starts) {
    runs += v.size();
    for (const auto& r : v) {
      resumed += r.from > 0;
      nodes.insert(r.node);
    }
  }
  return std::to_string(led.submitted.size()) + " jobs, " + std::to_string(runs) + " runs ("
         + std::to_string(resumed) + " from a checkpoint) on " + std::to_string(nodes.size())
         + " node names";
}

} // namespace node_loss
