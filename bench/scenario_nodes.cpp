// jobrt-bench scenario 12: worker nodes. No-op jobs drained locally, through one
// and through two worker processes (a pure coordinator, workers.run_locally =
// false), next to a bare CAF remote request/reply baseline on the same loopback;
// and a checkpointing job of 1 ms steps, locally and through one worker.
//
// The worker processes and the bare CAF echo peer are this executable run again
// in a hidden mode (--worker-node, --caf-echo; see main.cpp), so no second
// binary is needed. They are stopped with SIGTERM (SIGKILL after 10 s) and
// reaped before the scenario returns, and they get SIGTERM if the bench dies.

#include "scenarios.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <time.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include "caf/all.hpp"
#include "caf/io/all.hpp"

#include "jobrt/job.hpp"
#include "jobrt/registry.hpp"
#include "jobrt/runtime.hpp"
#include "jobrt/worker.hpp"

#include "bench.hpp"
#include "child_process.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace bench {

// -- the checkpointing job of 1 ms steps --------------------------------------------------

namespace {

constexpr const char* ckpt_work_type = "bench.ckpt_work";

struct work_params {
  std::int64_t k = 1;     ///< steps
  std::int64_t us = 1000; ///< busy work per step, microseconds
};
BOOST_DESCRIBE_STRUCT(work_params, (), (k, us))

struct work_state {
  std::int64_t i = 0;
};
BOOST_DESCRIBE_STRUCT(work_state, (), (i))

/// CPU nanoseconds this thread has used.
std::int64_t thread_cpu_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

/// Keeps this thread busy until it has used `us` microseconds of CPU (the
/// step's "work"): CPU time, not wall time, so that a thread the kernel
/// preempts on a loaded machine still does the same work per step.
void busy_for(std::int64_t us) {
  if (us <= 0)
    return;
  auto until = thread_cpu_ns() + us * 1000;
  while (thread_cpu_ns() < until)
    noop_work();
}

/// k steps, each `us` microseconds of busy work and then a checkpoint.
struct ckpt_work_job : jobrt::job<work_params, work_state> {
  static constexpr const char* name = ckpt_work_type;
  static constexpr const char* description =
    "k steps of `us` microseconds of busy work, a checkpoint after each";
  void step(jobrt::context& ctx) override {
    busy_for(params().us);
    ++state().i;
    ctx.checkpoint();
    if (state().i >= params().k)
      ctx.complete();
  }
};
JOBRT_REGISTER_JOB(ckpt_work_job);

const std::string node_secret = "jobrt-bench-nodes";

// -- child processes ----------------------------------------------------------------------

/// User + system CPU seconds of this process so far.
double self_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

/// User + system CPU seconds of process `pid` so far (/proc/PID/stat, clock ticks).
double proc_cpu_s(pid_t pid) {
  auto text = read_all("/proc/" + std::to_string(pid) + "/stat");
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream in{text.substr(close + 2)};
  std::string field;
  double ticks = 0;
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  for (int f = 3; f <= 15 && in >> field; ++f)
    if (f == 14 || f == 15)
      ticks += std::strtod(field.c_str(), nullptr);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// In a hidden mode: blocks SIGTERM and SIGINT in this thread (and so in every
/// thread started after it), and asks for SIGTERM when the parent dies.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() == 1) // the parent went before the line above
    std::exit(0);
  return set;
}

std::size_t parse_arg(const char* text, const char* what) {
  char* end = nullptr;
  auto v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0')
    throw std::invalid_argument(std::string{what} + ": expected a number, got '" + text + "'");
  return static_cast<std::size_t>(v);
}

// -- the bare CAF remote request/reply baseline --------------------------------------------

/// The echo peer's actor: answers (uint64, string) with the same.
caf::behavior echo_fn() {
  return {[](std::uint64_t i, std::string& s) { return caf::make_message(i, std::move(s)); }};
}

struct driver_state {
  std::uint64_t n = 0, sent = 0, answered = 0;
  std::function<void()> issue;
  std::shared_ptr<std::promise<std::string>> done;
  static inline const char* name = "bench.caf_remote_driver";
};

/// Keeps `inflight` requests to `echo` in flight until `n` are answered; each
/// answer sends the next. Fulfils `done` with "" (or an error) at the end.
caf::behavior driver_fn(caf::stateful_actor<driver_state>* self, caf::actor echo, std::uint64_t n,
                        std::size_t inflight, std::shared_ptr<std::promise<std::string>> done) {
  auto& st = self->state;
  st.n = n;
  st.done = std::move(done);
  st.issue = [self, echo] {
    auto& st = self->state;
    if (st.sent >= st.n)
      return;
    ++st.sent;
    self->request(echo, caf::infinite, st.sent, std::string{"ping-ping"})
      .then(
        [self](std::uint64_t, const std::string&) {
          auto& st = self->state;
          if (++st.answered == st.n) {
            st.done->set_value({});
            self->quit();
            return;
          }
          st.issue();
        },
        [self](caf::error& err) {
          self->state.done->set_value("request failed: " + self->system().render(err));
          self->quit();
        });
  };
  for (std::size_t i = 0; i < inflight; ++i)
    st.issue();
  return {[](caf::unit_t) {}};
}

struct caf_result {
  double rate = 0;       ///< round trips/s
  double cpu_us = 0;     ///< this process's CPU per round trip
  double peer_cpu_us = 0; ///< the echo peer's CPU per round trip
};

/// Round trips/s of `n` requests, `inflight` in flight, from an actor of a fresh
/// actor system (with `threads` workers) to the echo peer at `port` (process `peer`).
caf_result caf_remote_round_trips(std::uint16_t port, pid_t peer, std::uint64_t n,
                                  std::size_t inflight, std::size_t threads) {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", threads);
  caf::actor_system sys{cfg};
  auto echo = sys.middleman().remote_actor("127.0.0.1", port);
  if (!echo)
    throw std::runtime_error("bare CAF baseline: remote_actor: " + sys.render(echo.error()));
  auto run = [&](std::uint64_t count) {
    auto done = std::make_shared<std::promise<std::string>>();
    auto f = done->get_future();
    caf_result r;
    auto cpu0 = self_cpu_s();
    auto peer0 = proc_cpu_s(peer);
    auto t0 = now_ns();
    sys.spawn(driver_fn, *echo, count, inflight, done);
    if (f.wait_for(120s) != std::future_status::ready)
      throw std::runtime_error("bare CAF baseline: no answer within 120 s");
    auto why = f.get();
    if (!why.empty())
      throw std::runtime_error("bare CAF baseline: " + why);
    auto secs = static_cast<double>(now_ns() - t0) / 1e9;
    r.rate = static_cast<double>(count) / secs;
    r.cpu_us = (self_cpu_s() - cpu0) * 1e6 / static_cast<double>(count);
    r.peer_cpu_us = (proc_cpu_s(peer) - peer0) * 1e6 / static_cast<double>(count);
    return r;
  };
  run(std::min<std::uint64_t>(n, 2000)); // warm-up: the connection and the peer's caches
  return run(n);
}

// -- a pure coordinator with worker processes ----------------------------------------------

struct node_run {
  double rate = 0;            ///< jobs/s (checkpoint runs: checkpoints/s), first submit to last completion
  double jobs_rate = 0;       ///< jobs/s
  double msgs_per_unit = 0;   ///< messages on the wire (in + out) per job (or per checkpoint)
  double msgs_in = 0, msgs_out = 0;
  double bytes_per_unit = 0;  ///< payload bytes (in + out) per job (or checkpoint)
  double bytes_in = 0, bytes_out = 0;
  double cpu_us = 0;          ///< coordinator (this process) CPU per job (or checkpoint)
  double worker_cpu_us = 0;   ///< the worker processes' CPU per job (or checkpoint)
};

/// A coordinator runtime (workers.run_locally = false) and `workers` child
/// processes of `slots` slots each, joined.
class coordinator {
public:
  coordinator(const config& c, const std::string& dir, store_mode mode, const std::string& policy,
              std::size_t workers, std::size_t slots) {
    jobrt::runtime_options o;
    set_store(o, mode, dir + "/store");
    o.max_running = workers * slots;
    o.worker_threads = c.threads;
    o.scheduler_policy = policy;
    o.workers.port = 0;
    o.workers.secret = node_secret;
    o.workers.run_locally = false;
    auto rt = jobrt::runtime::start(o);
    if (!rt)
      throw std::runtime_error("runtime::start (coordinator): " + rt.error().message);
    rt_ = std::move(*rt);
    auto port = rt_->workers_port();
    if (!port)
      throw std::runtime_error("the coordinator has no workers port");
    for (std::size_t i = 0; i < workers; ++i)
      children_.push_back(std::make_unique<child_process>(
        this_executable(),
        std::vector<std::string>{"--worker-node", std::to_string(*port), node_secret,
                                 std::to_string(slots)},
        dir, "worker" + std::to_string(i)));
    auto deadline = now_ns() + 30'000'000'000LL;
    while (stats_of(*rt_).nodes.size() < workers) {
      for (auto& ch : children_)
        ch->check_alive("a worker process");
      if (now_ns() > deadline)
        throw std::runtime_error("the worker processes did not join within 30 s");
      std::this_thread::sleep_for(5ms);
    }
  }
  ~coordinator() {
    // The workers first (their runs would go back to the queue), then the coordinator.
    for (auto& ch : children_)
      ch->stop();
    if (rt_)
      rt_->shutdown();
  }

  jobrt::runtime& rt() { return *rt_; }

  double workers_cpu_s() const {
    double s = 0;
    for (const auto& ch : children_)
      s += ch->pid() > 0 ? proc_cpu_s(ch->pid()) : 0.0;
    return s;
  }

  /// Submits `jobs` jobs of `type` (1000 per call) and waits for them all;
  /// `units` is what the per-unit figures divide by (jobs, or checkpoints).
  node_run drain(const char* type, const json::value& params, std::size_t jobs, double units) {
    auto before = stats_of(*rt_);
    auto target = before.completed + jobs;
    auto cpu0 = self_cpu_s();
    auto wcpu0 = workers_cpu_s();
    auto s = submit_bulk(*rt_, type, params, jobs, 1000);
    auto end = wait_for(*rt_, [target](const jobrt::runtime_stats& st) { return st.completed >= target; },
                        [target, &before](const jobrt::runtime_stats& st) {
                          return "completed " + std::to_string(st.completed - before.completed)
                                 + "/" + std::to_string(target - before.completed) + " on "
                                 + std::to_string(st.nodes.size()) + " node(s)";
                        });
    auto cpu1 = self_cpu_s();
    auto wcpu1 = workers_cpu_s();
    auto after = stats_of(*rt_);
    if (after.nodes.size() != children_.size())
      throw std::runtime_error("a worker node was lost during the run");
    const auto& a = after.node_counters;
    const auto& b = before.node_counters;
    node_run r;
    auto secs = static_cast<double>(end - s.t0) / 1e9;
    r.rate = units / secs;
    r.jobs_rate = static_cast<double>(jobs) / secs;
    r.msgs_in = static_cast<double>(a.messages_in - b.messages_in) / units;
    r.msgs_out = static_cast<double>(a.messages_out - b.messages_out) / units;
    r.msgs_per_unit = r.msgs_in + r.msgs_out;
    r.bytes_in = static_cast<double>(a.payload_bytes_in - b.payload_bytes_in) / units;
    r.bytes_out = static_cast<double>(a.payload_bytes_out - b.payload_bytes_out) / units;
    r.bytes_per_unit = r.bytes_in + r.bytes_out;
    r.cpu_us = (cpu1 - cpu0) * 1e6 / units;
    r.worker_cpu_us = (wcpu1 - wcpu0) * 1e6 / units;
    return r;
  }

private:
  std::unique_ptr<jobrt::runtime> rt_;
  std::vector<std::unique_ptr<child_process>> children_;
};

/// The medians of each field over `runs`.
node_run median_run(const std::vector<node_run>& runs) {
  auto med = [&](double node_run::*f) {
    std::vector<double> v;
    for (const auto& r : runs)
      v.push_back(r.*f);
    return median_of(v);
  };
  node_run m;
  for (auto f : {&node_run::rate, &node_run::jobs_rate, &node_run::msgs_per_unit,
                 &node_run::msgs_in, &node_run::msgs_out, &node_run::bytes_per_unit,
                 &node_run::bytes_in, &node_run::bytes_out, &node_run::cpu_us,
                 &node_run::worker_cpu_us})
    m.*f = med(f);
  return m;
}

/// A local run of `jobs` jobs on a fresh runtime (max_running `cap`), bulk
/// submitted: the same figures, with this process's CPU.
node_run local_drain(const config& c, const std::string& policy, store_mode mode, std::size_t cap,
                     const char* type, const json::value& params, std::size_t jobs, double units) {
  auto dir = scratch(c, "nodes-local");
  node_run r;
  {
    auto rt = start_rt(c, dir, mode, cap, policy);
    auto cpu0 = self_cpu_s();
    auto s = submit_bulk(*rt, type, params, jobs, 1000);
    auto end = wait_for(*rt, [jobs](const jobrt::runtime_stats& st) { return st.completed >= jobs; },
                        [jobs](const jobrt::runtime_stats& st) {
                          return "completed " + std::to_string(st.completed) + "/"
                                 + std::to_string(jobs);
                        });
    auto cpu1 = self_cpu_s();
    auto secs = static_cast<double>(end - s.t0) / 1e9;
    r.rate = units / secs;
    r.jobs_rate = static_cast<double>(jobs) / secs;
    r.cpu_us = (cpu1 - cpu0) * 1e6 / units;
    rt->shutdown();
  }
  fs::remove_all(dir);
  return r;
}

std::string per(double v, const char* what) {
  return fmt(v, v < 10 ? 2 : 1) + " " + what;
}

} // namespace

// -- hidden modes ---------------------------------------------------------------------------

int worker_node_main(int argc, char** argv) {
  // jobrt-bench --worker-node PORT SECRET SLOTS
  try {
    if (argc != 5)
      throw std::invalid_argument("usage: --worker-node PORT SECRET SLOTS");
    auto set = block_stop_signals();
    jobrt::worker_options o;
    o.coordinator_port = static_cast<std::uint16_t>(parse_arg(argv[2], "PORT"));
    o.secret = argv[3];
    o.slots = parse_arg(argv[4], "SLOTS");
    o.name = "bench-worker:" + std::to_string(::getpid());
    auto w = jobrt::worker::start(o);
    if (!w)
      throw std::runtime_error("worker::start: " + w.error().message);
    int sig = 0;
    sigwait(&set, &sig);
    (*w)->stop();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "jobrt-bench --worker-node: " << e.what() << "\n";
    return 2;
  }
}

int caf_echo_main(int argc, char** argv) {
  // jobrt-bench --caf-echo THREADS: publishes an echo actor on 127.0.0.1 (any
  // free port) and prints "port N".
  try {
    if (argc != 3)
      throw std::invalid_argument("usage: --caf-echo THREADS");
    auto set = block_stop_signals();
    caf::actor_system_config cfg;
    cfg.load<caf::io::middleman>();
    if (auto t = parse_arg(argv[2], "THREADS"); t > 0)
      cfg.set("scheduler.max-threads", t);
    caf::actor_system sys{cfg};
    auto echo = sys.spawn(echo_fn);
    auto port = sys.middleman().publish(echo, 0, "127.0.0.1");
    if (!port)
      throw std::runtime_error("publish: " + sys.render(port.error()));
    std::cout << "port " << *port << std::endl;
    int sig = 0;
    sigwait(&set, &sig);
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "jobrt-bench --caf-echo: " << e.what() << "\n";
    return 2;
  }
}

// -- 12. worker nodes -------------------------------------------------------------------------

void scenario_nodes(const config& c, const std::string& asked) {
  const std::string sc = "12 nodes";
  const auto policy = policy_for(c, asked, store_mode::memory);
  const auto n = c.n.value_or(c.sz.nodes_n);
  const std::size_t reps = c.smoke ? 1 : 3;
  const std::size_t inflight = 256;
  // The no-op runs through workers keep as many jobs in flight as the CAF
  // baseline keeps requests: 256 slots in all.
  // (64 slots in all gave about 0.7x the rate of 256 on the 2-core machine.)
  const std::size_t slots1 = inflight, slots2 = inflight / 2;
  const auto dir = scratch(c, "nodes");
  const auto nstr = std::to_string(n);

  // (c) The bare CAF peer runs for the whole scenario; its baseline is taken
  // before, between and after the runs through workers, and the median kept.
  progress.begin(sc + " bare CAF echo peer");
  child_process echo{this_executable(), {"--caf-echo", std::to_string(workers(c))}, dir,
                     "caf-echo"};
  std::uint16_t echo_port = 0;
  for (auto deadline = now_ns() + 20'000'000'000LL; echo_port == 0;) {
    auto text = echo.out();
    if (auto at = text.find("port "); at != std::string::npos && text.find('\n', at) != std::string::npos)
      echo_port = static_cast<std::uint16_t>(std::strtoul(text.c_str() + at + 5, nullptr, 10));
    if (echo_port != 0)
      break;
    echo.check_alive("the bare CAF echo peer");
    if (now_ns() > deadline)
      throw std::runtime_error("the bare CAF echo peer did not say its port within 20 s");
    std::this_thread::sleep_for(5ms);
  }
  std::vector<double> caf_rts, caf_cpu, caf_peer_cpu;
  auto caf_baseline = [&] {
    progress.begin(sc + " bare CAF remote request/reply, " + std::to_string(inflight)
                   + " in flight");
    auto r = caf_remote_round_trips(echo_port, echo.pid(), n, inflight, workers(c));
    caf_rts.push_back(r.rate);
    caf_cpu.push_back(r.cpu_us);
    caf_peer_cpu.push_back(r.peer_cpu_us);
  };

  // (a) The local drain, as scenario 1's bulk drain.
  std::vector<node_run> local;
  for (std::size_t r = 0; r < reps; ++r) {
    progress.begin(sc + " [" + policy + "] local no-op drain (" + std::to_string(r + 1) + "/"
                   + std::to_string(reps) + ")");
    local.push_back(local_drain(c, policy, store_mode::memory, c.cap, noop_type, empty_params(), n,
                                static_cast<double>(n)));
  }

  // (b) Through 1 and 2 worker processes.
  auto through = [&](std::size_t workers_n, std::size_t slots) {
    progress.begin(sc + " [" + policy + "] starting " + std::to_string(workers_n)
                   + " worker process(es)");
    std::vector<node_run> runs;
    coordinator co{c, dir + "/co" + std::to_string(workers_n), store_mode::memory, policy,
                   workers_n, slots};
    co.drain(noop_type, empty_params(), std::min<std::size_t>(n, 1000), 1.0); // warm-up
    for (std::size_t r = 0; r < reps; ++r) {
      progress.begin(sc + " [" + policy + "] no-op drain through " + std::to_string(workers_n)
                     + " worker process(es) (" + std::to_string(r + 1) + "/"
                     + std::to_string(reps) + ")");
      runs.push_back(co.drain(noop_type, empty_params(), n, static_cast<double>(n)));
    }
    return runs;
  };
  caf_baseline();
  auto one = through(1, slots1);
  caf_baseline();
  auto two = through(2, slots2);
  caf_baseline();
  echo.stop();

  // (d) The checkpointing job: local and through one worker, the same slots.
  const auto k = c.sz.nodes_ckpt_steps;
  const auto jobs = c.sz.nodes_ckpt_jobs;
  const std::size_t slots = c.cap;
  const json::value wp = json::object{{"k", static_cast<std::int64_t>(k)}, {"us", 1000}};
  const auto cps = static_cast<double>(jobs * k);
  // The same job without the busy work: checkpoints as fast as the two
  // processes can go, which is what the coordinator's CPU per checkpoint is
  // read from (when it idles between checkpoints, its CAF workers' polling
  // counts as well).
  const auto k0 = k * 10;
  const json::value wp0 = json::object{{"k", static_cast<std::int64_t>(k0)}, {"us", 0}};
  const auto cps0 = static_cast<double>(jobs * k0);
  std::vector<node_run> ck_local, ck_remote, ck0_local, ck0_remote;
  double idle_cores = 0;
  {
    progress.begin(sc + " [" + policy + "] starting 1 worker process for the checkpoint job");
    coordinator co{c, dir + "/ck", store_mode::memory, policy, 1, slots};
    // What the coordinator burns with nothing to do (its CAF workers poll).
    auto idle0 = self_cpu_s();
    auto idle_t0 = now_ns();
    std::this_thread::sleep_for(500ms);
    idle_cores = (self_cpu_s() - idle0) / (static_cast<double>(now_ns() - idle_t0) / 1e9);
    for (std::size_t r = 0; r < reps; ++r) {
      progress.begin(sc + " [" + policy + "] checkpoint job, local (" + std::to_string(r + 1) + "/"
                     + std::to_string(reps) + ")");
      ck_local.push_back(
        local_drain(c, policy, store_mode::memory, slots, ckpt_work_type, wp, jobs, cps));
      progress.begin(sc + " [" + policy + "] checkpoint job, through 1 worker ("
                     + std::to_string(r + 1) + "/" + std::to_string(reps) + ")");
      ck_remote.push_back(co.drain(ckpt_work_type, wp, jobs, cps));
      progress.begin(sc + " [" + policy + "] checkpoint job without work (" + std::to_string(r + 1)
                     + "/" + std::to_string(reps) + ")");
      ck0_local.push_back(
        local_drain(c, policy, store_mode::memory, slots, ckpt_work_type, wp0, jobs, cps0));
      ck0_remote.push_back(co.drain(ckpt_work_type, wp0, jobs, cps0));
    }
  }
  progress.finish();
  fs::remove_all(dir);

  const auto caf = median_of(caf_rts);
  const auto c0l = median_run(ck0_local);
  const auto c0r = median_run(ck0_remote);
  const auto loc = median_run(local);
  const auto r1 = median_run(one);
  const auto r2 = median_run(two);
  const auto cl = median_run(ck_local);
  const auto cr = median_run(ck_remote);
  const std::string caf_name = "bare CAF remote round trips, " + std::to_string(inflight) + " in flight";
  const auto medians = "median of " + std::to_string(reps) + " runs";
  const auto tag = " (N=" + nstr + ")";

  add({sc, policy, "local no-op drain, bulk submit" + tag + ", " + cap_s(c.cap), loc.rate,
       "jobs/s", {}, nan_v, {}, nan_v, {}, {},
       "storage_kind::memory, as scenario 1's bulk drain; " + medians + "; this process's CPU "
         + per(loc.cpu_us, "us/job")});
  add({sc, "-", "bare CAF remote request/reply", caf, "round trips/s", {}, nan_v, {}, nan_v, {}, {},
       "a child process publishes an echo actor on 127.0.0.1; an actor here keeps "
         + std::to_string(inflight) + " requests of (uint64, string) in flight; median of "
         + std::to_string(caf_rts.size()) + " runs of " + nstr
         + ", taken before, between and after the runs through workers; CPU per round trip: "
         + per(median_of(caf_cpu), "us") + " here, " + per(median_of(caf_peer_cpu), "us")
         + " in the peer"});
  auto remote_row = [&](const node_run& r, std::size_t w, std::size_t s) {
    const auto what = std::to_string(w) + " worker process" + (w > 1 ? "es" : "") + " x "
                      + std::to_string(s) + " slots";
    add({sc, policy, "remote no-op drain, " + what, r.rate, "jobs/s", {}, caf, caf_name, nan_v,
         ">= 0.5x bare CAF round trips", pass(r.rate >= 0.5 * caf),
         "pure coordinator (workers.run_locally=false, max_running="
           + std::to_string(w * s) + "), memory store; " + medians + "; "
           + fmt(r.rate / loc.rate, 2) + "x the local drain"});
    add({sc, policy, "  messages per job on the wire, " + what, r.msgs_per_unit, "msgs/job", {},
         nan_v, {}, nan_v, {}, {},
         "runtime_stats::node_counters deltas: " + fmt(r.msgs_out, 2) + " out, " + fmt(r.msgs_in, 2)
           + " in (heartbeats included)"});
    add({sc, policy, "  payload bytes per job on the wire, " + what, r.bytes_per_unit, "B/job", {},
         nan_v, {}, nan_v, {}, {},
         "JSON payloads only (not CAF's framing): " + fmt(r.bytes_out, 1) + " out, "
           + fmt(r.bytes_in, 1) + " in"});
    add({sc, policy, "  coordinator CPU per remote job, " + what, r.cpu_us, "us/job", {},
         loc.cpu_us, "local drain, CPU per job", nan_v, {}, {},
         "getrusage(RUSAGE_SELF) user+sys delta / jobs (the bench's stats() polling included); "
         "the worker processes used " + per(r.worker_cpu_us, "us/job") + " (/proc/PID/stat)"});
  };
  remote_row(r1, 1, slots1);
  remote_row(r2, 2, slots2);
  // The same comparison in CPU time, which a loaded machine moves much less than rates.
  const auto caf_cpu_all = median_of(caf_cpu) + median_of(caf_peer_cpu);
  add({sc, policy, "  CPU of a bare CAF round trip / CPU of a remote no-op job, 1 worker",
       caf_cpu_all / (r1.cpu_us + r1.worker_cpu_us), "x", {}, nan_v, {}, nan_v, {}, {},
       "both processes: bare CAF " + per(caf_cpu_all, "us") + " per round trip; the remote job "
         + per(r1.cpu_us, "us") + " on the coordinator + " + per(r1.worker_cpu_us, "us")
         + " on the worker (/proc ticks are 10 ms: small runs read coarse)"});

  const auto ctag = " (" + std::to_string(jobs) + " jobs x " + std::to_string(k)
                    + " steps of 1 ms busy work, " + std::to_string(slots) + " slots)";
  add({sc, policy, "checkpoint job, local" + ctag, cl.rate, "cp/s", {}, nan_v, {}, nan_v, {}, {},
       "bench.ckpt_work: each step spins until its thread has used 1 ms of CPU, then checkpoints; "
       "max_running=" + std::to_string(slots) + ", memory store; " + medians
         + "; this process's CPU " + per(cl.cpu_us, "us/cp")});
  add({sc, policy, "checkpoint job, through 1 worker" + ctag, cr.rate, "cp/s", {}, cl.rate,
       "local", nan_v, ">= 0.8x local", pass(cr.rate >= 0.8 * cl.rate),
       "1 worker process of " + std::to_string(slots) + " slots, pure coordinator of max_running="
         + std::to_string(slots) + "; runs alternate with the local ones; " + medians});
  add({sc, policy, "  coordinator CPU per checkpoint, through 1 worker", cr.cpu_us, "us/cp", {},
       nan_v, {}, nan_v, {}, {},
       "getrusage(RUSAGE_SELF) delta / checkpoints (each job's start and end included); mostly "
       "its CAF workers polling between checkpoints, as the work-stealing scheduler spins a while "
       "before it sleeps (wholly idle, with the worker joined, it used "
         + fmt(idle_cores * 100, 1) + "% of a core); the saturated figure below is the cost; the "
       "worker used " + per(cr.worker_cpu_us, "us/cp") + ", 1000 of them the busy work"});
  add({sc, policy, "  messages per checkpoint on the wire", cr.msgs_per_unit, "msgs/cp", {}, nan_v,
       {}, nan_v, {}, {},
       fmt(cr.msgs_out, 2) + " out, " + fmt(cr.msgs_in, 2) + " in (the answer to each checkpoint "
       "write is not counted by node_counters: one more out); payload " + fmt(cr.bytes_per_unit, 1)
         + " B per checkpoint (" + fmt(cr.bytes_out, 1) + " out, " + fmt(cr.bytes_in, 1) + " in)"});
  const auto c0tag = " (" + std::to_string(jobs) + " jobs x " + std::to_string(k0)
                     + " steps, no work, " + std::to_string(slots) + " slots)";
  add({sc, policy, "checkpoints without work, through 1 worker" + c0tag, c0r.rate, "cp/s", {},
       c0l.rate, "local", nan_v, {}, {},
       "bench.ckpt_work with us=0: both processes busy; " + medians + "; local CPU "
         + per(c0l.cpu_us, "us/cp")});
  add({sc, policy, "  coordinator CPU per checkpoint, saturated", c0r.cpu_us, "us/cp", {},
       c0l.cpu_us, "local, CPU per checkpoint", nan_v, {}, {},
       "getrusage(RUSAGE_SELF) delta / checkpoints; the worker used " + per(c0r.worker_cpu_us, "us/cp")
         + "; " + fmt(c0r.msgs_per_unit, 2) + " msgs/cp counted, " + fmt(c0r.bytes_per_unit, 1)
         + " B/cp"});
}

} // namespace bench
