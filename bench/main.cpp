// jobrt-bench: throughput, control latency, recovery, memory, scaling and signals of the
// jobrt runtime, each next to a baseline measured in the same run (a plain thread
// pool, a bare CAF 0.17.6 program, raw LMDB). See bench/README.md.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/utsname.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "caf/all.hpp"

#include "jobrt/runtime.hpp"

#include "bench.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace bench {
namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

// -- configuration ----------------------------------------------------------------------

struct sizes {
  std::size_t noop_n;          // scenarios 1 and 2
  std::size_t ckpt_jobs;       // scenario 3
  std::size_t ckpt_steps;      // scenario 3
  std::size_t control_queued;  // scenario 4
  std::size_t control_samples; // scenario 4
  std::size_t recovery_n;      // scenario 5
  std::size_t memory_n;        // scenario 6
  std::vector<std::size_t> scale_n;   // scenario 7
  std::vector<std::size_t> scale_cap; // scenario 7
  /// Scenario 7: a point of fewer jobs than this is run again (up to 9 times)
  /// and its median kept, so that a short point is not one pause of the machine.
  std::size_t scale_min_jobs;
  std::size_t signal_n;     // scenario 8: signals to a running job
  std::size_t signal_wakes; // scenario 8: wakes of a waiting job (and the burst)
};

sizes default_sizes() {
  // Fits in about a minute on a 2-core machine; --full has the sizes of the targets.
  return {5'000, 100, 20, 10'000, 300, 20'000, 5'000, {1'000, 5'000}, {1, 8, 64, 512}, 5'000,
          1'000, 200};
}
sizes full_sizes() {
  return {100'000, 1'000, 50, 10'000, 2'000, 1'000'000, 100'000,
          {10'000, 100'000, 1'000'000}, {1, 8, 64, 512}, 100'000, 10'000, 1'000};
}
sizes smoke_sizes() {
  return {300, 10, 5, 200, 20, 300, 200, {200, 400}, {1, 8}, 0, 20, 10};
}

struct config {
  bool full = false;
  bool smoke = false;
  bool json_out = false;
  bool quiet = false;
  std::string plot;
  std::string scenario; // empty: all
  std::vector<std::string> policies; ///< empty: the runtime's choice for 1-6, both for scaling
  std::optional<std::size_t> n;
  std::size_t threads = 0;
  std::size_t lmdb_batch = 1000;
  std::size_t cap = 8;
  std::string dir;
  sizes sz = default_sizes();
};

const char* const scenario_names[] = {"noop-mem", "noop-durable", "checkpoint", "control",
                                      "recovery", "memory",       "scaling",    "signal",
                                      "soak"};

void print_help() {
  std::cout <<
    R"(jobrt-bench: benchmarks of the jobrt runtime, each with a baseline measured in the same run.

usage: jobrt-bench [options]

  --scenario NAME   run one scenario (default: all):
                      noop-mem      1. no-op jobs, in memory (storage_kind::memory): submit and
                                       drain rate, vs a 2-thread pool and a bare CAF
                                       spawn-per-job program; and on LMDB without fsync
                      noop-durable  2. no-op jobs, durable: 1 and 16 submitter threads, vs raw LMDB
                      checkpoint    3. jobs of K steps with a checkpoint after each
                      control       4. pause/resume/cancel round trips with 10k jobs queued
                      recovery      5. restart with N unfinished jobs: time until queued, first run
                      memory        6. RSS per queued, running and paused job
                      scaling       7. rates of 1 and 2 by N and by max_running, both policies
                      signal        8. runtime::signal to a running job and to one that waits
                                       for a signal, in memory and durable, vs a bare CAF
                                       round trip and a raw LMDB fsynced commit
                      soak          1M no-op jobs submitted and completed while 100k paused
                                    jobs are held: memory and rate (only when named; --n
                                    sets the job count, a tenth of it is paused)
  --n N             job count of the chosen scenario(s) (scaling: the single N to run)
  --full            big sizes (N up to 1M; several minutes and a few GiB of RAM)
  --smoke           tiny sizes, to check that every scenario works (used by CTest)
  --policy P        CAF scheduler policy: stealing | sharing | both (default: the
                    runtime's own choice for each run of scenarios 1-6, that is sharing
                    with one worker thread or an LMDB store, stealing in memory; both
                    for scaling)
  --threads T       CAF worker threads of the runtimes and the CAF baselines (default 0 =
                    the runtime's default: one fewer than the cores, at least two)
  --cap C           max_running for scenarios 1-4 (default 8)
  --lmdb-batch B    records per transaction of the raw LMDB baseline (default 1000)
  --dir DIR         scratch directory (default: $TMPDIR or /tmp, jobrt-bench-<pid>)
  --json            print the results as JSON on stdout instead of the table
  --plot FILE.png   draw the scaling curves with gnuplot
  --quiet           no progress line on stderr
  --help            this text

Rates are jobs (or checkpoints) per second; "drain" is from the first submit to the
last completion. Each row shows the absolute figure, its baseline, the ratio, and the
target it is held to (pass/miss). Timings on a shared machine are noisy: trust ratios.
)";
}

// -- progress line on stderr ----------------------------------------------------------

class progress_line {
public:
  void set_quiet(bool q) { quiet_ = q; }
  void begin(const std::string& label) {
    std::lock_guard g{mtx_};
    label_ = label;
    last_ = 0;
    if (quiet_)
      return;
    if (tty_)
      std::fprintf(stderr, "\r\033[K[jobrt-bench] %s", label_.c_str());
    else
      std::fprintf(stderr, "[jobrt-bench] %s\n", label_.c_str());
    std::fflush(stderr);
  }
  void update(const std::string& text) {
    if (quiet_ || !tty_)
      return;
    auto t = now_ns();
    std::lock_guard g{mtx_};
    if (t - last_ < 100'000'000)
      return;
    last_ = t;
    std::fprintf(stderr, "\r\033[K[jobrt-bench] %s: %s", label_.c_str(), text.c_str());
    std::fflush(stderr);
  }
  void finish() {
    if (quiet_ || !tty_)
      return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }

private:
  std::mutex mtx_;
  bool quiet_ = false;
  bool tty_ = isatty(2) != 0;
  std::string label_;
  std::int64_t last_ = 0;
};

progress_line progress;

// -- results --------------------------------------------------------------------------

struct row {
  std::string scenario;
  std::string policy;
  std::string metric;
  double value = nan_v;
  std::string unit;
  std::string text; ///< replaces the value when set (e.g. "n/a (no bulk API)")
  double baseline = nan_v;
  std::string baseline_name;
  double ratio = nan_v; ///< value / baseline (latency rows: p99 / baseline p99)
  std::string target;
  std::string status; ///< pass, miss, or empty (information only)
  std::string note;
};

struct scale_point {
  std::string policy;
  std::string mode; ///< "memory" or "durable"
  std::size_t n = 0;
  std::size_t cap = 0;
  double rate = 0;
  double baseline = 0; ///< bare CAF (memory) or raw LMDB batched (durable)
  std::size_t runs = 1; ///< rate and baseline are the medians of this many runs
};

std::vector<row> rows;
std::vector<scale_point> scale_points;

row& add(row r) {
  if (std::isnan(r.ratio) && !std::isnan(r.value) && !std::isnan(r.baseline) && r.baseline > 0)
    r.ratio = r.value / r.baseline;
  rows.push_back(std::move(r));
  return rows.back();
}

std::string pass(bool ok) {
  return ok ? "pass" : "miss";
}

std::string fmt(double v, int prec = 0) {
  if (std::isnan(v))
    return "-";
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(prec);
  if (prec == 0 && std::fabs(v) >= 10000) {
    // thousands separators for big rates
    auto s = std::to_string(static_cast<long long>(std::llround(v)));
    std::string out;
    int c = 0;
    for (auto i = s.rbegin(); i != s.rend(); ++i) {
      if (c != 0 && c % 3 == 0 && *i != '-')
        out.push_back(',');
      out.push_back(*i);
      ++c;
    }
    return {out.rbegin(), out.rend()};
  }
  os << v;
  return os.str();
}

std::string fmt_value(double v, const std::string& unit) {
  if (std::isnan(v))
    return "-";
  if (unit == "us" || unit == "B/job" || unit == "us/job")
    return fmt(v, v < 10 ? 2 : (v < 100 ? 1 : 0)) + " " + unit;
  if (unit == "s")
    return fmt(v, 3) + " s";
  return fmt(v) + " " + unit;
}

// -- machine ----------------------------------------------------------------------------

struct machine_info {
  std::string cpu, kernel, date, host;
  unsigned cores = 0;
  std::size_t workers = 0; ///< CAF worker threads of the runtimes (and baselines) of this run
};

machine_info machine() {
  machine_info m;
  m.cores = std::thread::hardware_concurrency();
  std::ifstream f{"/proc/cpuinfo"};
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto c = line.find(':');
      m.cpu = c == std::string::npos ? line : line.substr(c + 2);
      break;
    }
  }
  utsname u{};
  if (uname(&u) == 0) {
    m.kernel = std::string{u.sysname} + " " + u.release + " " + u.machine;
    m.host = u.nodename;
  }
  auto t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", std::localtime(&t));
  m.date = buf;
  return m;
}

// -- runtime helpers ------------------------------------------------------------------

std::string scratch(const config& c, const std::string& name) {
  auto p = c.dir + "/" + name;
  fs::remove_all(p);
  return p;
}

/// Where a benchmark's runtime keeps its jobs.
enum class store_mode {
  memory, ///< storage_kind::memory
  lmdb,   ///< LMDB without fsync (durable = false)
  durable ///< LMDB, every commit fsynced (the default)
};

std::string name_of(store_mode m) {
  switch (m) {
    case store_mode::memory:
      return "memory";
    case store_mode::lmdb:
      return "LMDB, no fsync";
    case store_mode::durable:
      return "durable";
  }
  return "?";
}

void set_store(jobrt::runtime_options& o, store_mode m, const std::string& dir) {
  o.storage = m == store_mode::memory ? jobrt::storage_kind::memory : jobrt::storage_kind::lmdb;
  o.data_dir = dir;
  o.durable = m == store_mode::durable;
}

/// The worker threads the runtimes of this run get; baselines get as many.
std::size_t workers(const config& c) {
  return c.threads > 0 ? c.threads : jobrt::runtime::default_worker_threads();
}

/// The middle value of an odd number of rates.
double median_of(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

/// The scheduler policy of a run on store `m`: `asked` (--policy), or if that is
/// empty the runtime's own choice for such a runtime.
std::string policy_for(const config& c, const std::string& asked, store_mode m) {
  if (!asked.empty())
    return asked;
  jobrt::runtime_options o;
  set_store(o, m, "unused");
  o.worker_threads = c.threads;
  return jobrt::runtime::default_scheduler_policy(o);
}

std::unique_ptr<jobrt::runtime> start_rt(const config& c, const std::string& dir, store_mode m,
                                         std::size_t max_running, const std::string& policy) {
  jobrt::runtime_options o;
  set_store(o, m, dir);
  o.max_running = max_running;
  o.worker_threads = c.threads;
  o.scheduler_policy = policy;
  auto rt = jobrt::runtime::start(o);
  if (!rt)
    throw std::runtime_error("runtime::start: " + rt.error().message);
  return std::move(*rt);
}

jobrt::runtime_stats stats_of(jobrt::runtime& rt) {
  auto s = rt.stats();
  if (!s)
    throw std::runtime_error("stats: " + s.error().message);
  return *s;
}

/// Polls stats() every `interval` until `done` holds; returns the steady-clock ns
/// at which it was observed. Throws after `timeout`.
std::int64_t wait_for(jobrt::runtime& rt, const std::function<bool(const jobrt::runtime_stats&)>& done,
                      const std::function<std::string(const jobrt::runtime_stats&)>& show,
                      std::chrono::seconds timeout = 600s,
                      std::chrono::microseconds interval = 2000us) {
  auto deadline = now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  for (;;) {
    auto s = stats_of(rt);
    auto t = now_ns();
    if (done(s))
      return t;
    progress.update(show(s));
    if (t > deadline)
      throw std::runtime_error("timed out waiting for the runtime (" + show(s) + ")");
    std::this_thread::sleep_for(interval);
  }
}

struct submitted {
  std::vector<jobrt::job_id> ids;
  std::int64_t t0 = 0, t1 = 0;
  double rate() const {
    return static_cast<double>(ids.size()) / (static_cast<double>(t1 - t0) / 1e9);
  }
};

/// Submits `n` jobs from `threads` threads (each submit returns once durable).
submitted submit_many(jobrt::runtime& rt, const char* type, const json::value& params,
                      std::size_t n, std::size_t threads) {
  threads = std::max<std::size_t>(1, std::min(threads, n));
  std::vector<std::vector<jobrt::job_id>> per(threads);
  std::atomic<std::size_t> count{0};
  std::mutex err_mtx;
  std::string err;
  auto work = [&](std::size_t t) {
    auto mine = n / threads + (t < n % threads ? 1 : 0);
    per[t].reserve(mine);
    for (std::size_t i = 0; i < mine; ++i) {
      auto id = rt.submit(type, params);
      if (!id) {
        std::lock_guard g{err_mtx};
        err = id.error().message;
        return;
      }
      per[t].push_back(*id);
      auto c = ++count;
      if (t == 0 && (c & 1023) == 0)
        progress.update("submitted " + std::to_string(c) + "/" + std::to_string(n));
    }
  };
  submitted out;
  out.t0 = now_ns();
  if (threads == 1) {
    work(0);
  } else {
    std::vector<std::thread> ts;
    for (std::size_t t = 0; t < threads; ++t)
      ts.emplace_back(work, t);
    for (auto& th : ts)
      th.join();
  }
  out.t1 = now_ns();
  if (!err.empty())
    throw std::runtime_error(std::string{"submit: "} + err);
  for (auto& v : per)
    out.ids.insert(out.ids.end(), v.begin(), v.end());
  std::sort(out.ids.begin(), out.ids.end());
  return out;
}

/// Submits `n` jobs with `runtime::submit_many`, `chunk` per call (one commit each).
submitted submit_bulk(jobrt::runtime& rt, const char* type, const json::value& params,
                      std::size_t n, std::size_t chunk) {
  submitted out;
  out.t0 = now_ns();
  for (std::size_t done = 0; done < n;) {
    auto k = std::min(chunk, n - done);
    auto ids = rt.submit_many(type, std::vector<json::value>(k, params));
    if (!ids)
      throw std::runtime_error("submit_many: " + ids.error().message);
    out.ids.insert(out.ids.end(), ids->begin(), ids->end());
    done += k;
    progress.update("submitted " + std::to_string(done) + "/" + std::to_string(n));
  }
  out.t1 = now_ns();
  return out;
}

/// Runs `f(id)` for every id from `threads` threads; throws on the first error.
void for_all(const std::vector<jobrt::job_id>& ids, std::size_t threads,
             const std::function<jobrt::result<void>(jobrt::job_id)>& f, const char* what) {
  threads = std::max<std::size_t>(1, std::min(threads, ids.size()));
  std::atomic<std::size_t> next{0};
  std::mutex err_mtx;
  std::string err;
  std::vector<std::thread> ts;
  for (std::size_t t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (auto i = next++; i < ids.size(); i = next++) {
        auto r = f(ids[i]);
        if (!r) {
          std::lock_guard g{err_mtx};
          err = r.error().message;
          return;
        }
      }
    });
  for (auto& th : ts)
    th.join();
  if (!err.empty())
    throw std::runtime_error(std::string{what} + ": " + err);
}

json::value empty_params() {
  return json::object{};
}

// -- the no-op drain run, shared by scenarios 1, 2 and 7 ----------------------------------

struct drain_result {
  double submit_rate = 0;
  double drain_rate = 0;
  std::size_t events = 0; ///< completion events a subscriber saw
  double record_bytes = 0; ///< average stored record size (after the run)
};

drain_result run_noop(const config& c, const std::string& policy, store_mode mode, std::size_t n,
                      std::size_t cap, std::size_t submitters, bool subscribe,
                      bool measure_record = false, std::size_t bulk_chunk = 0) {
  auto dir = scratch(c, "noop");
  drain_result out;
  {
    auto rt = start_rt(c, dir, mode, cap, policy);
    std::atomic<std::size_t> seen{0};
    std::atomic<std::int64_t> last_event_ns{0};
    jobrt::subscription sub;
    if (subscribe) {
      jobrt::event_filter f;
      f.progress = false;
      sub = rt->subscribe(
        [&](const jobrt::job_event& e) {
          if (e.what == jobrt::job_event::kind::status && e.status == jobrt::job_status::completed) {
            last_event_ns = now_ns();
            ++seen;
          }
        },
        f);
    }
    auto s = bulk_chunk > 0 ? submit_bulk(*rt, noop_type, empty_params(), n, bulk_chunk)
                            : submit_many(*rt, noop_type, empty_params(), n, submitters);
    auto show = [n](const jobrt::runtime_stats& st) {
      return "completed " + std::to_string(st.completed) + "/" + std::to_string(n);
    };
    std::int64_t end = 0;
    if (subscribe) {
      // Completion as the subscriber sees it; stats() only as a guard against lost events.
      auto done_at = wait_for(*rt, [n, &seen](const jobrt::runtime_stats& st) {
        return seen.load() >= n || st.completed >= n;
      }, show);
      auto grace = now_ns() + 3'000'000'000LL;
      while (seen.load() < n && now_ns() < grace)
        std::this_thread::sleep_for(1ms);
      end = seen.load() >= n ? last_event_ns.load() : done_at;
      out.events = seen.load();
    } else {
      end = wait_for(*rt, [n](const jobrt::runtime_stats& st) { return st.completed >= n; }, show);
    }
    out.submit_rate = s.rate();
    out.drain_rate = static_cast<double>(n) / (static_cast<double>(end - s.t0) / 1e9);
    sub.cancel();
    rt->shutdown();
  }
  if (measure_record && mode != store_mode::memory)
    out.record_bytes = lmdb_avg_value_bytes(dir, "jobs");
  fs::remove_all(dir);
  return out;
}

std::string cap_s(std::size_t cap) {
  return "max_running=" + std::to_string(cap);
}

// -- 1. no-op throughput, in memory -------------------------------------------------------

void scenario_noop_mem(const config& c, const std::string& asked) {
  const std::string sc = "1 noop-mem";
  const auto policy = policy_for(c, asked, store_mode::memory);
  const auto lmdb_policy = policy_for(c, asked, store_mode::lmdb);
  auto n = c.n.value_or(c.sz.noop_n);
  auto tag = " (N=" + std::to_string(n) + ", " + cap_s(c.cap) + ")";
  progress.begin(sc + " [" + policy + "] baselines");
  auto caf = baseline_caf(n, c.cap, policy, workers(c));
  // Also at CAF's own default (one thread per core), what a plain CAF program gets.
  auto caf_default = baseline_caf(n, c.cap, policy, 0);
  auto pool = baseline_thread_pool(n, 2);
  progress.begin(sc + " [" + policy + "] 1 submitter");
  auto r1 = run_noop(c, policy, store_mode::memory, n, c.cap, 1, false);
  progress.begin(sc + " [" + policy + "] 1 submitter + subscriber");
  auto rs = run_noop(c, policy, store_mode::memory, n, c.cap, 1, true);
  progress.begin(sc + " [" + policy + "] 16 submitters");
  auto r16 = run_noop(c, policy, store_mode::memory, n, c.cap, 16, false);
  progress.begin(sc + " [" + policy + "] bulk submit");
  auto rb = run_noop(c, policy, store_mode::memory, n, c.cap, 1, false, false, 1000);
  progress.begin(sc + " [" + lmdb_policy + "] bulk submit, LMDB without fsync");
  auto rl = run_noop(c, lmdb_policy, store_mode::lmdb, n, c.cap, 1, false, false, 1000);
  progress.finish();

  add({sc, policy, "submit rate, 1 submitter" + tag, r1.submit_rate, "jobs/s", {}, caf,
       "bare CAF", nan_v, {}, {},
       "storage_kind::memory; each submit is a synchronous facade call (a round trip to the "
       "scheduler), so one submitter also bounds the drain"});
  add({sc, policy, "drain, 1 submitter", r1.drain_rate, "jobs/s", {}, caf, "bare CAF", nan_v, {},
       {}, "completion seen by stats() polling every 2 ms"});
  add({sc, policy, "drain, 1 submitter, vs thread pool", r1.drain_rate, "jobs/s", {}, pool,
       "2-thread pool", nan_v, {}, {}, {}});
  auto& rsub = add({sc, policy, "drain, 1 submitter, with subscriber", rs.drain_rate, "jobs/s", {},
                    r1.drain_rate, "same, no subscriber", nan_v, {}, {}, {}});
  rsub.note = "completion seen by a subscribe() callback; it saw " + std::to_string(rs.events) + "/"
              + std::to_string(n) + " completed events";
  add({sc, policy, "drain, 16 submitters", r16.drain_rate, "jobs/s", {}, caf, "bare CAF", nan_v,
       ">= 0.8x bare CAF", pass(r16.drain_rate >= 0.8 * caf), {}});
  add({sc, policy, "drain, bulk submit (1000/call)", rb.drain_rate, "jobs/s", {}, caf, "bare CAF",
       nan_v, ">= 0.8x bare CAF", pass(rb.drain_rate >= 0.8 * caf), {}});
  add({sc, policy, "drain, bulk submit, vs CAF's default threads", rb.drain_rate, "jobs/s", {},
       caf_default, "bare CAF, " + std::to_string(std::thread::hardware_concurrency()) + " threads",
       nan_v, {}, {},
       "the runtime at its default (" + std::to_string(workers(c))
         + " workers) against a bare CAF program at CAF's default thread count"});
  add({sc, lmdb_policy, "drain, bulk submit, LMDB without fsync", rl.drain_rate, "jobs/s", {}, caf,
       "bare CAF", nan_v, {}, {},
       "durable=false: every job still written to LMDB (submit and final record), not fsynced"});
  add({sc, policy, "bare CAF baseline itself", caf, "jobs/s", {}, pool, "2-thread pool", nan_v, {},
       {}, "one short-lived actor per job, at most max_running alive"});
}

// -- 2. no-op throughput, durable -------------------------------------------------------

void scenario_noop_durable(const config& c, const std::string& asked) {
  const std::string sc = "2 noop-durable";
  const auto policy = policy_for(c, asked, store_mode::durable);
  auto n = c.n.value_or(c.sz.noop_n);
  auto tag = " (N=" + std::to_string(n) + ", " + cap_s(c.cap) + ")";
  // One submitter waits for one fsync per job: fewer jobs are enough for a rate.
  auto n1 = std::max<std::size_t>(std::min<std::size_t>(n, c.smoke ? n : (c.full ? 2'000 : 300)), 1);
  progress.begin(sc + " [" + policy + "] 1 submitter");
  auto r1 = run_noop(c, policy, store_mode::durable, n1, c.cap, 1, false);
  progress.begin(sc + " [" + policy + "] 16 submitters");
  auto r16 = run_noop(c, policy, store_mode::durable, n, c.cap, 16, false, true);
  progress.begin(sc + " [" + policy + "] bulk submit");
  auto rb = run_noop(c, policy, store_mode::durable, n, c.cap, 1, false, false, 1000);
  auto rec = r16.record_bytes > 0 ? r16.record_bytes : 200.0;
  progress.begin(sc + " [" + policy + "] raw LMDB baseline");
  auto lmdb = baseline_lmdb_write(scratch(c, "raw"), n, static_cast<std::size_t>(rec),
                                  c.lmdb_batch, true);
  auto lmdb1 = baseline_lmdb_write(scratch(c, "raw"), n1, static_cast<std::size_t>(rec), 1, true);
  progress.finish();
  auto base = "raw LMDB, " + std::to_string(c.lmdb_batch) + "/txn, fsync";
  add({sc, policy, "submit rate, 1 submitter (N=" + std::to_string(n1) + ")", r1.submit_rate,
       "jobs/s", {}, lmdb1, "raw LMDB, 1/txn, fsync", nan_v, {}, {}, {}});
  add({sc, policy, "drain, 1 submitter", r1.drain_rate, "jobs/s", {}, lmdb1,
       "raw LMDB, 1/txn, fsync", nan_v, {}, {}, {}});
  add({sc, policy, "submit rate, 16 submitters" + tag, r16.submit_rate, "jobs/s", {}, lmdb, base,
       nan_v, {}, {}, {}});
  add({sc, policy, "drain, 16 submitters", r16.drain_rate, "jobs/s", {}, lmdb, base, nan_v,
       ">= 50k/s and >= 0.3x raw LMDB",
       pass(r16.drain_rate >= 50'000 && r16.drain_rate >= 0.3 * lmdb),
       "raw LMDB writes one " + fmt(rec) + "-byte record per job (measured average of ours)"});
  add({sc, policy, "submit rate, bulk submit (1000/call)", rb.submit_rate, "jobs/s", {}, lmdb,
       base, nan_v, {}, {}, "runtime::submit_many: one transaction per call"});
  add({sc, policy, "drain, bulk submit (1000/call)", rb.drain_rate, "jobs/s", {}, lmdb, base,
       nan_v, ">= 50k/s and >= 0.3x raw LMDB",
       pass(rb.drain_rate >= 50'000 && rb.drain_rate >= 0.3 * lmdb), {}});
}

// -- 3. checkpoint-heavy --------------------------------------------------------------

void scenario_checkpoint(const config& c, const std::string& asked) {
  const std::string sc = "3 checkpoint";
  auto m = c.n.value_or(c.sz.ckpt_jobs);
  auto k = c.sz.ckpt_steps;
  for (auto sm : {store_mode::memory, store_mode::lmdb, store_mode::durable}) {
    const auto policy = policy_for(c, asked, sm);
    auto mode = name_of(sm);
    bool durable = sm == store_mode::durable;
    progress.begin(sc + " [" + policy + ", " + mode + "]");
    auto dir = scratch(c, "ckpt");
    double cps = 0, jps = 0, cp_bytes = 0;
    {
      auto rt = start_rt(c, dir, sm, c.cap, policy);
      auto s = submit_many(*rt, ckpt_type, json::object{{"k", static_cast<std::int64_t>(k)}}, m,
                           16);
      auto end = wait_for(*rt, [m](const jobrt::runtime_stats& st) { return st.completed >= m; },
                          [m](const jobrt::runtime_stats& st) {
                            return "completed " + std::to_string(st.completed) + "/"
                                   + std::to_string(m) + " jobs";
                          });
      auto secs = static_cast<double>(end - s.t0) / 1e9;
      cps = static_cast<double>(m * k) / secs;
      jps = static_cast<double>(m) / secs;
      rt->shutdown();
    }
    cp_bytes = sm == store_mode::memory ? 0 : lmdb_avg_value_bytes(dir, "checkpoints");
    fs::remove_all(dir);
    // Baseline: the same number of checkpoint-sized writes, max_running per txn
    // (the most a group commit can gather when each job waits for its checkpoint).
    auto lmdb = baseline_lmdb_write(scratch(c, "raw"), m * k,
                                    static_cast<std::size_t>(cp_bytes > 0 ? cp_bytes : 100),
                                    c.cap, durable);
    progress.finish();
    auto tag = " (" + mode + ", " + std::to_string(m) + " jobs x " + std::to_string(k) + " steps)";
    add({sc, policy, "checkpoints/s" + tag, cps, "cp/s", {}, lmdb,
         "raw LMDB, " + std::to_string(c.cap) + "/txn" + (durable ? ", fsync" : ""), nan_v, {}, {},
         sm == store_mode::memory ? std::string{"in memory: the raw LMDB figure is for orientation"}
                                  : "checkpoint value " + fmt(cp_bytes) + " B"});
    add({sc, policy, "jobs/s" + tag, jps, "jobs/s", {}, nan_v, {}, nan_v, {}, {}, {}});
  }
}

// -- 4. control latency under load --------------------------------------------------

/// An actor system the bench owns, for `runtime::start(sys, opts)`.
struct host_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  host_system(const std::string& policy, std::size_t threads, std::size_t max_throughput) {
    if (threads > 0)
      cfg.set("scheduler.max-threads", threads);
    cfg.set("scheduler.policy", caf::atom_from_string(policy));
    cfg.set("scheduler.max-throughput", max_throughput);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

constexpr std::size_t fixed_max_throughput = 64;

void scenario_control(const config& c, const std::string& asked) {
  const std::string sc = "4 control";
  auto q = c.n.value_or(c.sz.control_queued);
  auto samples = std::max<std::size_t>(1, std::min(c.sz.control_samples, q / 4));
  auto running_samples = std::min<std::size_t>(samples, 100);
  auto budget_ns = static_cast<std::int64_t>(c.smoke ? 1e9 : (c.full ? 6e9 : 1.5e9));
  // Each running job takes k steps (tens of ms); 10k more wait behind them.
  const std::int64_t k = 20'000;
  for (bool durable : {false, true}) {
    auto sm = durable ? store_mode::durable : store_mode::memory;
    const auto policy = policy_for(c, asked, sm);
    for (bool fixed : {false, true}) {
      // The host-system comparison runs in memory (and in durable with --full).
      if (fixed && durable && !c.full)
        continue;
      auto mode = name_of(sm);
      auto variant = fixed ? std::string{"host actor system"} : std::string{"own actor system"};
      auto lbl = sc + " [" + policy + ", " + mode + ", " + variant + "]";
      progress.begin(lbl + " setup");
      auto dir = scratch(c, "control");
      std::vector<double> pause_us, resume_us, cancel_us, pause_run_us, stats_us;
      std::size_t refused = 0;
      {
        std::unique_ptr<host_system> host;
        std::unique_ptr<jobrt::runtime> rt;
        if (fixed) {
          host = std::make_unique<host_system>(policy, workers(c), fixed_max_throughput);
          jobrt::runtime_options o;
          set_store(o, sm, dir);
          o.max_running = c.cap;
          auto r = jobrt::runtime::start(*host->sys, o);
          if (!r)
            throw std::runtime_error("runtime::start: " + r.error().message);
          rt = std::move(*r);
        } else {
          rt = start_rt(c, dir, sm, c.cap, policy);
        }
        auto s = submit_many(*rt, steps_type, json::object{{"k", k}}, c.cap + q, 16);
        wait_for(*rt, [&](const jobrt::runtime_stats& st) { return st.running == c.cap; },
                 [](const jobrt::runtime_stats& st) {
                   return "running " + std::to_string(st.running) + ", queued "
                          + std::to_string(st.queued);
                 });
        progress.begin(lbl + " sampling");
        // Returns the call's microseconds, or a negative value if it was refused.
        auto timed = [](auto&& f) {
          auto t0 = now_ns();
          auto r = f();
          auto us = static_cast<double>(now_ns() - t0) / 1e3;
          if (!r) {
            if (r.error().code != jobrt::errc::illegal_transition)
              throw std::runtime_error("control call failed: " + r.error().message);
            return -us;
          }
          return us;
        };
        auto deadline = now_ns() + budget_ns;
        // Queued targets come from the back of the queue, so they do not start meanwhile.
        for (std::size_t i = 0; i < samples && now_ns() < deadline; ++i) {
          auto id = s.ids[s.ids.size() - 1 - 2 * i];
          auto other = s.ids[s.ids.size() - 2 - 2 * i];
          pause_us.push_back(timed([&] { return rt->pause(id); }));
          resume_us.push_back(timed([&] { return rt->resume(id); }));
          cancel_us.push_back(timed([&] { return rt->cancel(other); }));
          progress.update(std::to_string(i + 1) + "/" + std::to_string(samples));
        }
        // Running targets: one that list() shows running; if it finished before the
        // pause reached it, the pause is refused and not counted.
        deadline = now_ns() + budget_ns / 2;
        for (std::size_t i = 0; i < running_samples && now_ns() < deadline; ++i) {
          jobrt::list_query lq;
          lq.statuses = {jobrt::job_status::running};
          lq.limit = 1;
          auto page = rt->list(lq);
          if (!page || page->jobs.empty())
            continue;
          auto target = page->jobs.front().id;
          auto us = timed([&] { return rt->pause(target); });
          if (us < 0)
            ++refused;
          else
            pause_run_us.push_back(us);
        }
        for (std::size_t i = 0; i < 10; ++i) {
          auto t0 = now_ns();
          (void)stats_of(*rt);
          stats_us.push_back(static_cast<double>(now_ns() - t0) / 1e3);
        }
        progress.begin(lbl + " shutdown");
        rt->shutdown();
        rt.reset();
      }
      fs::remove_all(dir);
      // A queued target that started (and finished) meanwhile is refused: not a sample.
      std::size_t refused_q = 0;
      for (auto* v : {&pause_us, &resume_us, &cancel_us}) {
        auto keep = std::remove_if(v->begin(), v->end(), [](double x) { return x < 0; });
        refused_q += static_cast<std::size_t>(v->end() - keep);
        v->erase(keep, v->end());
      }
      progress.begin(lbl + " baseline");
      latency base = durable ? baseline_lmdb_commit_latency(scratch(c, "raw"), 100, 200, true)
                             : baseline_caf_roundtrip(500, c.cap, policy, workers(c),
                                                      fixed_max_throughput);
      auto base_name = durable ? std::string{"raw LMDB 1-put commit, fsync"}
                               : "bare CAF round trip, " + std::to_string(c.cap)
                                   + " spinners, max-throughput=" + std::to_string(fixed_max_throughput);
      progress.finish();
      double limit_us = durable ? 5000 : 1000;
      auto tgt = std::string{"p99 <= "} + (durable ? "5 ms" : "1 ms");
      auto tag = " (" + mode + ", " + variant + ")";
      auto lat_row = [&](const std::string& what, std::vector<double> v, bool judged,
                         std::string extra = {}) {
        auto l = summarize(std::move(v));
        bool judge = judged && !fixed;
        row r{sc, policy, what + " p99" + tag, l.p99_us, "us", {}, base.p99_us, base_name,
              l.p99_us / base.p99_us, judge ? tgt : "", judge ? pass(l.p99_us <= limit_us) : "",
              "p50 " + fmt(l.p50_us, 0) + " us, max " + fmt(l.max_us, 0) + " us, n="
                + std::to_string(l.n) + "; baseline p50 " + fmt(base.p50_us, 0) + " us" + extra};
        if (fixed && judged)
          r.note += "; runtime::start(sys, opts) in a host actor system with scheduler.max-throughput="
                    + std::to_string(fixed_max_throughput)
                    + ": the runtime does not renice a host's threads (worker_nice applies only to"
                      " its own system)";
        add(r);
      };
      lat_row("pause (queued job)", pause_us, true,
              "; load: " + std::to_string(c.cap) + " running bench.steps jobs of " + std::to_string(k)
                + " steps, " + std::to_string(q) + " queued"
                + (refused_q ? "; " + std::to_string(refused_q) + " calls refused (target had run)" : ""));
      lat_row("resume", resume_us, true);
      lat_row("cancel (queued job)", cancel_us, true);
      lat_row("pause (running job)", pause_run_us, true,
              refused ? "; " + std::to_string(refused) + " targets had already finished" : "");
      lat_row("stats()", stats_us, false);
    }
  }
}

// -- 5. recovery ----------------------------------------------------------------------

void scenario_recovery(const config& c, const std::string& asked) {
  // On LMDB without fsync, like all its runs.
  const auto policy = policy_for(c, asked, store_mode::lmdb);
  const std::string sc = "5 recovery";
  auto n = c.n.value_or(c.sz.recovery_n);
  auto dir = scratch(c, "recovery");
  progress.begin(sc + " [" + policy + "] creating " + std::to_string(n) + " unfinished jobs");
  {
    // max_running 1: one bench.hold job runs (and never ends), the others stay queued.
    auto rt = start_rt(c, dir, store_mode::lmdb, 1, policy);
    submit_many(*rt, hold_type, empty_params(), n, 16);
    wait_for(*rt, [](const jobrt::runtime_stats& st) { return st.running == 1; },
             [](const jobrt::runtime_stats&) { return std::string{"starting"}; });
    rt->shutdown();
  }
  auto rec_bytes = lmdb_avg_value_bytes(dir, "jobs");
  progress.begin(sc + " [" + policy + "] reopening");
  first_hold_step_ns = 0;
  auto t0 = now_ns();
  auto rt = start_rt(c, dir, store_mode::lmdb, 1, policy);
  auto t_started = now_ns();
  auto first = stats_of(*rt); // answered once the scheduler's recovery is done
  auto t_first_stats = now_ns();
  auto t_recovered = wait_for(*rt, [n](const jobrt::runtime_stats& st) {
    return st.recovered >= n && st.queued + st.running >= n;
  }, [n](const jobrt::runtime_stats& st) {
    return "recovered " + std::to_string(st.recovered) + "/" + std::to_string(n);
  }, 600s, 100us);
  auto deadline = now_ns() + 60'000'000'000LL;
  while (first_hold_step_ns.load() == 0 && now_ns() < deadline)
    std::this_thread::sleep_for(100us);
  auto t_first = first_hold_step_ns.load();
  rt->shutdown();
  rt.reset();
  fs::remove_all(dir);
  progress.begin(sc + " [" + policy + "] raw LMDB scan baseline");
  auto scan = baseline_lmdb_scan(scratch(c, "raw"), n, static_cast<std::size_t>(rec_bytes > 0 ? rec_bytes : 200));
  progress.finish();
  auto secs_q = static_cast<double>(t_recovered - t0) / 1e9;
  auto secs_f = t_first == 0 ? nan_v : static_cast<double>(t_first - t0) / 1e9;
  auto at_1m = secs_q * 1e6 / static_cast<double>(n);
  auto tag = " (N=" + std::to_string(n) + ")";
  add({sc, policy, "start -> all queued again" + tag, secs_q, "s", {}, scan,
       "raw LMDB scan of N records", nan_v, "1M in <= 2 s",
       pass(at_1m <= 2.0) + (n < 1'000'000 ? " (extrap.)" : ""),
       "runtime::start itself took " + fmt(static_cast<double>(t_started - t0) / 1e6, 1)
         + " ms; first stats() answered after " + fmt(static_cast<double>(t_first_stats - t0) / 1e6, 1)
         + " ms with recovered=" + std::to_string(first.recovered) + "; linear extrapolation to 1M: "
         + fmt(at_1m, 2) + " s"});
  add({sc, policy, "start -> first job runs" + tag, secs_f, "s", {}, nan_v, {}, nan_v, {}, {}, {}});
  add({sc, policy, "recovery cost per job", secs_q * 1e6 / static_cast<double>(n), "us/job", {},
       scan * 1e6 / static_cast<double>(n), "raw LMDB scan", nan_v, {}, {}, {}});
}

// -- 6. memory ------------------------------------------------------------------------

void settle_memory() {
  std::this_thread::sleep_for(100ms);
}

/// Per-job growth between two samples: anonymous RSS, and malloc'd bytes in use.
/// RSS alone understates it when freed heap from an earlier scenario is reused,
/// so the target is judged on the larger of the two.
struct growth {
  double rss = 0, heap = 0, total = 0;
  double judged() const { return std::max(rss, heap); }
};

growth per_job(const rss& a, const rss& b, std::size_t n) {
  auto d = static_cast<double>(n);
  return {static_cast<double>(b.anon - a.anon) / d, static_cast<double>(b.heap - a.heap) / d,
          static_cast<double>(b.total - a.total) / d};
}

std::string growth_note(const growth& g) {
  return "anon RSS " + fmt(g.rss) + " B/job, malloc in use " + fmt(g.heap)
         + " B/job, total RSS incl. LMDB file pages " + fmt(g.total) + " B/job";
}

void scenario_memory(const config& c, const std::string& asked) {
  // On LMDB without fsync, like all its runs.
  const auto policy = policy_for(c, asked, store_mode::lmdb);
  const std::string sc = "6 memory";
  auto n = c.n.value_or(c.sz.memory_n);
  auto tag = " (N=" + std::to_string(n) + ")";
  growth queued, queued_paused, running, running_paused;
  {
    progress.begin(sc + " [" + policy + "] queued");
    auto dir = scratch(c, "memory");
    auto rt = start_rt(c, dir, store_mode::lmdb, 1, policy);
    submit_many(*rt, hold_type, empty_params(), 1, 1);
    wait_for(*rt, [](const jobrt::runtime_stats& st) { return st.running == 1; },
             [](const jobrt::runtime_stats&) { return std::string{"warming up"}; });
    settle_memory();
    auto r0 = read_rss();
    auto s = submit_many(*rt, hold_type, empty_params(), n, 1);
    settle_memory();
    queued = per_job(r0, read_rss(), n);
    progress.begin(sc + " [" + policy + "] queued -> paused");
    for_all(s.ids, 1, [&](jobrt::job_id id) { return rt->pause(id); }, "pause");
    settle_memory();
    queued_paused = per_job(r0, read_rss(), n);
    rt->shutdown();
    rt.reset();
    fs::remove_all(dir);
  }
  {
    progress.begin(sc + " [" + policy + "] running");
    auto dir = scratch(c, "memory");
    auto rt = start_rt(c, dir, store_mode::lmdb, n + 1, policy);
    submit_many(*rt, hold_type, empty_params(), 1, 1);
    wait_for(*rt, [](const jobrt::runtime_stats& st) { return st.running == 1; },
             [](const jobrt::runtime_stats&) { return std::string{"warming up"}; });
    settle_memory();
    auto r0 = read_rss();
    auto s = submit_many(*rt, hold_type, empty_params(), n, 1);
    wait_for(*rt, [n](const jobrt::runtime_stats& st) { return st.running == n + 1; },
             [n](const jobrt::runtime_stats& st) {
               return "running " + std::to_string(st.running) + "/" + std::to_string(n + 1);
             });
    settle_memory();
    running = per_job(r0, read_rss(), n);
    progress.begin(sc + " [" + policy + "] running -> paused");
    for_all(s.ids, 1, [&](jobrt::job_id id) { return rt->pause(id); }, "pause");
    settle_memory();
    running_paused = per_job(r0, read_rss(), n);
    rt->shutdown();
    rt.reset();
    fs::remove_all(dir);
  }
  progress.begin(sc + " [" + policy + "] bare CAF actor baseline");
  auto actor_bytes = baseline_caf_actor_bytes(n, policy, workers(c));
  progress.finish();
  add({sc, policy, "per queued job" + tag, queued.judged(), "B/job", {}, nan_v, {}, nan_v,
       "<= 300 B", pass(queued.judged() <= 300), growth_note(queued)});
  add({sc, policy, "per paused job, paused while queued", queued_paused.judged(), "B/job", {},
       nan_v, {}, nan_v, "<= 4 KiB", pass(queued_paused.judged() <= 4096),
       "no actor; " + growth_note(queued_paused)});
  add({sc, policy, "per running job", running.judged(), "B/job", {}, actor_bytes,
       "bare CAF idle actor", nan_v, {}, {}, growth_note(running)});
  add({sc, policy, "per paused job, paused while running", running_paused.judged(), "B/job", {},
       actor_bytes, "bare CAF idle actor", nan_v, "<= 4 KiB", pass(running_paused.judged() <= 4096),
       "the paused job keeps its actor and loaded record; " + growth_note(running_paused)});
}

// -- soak -------------------------------------------------------------------------------

/// 100k paused jobs held while 1M no-op jobs are submitted (bulk) and completed:
/// memory per paused and per queued job at full size, what stays after the
/// drain, and the drain rate at 1M against 10k in the same run.
void scenario_soak(const config& c, const std::string& asked) {
  // On LMDB without fsync, like all its runs.
  const auto policy = policy_for(c, asked, store_mode::lmdb);
  const std::string sc = "soak";
  const std::size_t n = c.n.value_or(c.smoke ? 2'000 : 1'000'000);
  const std::size_t paused_n = std::max<std::size_t>(1, n / 10);
  const std::size_t small_n = std::max<std::size_t>(1, n / 100);
  const std::size_t chunk = 1000;
  // The small run first, in a runtime of its own, for the rate ratio: the median
  // of several runs, as for a short point of the scaling scenario.
  const std::size_t small_runs = c.smoke ? 1 : 5;
  std::vector<double> small_rates;
  for (std::size_t run = 1; run <= small_runs; ++run) {
    progress.begin(sc + " [" + policy + "] " + std::to_string(small_n) + " jobs, run "
                   + std::to_string(run) + "/" + std::to_string(small_runs));
    small_rates.push_back(
      run_noop(c, policy, store_mode::lmdb, small_n, c.cap, 1, false, false, chunk).drain_rate);
  }
  const double small_rate = median_of(small_rates);
  auto dir = scratch(c, "soak");
  auto rt = start_rt(c, dir, store_mode::lmdb, c.cap, policy);
  settle_memory();
  auto r0 = read_rss();
  progress.begin(sc + " [" + policy + "] pausing " + std::to_string(paused_n));
  if (auto r = rt->pause_type(hold_type); !r)
    throw std::runtime_error("pause_type: " + r.error().message);
  auto held = submit_bulk(*rt, hold_type, empty_params(), paused_n, chunk);
  for_all(held.ids, 4, [&](jobrt::job_id id) { return rt->pause(id); }, "pause");
  settle_memory();
  auto r1 = read_rss();
  progress.begin(sc + " [" + policy + "] submitting " + std::to_string(n));
  // Submitted faster than they drain: the queue peaks near n.
  auto s = submit_bulk(*rt, noop_type, empty_params(), n, chunk);
  auto peak_queued = stats_of(*rt).queued;
  auto r2 = read_rss();
  auto done_at = wait_for(*rt, [n](const jobrt::runtime_stats& st) { return st.completed >= n; },
                          [n](const jobrt::runtime_stats& st) {
                            return "completed " + std::to_string(st.completed) + "/"
                                   + std::to_string(n) + ", queued " + std::to_string(st.queued);
                          });
  settle_memory();
  auto r3 = read_rss();
  auto end = stats_of(*rt);
  auto still_paused = end.jobs_by_status.count(jobrt::job_status::paused)
                        ? end.jobs_by_status.at(jobrt::job_status::paused)
                        : 0;
  rt->shutdown();
  rt.reset();
  fs::remove_all(dir);
  progress.finish();
  if (end.completed != n || still_paused != paused_n)
    throw std::runtime_error("soak: " + std::to_string(end.completed) + "/" + std::to_string(n)
                             + " completed, " + std::to_string(still_paused) + "/"
                             + std::to_string(paused_n) + " still paused");
  auto per_paused = per_job(r0, r1, paused_n);
  auto per_queued = per_job(r1, r2, peak_queued > 0 ? peak_queued : 1);
  auto kept = per_job(r1, r3, n);
  auto rate = static_cast<double>(n) / (static_cast<double>(done_at - s.t0) / 1e9);
  auto tag = " (N=" + std::to_string(n) + ", " + std::to_string(paused_n) + " paused)";
  add({sc, policy, "per paused job" + tag, per_paused.judged(), "B/job", {}, nan_v, {}, nan_v,
       "<= 4 KiB", pass(per_paused.judged() <= 4096),
       "paused while queued; " + growth_note(per_paused)});
  add({sc, policy, "per queued job at the peak", per_queued.judged(), "B/job", {}, nan_v, {},
       nan_v, "<= 300 B", pass(per_queued.judged() <= 300),
       std::to_string(peak_queued) + " queued when the last bulk submit returned; "
         + growth_note(per_queued)});
  add({sc, policy, "kept per completed job after the drain", kept.judged(), "B/job", {}, nan_v,
       {}, nan_v, {}, {},
       "memory not given back once all " + std::to_string(n)
         + " completed (the job table's bucket array does not shrink); " + growth_note(kept)});
  add({sc, policy, "drain rate, bulk submit", rate, "jobs/s", {}, small_rate,
       "same, N=" + std::to_string(small_n), rate / small_rate, ">= 0.8x at 1M vs 10k",
       n >= 1'000'000 ? pass(rate / small_rate >= 0.8) : std::string{},
       "all " + std::to_string(n) + " completed and all " + std::to_string(paused_n)
         + " paused jobs still paused at the end; baseline: median of "
         + std::to_string(small_runs) + " runs"});
}

// -- 7. scaling -------------------------------------------------------------------------


void scenario_scaling(const config& c, const std::vector<std::string>& policies) {
  const std::string sc = "7 scaling";
  std::vector<std::size_t> ns = c.n ? std::vector<std::size_t>{*c.n} : c.sz.scale_n;
  auto n0 = ns.front();
  for (const auto& policy : policies) {
    // Points: every N at the default cap, and every cap at the first N.
    std::vector<std::pair<std::size_t, std::size_t>> points;
    for (auto n : ns)
      points.emplace_back(n, c.cap);
    for (auto cap : c.sz.scale_cap)
      if (cap != c.cap)
        points.emplace_back(n0, cap);
    for (auto [n, cap] : points) {
      // An odd number of runs, so that the median is one of them.
      std::size_t runs = std::clamp<std::size_t>(c.sz.scale_min_jobs / n, 1, 9) | 1;
      std::vector<double> cafs, mems, durs, lmdbs;
      for (std::size_t run = 1; run <= runs; ++run) {
        auto lbl = sc + " [" + policy + "] N=" + std::to_string(n) + " " + cap_s(cap)
                   + (runs > 1 ? " run " + std::to_string(run) + "/" + std::to_string(runs) : "");
        progress.begin(lbl + " baseline");
        cafs.push_back(baseline_caf(n, cap, policy, workers(c)));
        progress.begin(lbl + " memory");
        mems.push_back(run_noop(c, policy, store_mode::memory, n, cap, 1, false, false, 1000).drain_rate);
        progress.begin(lbl + " durable");
        auto dur = run_noop(c, policy, store_mode::durable, n, cap, 1, false, true, 1000);
        durs.push_back(dur.drain_rate);
        lmdbs.push_back(baseline_lmdb_write(
          scratch(c, "raw"), n,
          static_cast<std::size_t>(dur.record_bytes > 0 ? dur.record_bytes : 200), c.lmdb_batch,
          true));
      }
      scale_points.push_back({policy, "memory", n, cap, median_of(mems), median_of(cafs), runs});
      scale_points.push_back({policy, "durable", n, cap, median_of(durs), median_of(lmdbs), runs});
    }
    progress.finish();
    for (const auto& p : scale_points) {
      if (p.policy != policy)
        continue;
      auto what = std::string{p.mode == "memory" ? "drain memory, bulk submit" : "drain durable, bulk submit"}
                  + " N=" + std::to_string(p.n) + " " + cap_s(p.cap);
      add({sc, policy, what, p.rate, "jobs/s", {}, p.baseline,
           p.mode == "memory" ? "bare CAF" : "raw LMDB batched, fsync", nan_v, {}, {},
           fmt(1e6 / p.rate, 2) + " us/job"
             + (p.runs > 1 ? "; median of " + std::to_string(p.runs) + " runs (and baseline)" : "")});
    }
    if (ns.size() > 1) {
      for (const char* mode : {"memory", "durable"}) {
        double small = 0, big = 0;
        std::size_t nbig = 0;
        for (const auto& p : scale_points)
          if (p.policy == policy && p.mode == mode && p.cap == c.cap) {
            if (p.n == n0)
              small = p.rate;
            if (p.n == ns.back()) {
              big = p.rate;
              nbig = p.n;
            }
          }
        add({sc, policy,
             std::string{"throughput N="} + std::to_string(nbig) + " vs N=" + std::to_string(n0)
               + " (" + mode + ")",
             big / small, "x", {}, nan_v, {}, big / small, ">= 0.8x at 1M vs 10k",
             pass(big / small >= 0.8) + (nbig < 1'000'000 ? " (at N=" + std::to_string(nbig) + ")" : ""),
             {}});
      }
    }
  }
}

// -- 8. signals -------------------------------------------------------------------------

/// Checks `done` every 20 us until it holds; throws after `timeout`.
void spin_until(const std::function<bool()>& done, const std::string& what,
                std::chrono::seconds timeout = 60s) {
  auto deadline = now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  while (!done()) {
    if (now_ns() > deadline)
      throw std::runtime_error("timed out waiting for " + what);
    std::this_thread::sleep_for(20us);
  }
}

/// What one signal run measured.
struct signal_run {
  std::vector<double> call_us;  ///< signal() itself, call to return
  std::vector<double> step_us;  ///< wake: signal() call to the job's next step
  std::vector<double> cycle_us; ///< wake: signal() call to the job waiting again (its event)
  double rate = 0;              ///< signals/s: first call to last return
  double per_signal_us = 0;     ///< first call to the final record (wait returns), per signal
  double signal_bytes = 0;      ///< average stored signal (LMDB only)
  std::int64_t steps = 0;       ///< burst: steps the job ran
  bool stalled = false;         ///< burst: the job did not complete in time
  std::string stalled_as;       ///< burst: the stalled job's status, as get() shows it
};

/// A status-event counter: how many `waiting` events the bench.waiter jobs had.
struct wait_events {
  std::mutex mtx;
  std::condition_variable cv;
  std::size_t waits = 0;
  std::int64_t last_ns = 0;
  void on_event(const jobrt::job_event& e) {
    if (e.what != jobrt::job_event::kind::status || e.status != jobrt::job_status::waiting
        || e.type != waiter_type)
      return;
    auto t = now_ns();
    std::lock_guard g{mtx};
    ++waits;
    last_ns = t;
    cv.notify_all();
  }
  /// The steady-clock ns of the `k`-th waiting event, once it came.
  std::int64_t await(std::size_t k) {
    std::unique_lock lock{mtx};
    if (!cv.wait_for(lock, 60s, [&] { return waits >= k; }))
      throw std::runtime_error("timed out waiting for the job to wait for a signal again ("
                               + std::to_string(waits) + " waits seen, " + std::to_string(k)
                               + " expected)");
    return last_ns;
  }
};

jobrt::job_id submit_one(jobrt::runtime& rt, const char* type, std::size_t k) {
  auto id = rt.submit(type, json::object{{"k", static_cast<std::int64_t>(k)}});
  if (!id)
    throw std::runtime_error("submit: " + id.error().message);
  return *id;
}

/// Times one synchronous signal() (microseconds); throws if it is refused.
double timed_signal(jobrt::runtime& rt, jobrt::job_id id, const char* name, std::size_t i) {
  auto t0 = now_ns();
  auto r = rt.signal(id, name, json::object{{"i", static_cast<std::int64_t>(i)}});
  auto us = static_cast<double>(now_ns() - t0) / 1e3;
  if (!r)
    throw std::runtime_error(std::string{"signal: "} + r.error().message);
  return us;
}

/// N signals, one at a time, to a running bench.listen job that completes after
/// the last; the end is when wait() returns its final record.
signal_run run_signal_running(const config& c, const std::string& policy, store_mode m,
                              std::size_t n) {
  auto dir = scratch(c, "signal");
  signal_run out;
  {
    auto rt = start_rt(c, dir, m, c.cap, policy);
    listen_started = 0;
    auto id = submit_one(*rt, listen_type, n);
    spin_until([] { return listen_started.load() > 0; }, "the listening job to start");
    out.call_us.reserve(n);
    auto t0 = now_ns();
    for (std::size_t i = 0; i < n; ++i) {
      out.call_us.push_back(timed_signal(*rt, id, "ping", i));
      progress.update(std::to_string(i + 1) + "/" + std::to_string(n));
    }
    auto t1 = now_ns();
    auto fin = rt->wait(id, 60s);
    auto t2 = now_ns();
    if (!fin)
      throw std::runtime_error("wait: " + fin.error().message);
    if (fin->status != jobrt::job_status::completed)
      throw std::runtime_error(std::string{"the listening job ended "} + to_string(fin->status));
    out.rate = static_cast<double>(n) / (static_cast<double>(t1 - t0) / 1e9);
    out.per_signal_us = static_cast<double>(t2 - t0) / 1e3 / static_cast<double>(n);
    rt->shutdown();
  }
  if (m != store_mode::memory)
    out.signal_bytes = lmdb_avg_value_bytes(dir, "signals");
  fs::remove_all(dir);
  return out;
}

/// N wakes of a bench.waiter job: each signal goes to a job that waits for one
/// (its waiting event seen), and the next is sent once it waits again.
signal_run run_signal_wake(const config& c, const std::string& policy, store_mode m,
                           std::size_t n) {
  auto dir = scratch(c, "signal");
  signal_run out;
  {
    wait_events ev;
    auto rt = start_rt(c, dir, m, c.cap, policy);
    jobrt::event_filter f;
    f.progress = false;
    auto sub = rt->subscribe([&ev](const jobrt::job_event& e) { ev.on_event(e); }, f);
    waiter_steps = 0;
    // One more than it is sent: it is still waiting at the end, and is cancelled.
    auto id = submit_one(*rt, waiter_type, n + 1);
    ev.await(1);
    auto t0 = now_ns();
    for (std::size_t i = 0; i < n; ++i) {
      auto steps = waiter_steps.load();
      auto sent = now_ns();
      out.call_us.push_back(timed_signal(*rt, id, "wake", i));
      auto waiting_again = ev.await(i + 2);
      spin_until([&] { return waiter_steps.load() > steps; }, "the woken job's step");
      out.step_us.push_back(static_cast<double>(waiter_step_ns.load() - sent) / 1e3);
      out.cycle_us.push_back(static_cast<double>(waiting_again - sent) / 1e3);
      progress.update(std::to_string(i + 1) + "/" + std::to_string(n));
    }
    out.rate = static_cast<double>(n) / (static_cast<double>(now_ns() - t0) / 1e9);
    if (auto r = rt->cancel(id); !r)
      throw std::runtime_error("cancel: " + r.error().message);
    sub.cancel();
    rt->shutdown();
  }
  fs::remove_all(dir);
  return out;
}

/// N signals back to back to a bench.waiter job that waits for one: most reach
/// it while it runs, some wake it. The end is its final record (or a stall).
signal_run run_signal_burst(const config& c, const std::string& policy, store_mode m,
                            std::size_t n, std::chrono::seconds patience) {
  auto dir = scratch(c, "signal");
  signal_run out;
  {
    wait_events ev;
    auto rt = start_rt(c, dir, m, c.cap, policy);
    jobrt::event_filter f;
    f.progress = false;
    auto sub = rt->subscribe([&ev](const jobrt::job_event& e) { ev.on_event(e); }, f);
    waiter_steps = 0;
    auto id = submit_one(*rt, waiter_type, n);
    ev.await(1);
    auto t0 = now_ns();
    for (std::size_t i = 0; i < n; ++i)
      out.call_us.push_back(timed_signal(*rt, id, "wake", i));
    auto fin = rt->wait(id, patience);
    auto t1 = now_ns();
    out.steps = waiter_steps.load();
    if (!fin && fin.error().code != jobrt::errc::timeout)
      throw std::runtime_error("wait: " + fin.error().message);
    out.stalled = !fin;
    out.rate = static_cast<double>(n) / (static_cast<double>(t1 - t0) / 1e9);
    if (out.stalled) {
      if (auto rec = rt->get(id))
        out.stalled_as = std::string{to_string(rec->status)} + ", waiting_for '"
                         + rec->waiting_for + "'";
      (void)rt->cancel(id);
    }
    sub.cancel();
    rt->shutdown();
  }
  fs::remove_all(dir);
  return out;
}

void scenario_signal(const config& c, const std::string& asked) {
  const std::string sc = "8 signal";
  auto n = c.n.value_or(c.sz.signal_n);
  auto wakes = c.n.value_or(c.sz.signal_wakes);
  for (auto sm : {store_mode::memory, store_mode::durable}) {
    const auto policy = policy_for(c, asked, sm);
    const bool durable = sm == store_mode::durable;
    const auto mode = name_of(sm);
    const auto lbl = sc + " [" + policy + ", " + mode + "]";
    // The baseline runs twice, before and after the runtime's runs, and its
    // samples are pooled: on a shared machine an fsync's cost drifts by the minute.
    auto samples = std::clamp<std::size_t>(n, 100, 1000);
    auto base_run = [&](double value_bytes) {
      return durable ? lmdb_commit_samples(scratch(c, "raw"), samples / 2,
                                           static_cast<std::size_t>(value_bytes), true)
                     : caf_roundtrip_samples(samples / 2, 0, policy, workers(c),
                                             fixed_max_throughput);
    };
    progress.begin(lbl + " baseline");
    // Before the runs, a stored signal's size is not known yet: 33 bytes is what one
    // of these ("ping", {"i": i}) took when this was written; after them, the measured one.
    auto base_us = base_run(33);
    progress.begin(lbl + " running job");
    auto run = run_signal_running(c, policy, sm, n);
    progress.begin(lbl + " waking a waiting job");
    auto wake = run_signal_wake(c, policy, sm, wakes);
    progress.begin(lbl + " burst to a waiting job");
    const auto patience = c.smoke ? 3s : 30s;
    auto burst = run_signal_burst(c, policy, sm, wakes, patience);
    progress.begin(lbl + " baseline");
    auto sig_bytes = run.signal_bytes > 0 ? run.signal_bytes : 33.0;
    auto after = base_run(sig_bytes);
    base_us.insert(base_us.end(), after.begin(), after.end());
    auto base = summarize(std::move(base_us));
    progress.finish();
    auto base_name = durable ? "raw LMDB 1-put commit, fsync" : std::string{"bare CAF round trip"};
    auto base_rate = 1e6 / base.mean_us;
    auto base_note = "; baseline p50 " + fmt(base.p50_us, 1) + " us, p99 " + fmt(base.p99_us, 1)
                     + " us, mean " + fmt(base.mean_us, 1) + " us, n=" + std::to_string(base.n)
                     + " (half before, half after the runtime's runs)"
                     + (durable ? ", " + fmt(sig_bytes) + "-byte values (the stored signals' average)"
                                : ", host thread to an idle actor, no load");
    auto lat_rows = [&](const std::string& what, const std::vector<double>& us, bool p99_row,
                        const std::string& extra) {
      auto l = summarize(us);
      add({sc, policy, what + ", mean", l.mean_us, "us", {}, base.mean_us, base_name + ", mean",
           nan_v, {}, {},
           "p50 " + fmt(l.p50_us, 1) + " us, p99 " + fmt(l.p99_us, 1) + " us, max "
             + fmt(l.max_us, 0) + " us, n=" + std::to_string(l.n) + extra + base_note});
      if (p99_row)
        add({sc, policy, what + ", p99", l.p99_us, "us", {}, base.p99_us, base_name + ", p99",
             nan_v, {}, {}, {}});
    };
    auto tag = " (" + mode + ", N=" + std::to_string(n) + ")";
    add({sc, policy, "signal() to a running job: rate" + tag, run.rate, "signals/s", {}, base_rate,
         base_name + "s, one at a time", nan_v, {}, {},
         "one caller, synchronous; the job (bench.listen) is suspended and counts the signals in "
         "on_signal"});
    lat_rows("signal() to a running job", run.call_us, true, {});
    add({sc, policy, "running job: first signal() to final record, per signal", run.per_signal_us,
         "us", {}, base.mean_us, base_name + ", mean", nan_v, {}, {},
         "the job completes in its N-th on_signal; the end is when wait() returns its final "
         "record"});
    auto wtag = " (" + mode + ", N=" + std::to_string(wakes) + ")";
    add({sc, policy, "waking a waiting job: wakes/s" + wtag, wake.rate, "signals/s", {}, base_rate,
         base_name + "s, one at a time", nan_v, {}, {},
         "each signal goes to a bench.waiter job that waits for one (its waiting event seen); it "
         "is queued, starts, takes it, checkpoints and waits again"});
    lat_rows("waking: signal() to a waiting job", wake.call_us, false, {});
    lat_rows("waking: signal() call to the job's next step", wake.step_us, true, {});
    lat_rows("waking: signal() call to waiting again", wake.cycle_us, true,
             "; until the job's waiting status event reaches a subscribe() callback (the status "
             "is durable by then)");
    auto& br = add({sc, policy, "burst: N signals back to back to a waiting job" + wtag,
                    burst.stalled ? nan_v : burst.rate, "signals/s", {},
                    burst.stalled ? nan_v : base_rate, base_name + "s, one at a time", nan_v, {},
                    {}, {}});
    auto burst_calls = summarize(burst.call_us);
    br.note = "first signal() call to the final record; signal() mean "
              + fmt(burst_calls.mean_us, 1) + " us, p99 " + fmt(burst_calls.p99_us, 1)
              + " us; the job ran " + std::to_string(burst.steps) + " steps";
    if (burst.stalled) {
      br.text = "stalled";
      br.note += "; it had not completed " + std::to_string(patience.count())
                 + " s after the last of the " + std::to_string(wakes)
                 + " signal() calls was acknowledged; get() then showed it " + burst.stalled_as;
    }
  }
}

// -- output -----------------------------------------------------------------------------

std::string value_text(const row& r) {
  if (!r.text.empty())
    return r.text;
  if (r.unit == "x")
    return fmt(r.value, 2) + "x";
  return fmt_value(r.value, r.unit);
}

std::string baseline_text(const row& r) {
  if (std::isnan(r.baseline))
    return "";
  auto unit = r.unit;
  return fmt_value(r.baseline, unit) + " (" + r.baseline_name + ")";
}

std::string ratio_text(const row& r) {
  if (std::isnan(r.ratio) || r.unit == "x")
    return "";
  return fmt(r.ratio, 2) + "x";
}

void print_table(const machine_info& m, const std::string& cmd) {
  std::cout << "jobrt-bench  " << m.date << "  " << m.cores << " cores  " << m.cpu << "  "
            << m.kernel << "\ncommand: " << cmd << "\nCAF worker threads of the runtimes and the "
            << "CAF baselines: " << m.workers << "\n\n";
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"scenario", "policy", "metric", "value", "baseline", "ratio", "target", "status"});
  for (const auto& r : rows)
    cells.push_back({r.scenario, r.policy, r.metric, value_text(r), baseline_text(r), ratio_text(r),
                     r.target, r.status});
  std::vector<std::size_t> w(cells.front().size(), 0);
  for (const auto& c : cells)
    for (std::size_t i = 0; i < c.size(); ++i)
      w[i] = std::max(w[i], c[i].size());
  auto line = [&](const std::vector<std::string>& c) {
    std::string s = "|";
    for (std::size_t i = 0; i < c.size(); ++i)
      s += " " + c[i] + std::string(w[i] - c[i].size(), ' ') + " |";
    std::cout << s << "\n";
  };
  line(cells.front());
  std::string sep = "|";
  for (auto x : w)
    sep += std::string(x + 2, '-') + "|";
  std::cout << sep << "\n";
  for (std::size_t i = 1; i < cells.size(); ++i)
    line(cells[i]);
  std::cout << "\nnotes:\n";
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (!rows[i].note.empty())
      std::cout << "  " << rows[i].scenario << " / " << rows[i].policy << " / " << rows[i].metric
                << ": " << rows[i].note << "\n";
  std::size_t passed = 0, missed = 0;
  for (const auto& r : rows) {
    if (r.status.rfind("pass", 0) == 0)
      ++passed;
    else if (r.status.rfind("miss", 0) == 0)
      ++missed;
  }
  std::cout << "\ntargets: " << passed << " pass, " << missed << " miss\n";
}

json::value num(double v) {
  if (std::isnan(v) || std::isinf(v))
    return nullptr;
  return v;
}

void print_json(const machine_info& m, const std::string& cmd) {
  json::object root;
  root["machine"] = {{"cores", m.cores},     {"cpu", m.cpu},   {"kernel", m.kernel},
                     {"date", m.date},       {"workers", m.workers}};
  root["command"] = cmd;
  json::array rs;
  for (const auto& r : rows)
    rs.push_back(json::object{{"scenario", r.scenario}, {"policy", r.policy}, {"metric", r.metric},
                              {"value", num(r.value)}, {"unit", r.unit}, {"text", r.text},
                              {"baseline", num(r.baseline)}, {"baseline_name", r.baseline_name},
                              {"ratio", num(r.ratio)}, {"target", r.target}, {"status", r.status},
                              {"note", r.note}});
  root["rows"] = std::move(rs);
  json::array sp;
  for (const auto& p : scale_points)
    sp.push_back(json::object{{"policy", p.policy}, {"mode", p.mode}, {"n", p.n}, {"cap", p.cap},
                              {"rate", num(p.rate)}, {"baseline", num(p.baseline)}});
  root["scaling"] = std::move(sp);
  std::cout << json::serialize(root) << "\n";
}

bool have_gnuplot() {
  return std::system("command -v gnuplot >/dev/null 2>&1") == 0;
}

void write_plot(const config& c, const std::vector<std::string>& policies) {
  if (scale_points.empty()) {
    std::cerr << "jobrt-bench: --plot: no scaling points (run the scaling scenario)\n";
    return;
  }
  if (!have_gnuplot()) {
    std::cerr << "jobrt-bench: gnuplot is not installed (apt-get install -y gnuplot-nox); "
                 "skipping the plot\n";
    return;
  }
  auto dir = c.dir + "/plot";
  fs::create_directories(dir);
  // One data file per (policy, mode, axis): "n" curves at the default cap, "cap" curves at N0.
  std::vector<std::string> by_n, by_cap;
  auto n0 = scale_points.front().n;
  for (const auto& policy : policies)
    for (const char* mode : {"memory", "durable"}) {
      auto base = policy + "-" + mode;
      std::ofstream fn{dir + "/" + base + "-n.dat"}, fc{dir + "/" + base + "-cap.dat"};
      for (const auto& p : scale_points) {
        if (p.policy != policy || p.mode != mode)
          continue;
        if (p.cap == c.cap)
          fn << p.n << " " << p.rate << " " << p.baseline << "\n";
        if (p.n == n0)
          fc << p.cap << " " << p.rate << " " << p.baseline << "\n";
      }
      by_n.push_back(base);
      by_cap.push_back(base);
    }
  // cap curves must be sorted by cap
  for (const auto& b : by_cap) {
    auto path = dir + "/" + b + "-cap.dat";
    std::ifstream in{path};
    std::vector<std::tuple<double, double, double>> v;
    for (double a, r, bl; in >> a >> r >> bl;)
      v.emplace_back(a, r, bl);
    std::sort(v.begin(), v.end());
    std::ofstream out{path};
    for (auto& [a, r, bl] : v)
      out << a << " " << r << " " << bl << "\n";
  }
  std::ofstream gp{dir + "/plot.gp"};
  gp << "set terminal png size 1400,560 noenhanced\nset output '" << c.plot << "'\n"
     << "set multiplot layout 1,2 title 'jobrt-bench scaling (no-op jobs, bulk submit; memory: "
        "storage_kind::memory, durable: LMDB with fsync)'\n"
     << "set logscale x\nset logscale y\nset grid\nset key bottom left font ',9'\n"
     << "set ylabel 'jobs/s (drain)'\n";
  auto plot = [&](const std::vector<std::string>& bases, const std::string& suffix,
                  const std::string& xlabel, const std::string& title) {
    gp << "set xlabel '" << xlabel << "'\nset title '" << title << "'\nplot ";
    int color = 0;
    for (const auto& b : bases) {
      if (color != 0)
        gp << ", ";
      ++color;
      gp << "'" << dir << "/" << b << suffix << "' using 1:2 with linespoints lc " << color
         << " lw 2 title '" << b << "'";
      gp << ", '" << dir << "/" << b << suffix << "' using 1:3 with lines lc " << color
         << " dashtype 2 title '" << b << " baseline'";
    }
    gp << "\n";
  };
  plot(by_n, "-n.dat", "N (jobs)", "by N, max_running=" + std::to_string(c.cap));
  plot(by_cap, "-cap.dat", "max_running", "by max_running, N=" + std::to_string(n0));
  gp << "unset multiplot\n";
  gp.close();
  auto cmd = "gnuplot '" + dir + "/plot.gp' 2>&1";
  if (std::system(cmd.c_str()) != 0)
    std::cerr << "jobrt-bench: gnuplot failed (script kept in " << dir << "/plot.gp)\n";
  else
    std::cerr << "jobrt-bench: wrote " << c.plot << "\n";
}

// -- command line ---------------------------------------------------------------------------

std::size_t parse_size(const std::string& opt, const char* v) {
  char* end = nullptr;
  auto x = std::strtoull(v, &end, 10);
  if (end == v || *end != '\0')
    throw std::invalid_argument(opt + ": expected a number, got '" + v + "'");
  return static_cast<std::size_t>(x);
}

config parse(int argc, char** argv) {
  config c;
  bool sizes_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc)
        throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      print_help();
      std::exit(0);
    } else if (a == "--full") {
      c.full = true;
    } else if (a == "--smoke") {
      c.smoke = true;
    } else if (a == "--json") {
      c.json_out = true;
    } else if (a == "--quiet") {
      c.quiet = true;
    } else if (a == "--plot") {
      c.plot = value();
    } else if (a == "--scenario") {
      c.scenario = value();
      if (std::find(std::begin(scenario_names), std::end(scenario_names), c.scenario)
          == std::end(scenario_names))
        throw std::invalid_argument("unknown scenario '" + c.scenario + "' (see --help)");
    } else if (a == "--policy") {
      std::string p = value();
      if (p == "both")
        c.policies = {"stealing", "sharing"};
      else if (p == "stealing" || p == "sharing")
        c.policies = {p};
      else
        throw std::invalid_argument("--policy: stealing, sharing or both");
    } else if (a == "--n") {
      c.n = parse_size(a, value());
      if (*c.n == 0)
        throw std::invalid_argument("--n must be at least 1");
    } else if (a == "--threads") {
      c.threads = parse_size(a, value());
    } else if (a == "--cap") {
      c.cap = std::max<std::size_t>(1, parse_size(a, value()));
    } else if (a == "--lmdb-batch") {
      c.lmdb_batch = std::max<std::size_t>(1, parse_size(a, value()));
    } else if (a == "--dir") {
      c.dir = value();
    } else {
      throw std::invalid_argument("unknown option '" + a + "' (see --help)");
    }
  }
  if (c.full && c.smoke)
    throw std::invalid_argument("--full and --smoke exclude each other");
  c.sz = c.full ? full_sizes() : c.smoke ? smoke_sizes() : default_sizes();
  (void)sizes_set;
  if (c.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    c.dir = std::string{tmp != nullptr && *tmp != '\0' ? tmp : "/tmp"} + "/jobrt-bench-"
            + std::to_string(getpid());
  }
  return c;
}

} // namespace
} // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  link_jobs();
  config c;
  try {
    c = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "jobrt-bench: " << e.what() << "\n";
    return 2;
  }
  std::string cmd;
  for (int i = 0; i < argc; ++i)
    cmd += (i ? " " : "") + std::string{argv[i]};
  progress.set_quiet(c.quiet);
  fs::create_directories(c.dir);
  auto m = machine();
  m.workers = workers(c);
  auto want = [&](const char* name) { return c.scenario.empty() || c.scenario == name; };
  // "": each run gets the policy the runtime chooses for its store (policy_for).
  auto main_policies = c.policies.empty() ? std::vector<std::string>{""} : c.policies;
  auto scale_policies =
    c.policies.empty() ? std::vector<std::string>{"stealing", "sharing"} : c.policies;
  int rc = 0;
  auto t0 = now_ns();
  try {
    // Memory first, while the heap is fresh (freed memory of other scenarios would be reused).
    for (const auto& policy : main_policies)
      if (want("memory"))
        scenario_memory(c, policy);
    for (const auto& policy : main_policies) {
      if (want("noop-mem"))
        scenario_noop_mem(c, policy);
      if (want("noop-durable"))
        scenario_noop_durable(c, policy);
      if (want("checkpoint"))
        scenario_checkpoint(c, policy);
      if (want("control"))
        scenario_control(c, policy);
      if (want("recovery"))
        scenario_recovery(c, policy);
      if (want("signal"))
        scenario_signal(c, policy);
    }
    if (want("scaling"))
      scenario_scaling(c, scale_policies);
    // Minutes long: only when asked for by name (and at tiny size in --smoke).
    if (c.scenario == "soak" || (c.smoke && c.scenario.empty()))
      for (const auto& policy : main_policies)
        scenario_soak(c, policy);
  } catch (const std::exception& e) {
    progress.finish();
    std::cerr << "jobrt-bench: failed: " << e.what() << "\n";
    rc = 1;
  }
  progress.finish();
  if (!c.quiet)
    std::cerr << "[jobrt-bench] done in " << fmt(static_cast<double>(now_ns() - t0) / 1e9, 1)
              << " s\n";
  if (c.json_out)
    print_json(m, cmd);
  else
    print_table(m, cmd);
  if (!c.plot.empty())
    write_plot(c, scale_policies);
  std::error_code ec;
  fs::remove_all(c.dir, ec);
  return rc;
}
