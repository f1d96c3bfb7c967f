// jobrt-bench's runtime helpers (see harness.hpp).

#include "harness.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <vector>
#include <string>
#include <mutex>
#include <functional>
#include <condition_variable>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <sys/utsname.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "caf/atom.hpp"

#include "bench.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace bench {

// -- progress line on stderr ----------------------------------------------------------

progress_line::progress_line() : tty_(isatty(2) != 0) {
}

void progress_line::begin(const std::string& label) {
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
void progress_line::update(const std::string& text) {
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
void progress_line::finish() {
  if (quiet_ || !tty_)
    return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

progress_line progress;

// -- machine ----------------------------------------------------------------------------

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

std::size_t workers(const config& c) {
  return c.threads > 0 ? c.threads : jobrt::runtime::default_worker_threads();
}


double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

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

std::int64_t wait_for(jobrt::runtime& rt, const std::function<bool(const jobrt::runtime_stats&)>& done,
                      const std::function<std::string(const jobrt::runtime_stats&)>& show,
                      std::chrono::seconds timeout, std::chrono::microseconds interval) {
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

// -- the no-op drain run ------------------------------------------------------------------

/// Store commits per job so far: what a run's jobs cost in transactions (with
/// `durable`, in fsyncs).
double commits_per_job(jobrt::runtime& rt, std::size_t n) {
  return static_cast<double>(stats_of(rt).commits) / static_cast<double>(std::max<std::size_t>(n, 1));
}

drain_result run_noop(const config& c, const std::string& policy, store_mode mode, std::size_t n,
                      std::size_t cap, std::size_t submitters, bool subscribe,
                      bool measure_record, std::size_t bulk_chunk) {
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
    out.commits_per_job = commits_per_job(*rt, n);
    out.drain_rate = static_cast<double>(n) / (static_cast<double>(end - s.t0) / 1e9);
    sub.cancel();
    rt->shutdown();
  }
  if (measure_record && mode != store_mode::memory)
    out.record_bytes = lmdb_avg_value_bytes(dir, "jobs");
  fs::remove_all(dir);
  return out;
}

// -- a host actor system ------------------------------------------------------------------

host_system::host_system(const std::string& policy, std::size_t threads,
                         std::size_t max_throughput) {
  if (threads > 0)
    cfg.set("scheduler.max-threads", threads);
  cfg.set("scheduler.policy", caf::atom_from_string(policy));
  cfg.set("scheduler.max-throughput", max_throughput);
  sys = std::make_unique<caf::actor_system>(cfg);
}

// -- submits from completion handlers ------------------------------------------------------

async_load run_async_submits(const config& c, store_mode mode, std::size_t conc, std::size_t n) {
  auto dir = scratch(c, "http-inproc");
  async_load out;
  {
    // Everything the handlers touch is declared before the runtime, which goes first.
    std::mutex mtx;
    std::condition_variable cv;
    std::size_t answered = 0;
    std::int64_t t_last = 0;
    std::string error;
    std::atomic<std::size_t> issued{0};
    std::vector<std::vector<double>> us(conc); // one per chain: written by one handler at a time
    const auto params = empty_params();
    const jobrt::submit_options opts;
    std::function<void(std::size_t)> issue;
    auto rt = start_rt(c, dir, mode, c.cap, policy_for(c, "", mode));
    issue = [&](std::size_t chain) {
      if (issued.fetch_add(1) >= n)
        return;
      auto sent = now_ns();
      auto done = [&, chain, sent](jobrt::result<jobrt::submitted> r) {
        auto t = now_ns();
        us[chain].push_back(static_cast<double>(t - sent) / 1e3);
        bool go_on = false;
        {
          std::lock_guard g{mtx};
          if (!r && error.empty())
            error = r.error().message;
          if (++answered == n)
            t_last = t;
          go_on = error.empty();
          if (answered == n || !go_on)
            cv.notify_all();
        }
        if (go_on)
          issue(chain);
      };
      rt->submit_async(noop_type, params, opts, std::move(done));
    };
    auto t0 = now_ns();
    for (std::size_t i = 0; i < conc; ++i)
      issue(i);
    {
      std::unique_lock lock{mtx};
      if (!cv.wait_for(lock, std::chrono::seconds{600},
                       [&] { return answered >= n || !error.empty(); }))
        error = "timed out after " + std::to_string(answered) + " answers";
    }
    std::int64_t drained = 0;
    if (error.empty())
      drained = wait_for(*rt, [n](const jobrt::runtime_stats& st) { return st.completed >= n; },
                         [n](const jobrt::runtime_stats& st) {
                           return "completed " + std::to_string(st.completed) + "/"
                                  + std::to_string(n);
                         });
    if (error.empty())
      out.commits_per_job = commits_per_job(*rt, n);
    rt->shutdown(); // answers what is still in flight, before the locals go
    if (!error.empty())
      throw std::runtime_error("in-process submit_async: " + error);
    for (auto& v : us)
      out.us.insert(out.us.end(), v.begin(), v.end());
    auto rate = [&](std::int64_t end) {
      return static_cast<double>(n) / (static_cast<double>(std::max<std::int64_t>(end - t0, 1)) / 1e9);
    };
    out.rate = rate(t_last);
    out.drain_rate = rate(drained);
  }
  fs::remove_all(dir);
  return out;
}

} // namespace bench
