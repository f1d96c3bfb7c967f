// Baselines measured in the same run as the jobrt scenarios: a plain thread
// pool and a bare CAF 0.17.6 program (raw LMDB: baselines_lmdb.cpp). None of
// this uses jobrt.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <malloc.h>
#include <unistd.h>

#include "caf/all.hpp"

#include "bench.hpp"

namespace bench {

using bl_promise = std::shared_ptr<std::promise<int>>;

} // namespace bench

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bench::bl_promise)

namespace bench {

namespace {

using step_atom = caf::atom_constant<caf::atom("bl_step")>;
using ping_atom = caf::atom_constant<caf::atom("bl_ping")>;

void configure(caf::actor_system_config& cfg, const std::string& policy, std::size_t threads) {
  if (threads > 0)
    cfg.set("scheduler.max-threads", threads);
  cfg.set("scheduler.policy", caf::atom_from_string(policy));
}

} // namespace

__attribute__((noinline)) void noop_work() {
  asm volatile("" ::: "memory");
}

rss read_rss() {
  std::ifstream f{"/proc/self/statm"};
  long size = 0, resident = 0, shared = 0;
  f >> size >> resident >> shared;
  auto page = sysconf(_SC_PAGESIZE);
  auto mi = mallinfo2();
  return rss{resident * page, (resident - shared) * page,
             static_cast<std::int64_t>(mi.uordblks + mi.hblkhd)};
}

latency summarize(std::vector<double> us) {
  latency l;
  l.n = us.size();
  if (us.empty())
    return l;
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (auto x : us)
    sum += x;
  l.mean_us = sum / static_cast<double>(us.size());
  auto at = [&](double q) {
    auto idx = static_cast<std::size_t>(q * static_cast<double>(us.size() - 1) + 0.5);
    return us[std::min(idx, us.size() - 1)];
  };
  l.p50_us = at(0.50);
  l.p99_us = at(0.99);
  l.max_us = us.back();
  return l;
}

// -- (a) thread pool ----------------------------------------------------------------

double baseline_thread_pool(std::size_t n, std::size_t threads) {
  struct task {
    std::uint64_t id;
  };
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<task> queue;
  bool closing = false;
  std::atomic<std::size_t> done{0};
  std::atomic<std::int64_t> last_ns{0};
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < std::max<std::size_t>(threads, 1); ++t)
    pool.emplace_back([&] {
      for (;;) {
        std::unique_lock lock{mtx};
        cv.wait(lock, [&] { return closing || !queue.empty(); });
        if (queue.empty())
          return;
        queue.pop_front();
        lock.unlock();
        noop_work();
        if (done.fetch_add(1) + 1 == n)
          last_ns = now_ns();
      }
    });
  auto t0 = now_ns();
  for (std::size_t i = 0; i < n; ++i) {
    {
      std::lock_guard lock{mtx};
      queue.push_back(task{i});
    }
    cv.notify_one();
  }
  {
    std::lock_guard lock{mtx};
    closing = true;
  }
  cv.notify_all();
  for (auto& th : pool)
    th.join();
  return static_cast<double>(n) / (static_cast<double>(last_ns.load() - t0) / 1e9);
}

// -- (b) bare CAF ---------------------------------------------------------------------

namespace {

caf::behavior bl_worker(caf::event_based_actor* self) {
  self->send(self, step_atom::value);
  return {
    [=](step_atom) {
      noop_work();
      self->quit();
    },
  };
}

struct spawner_state {
  std::size_t n = 0, cap = 0, spawned = 0, alive = 0, done = 0;
  std::shared_ptr<std::promise<void>> finished;
};

void spawn_more(caf::stateful_actor<spawner_state>* self) {
  auto& st = self->state;
  while (st.alive < st.cap && st.spawned < st.n) {
    self->spawn<caf::monitored>(bl_worker);
    ++st.alive;
    ++st.spawned;
  }
}

caf::behavior bl_spawner(caf::stateful_actor<spawner_state>* self, std::size_t n,
                         std::size_t cap, std::shared_ptr<std::promise<void>> finished) {
  self->state.n = n;
  self->state.cap = cap;
  self->state.finished = std::move(finished);
  self->set_down_handler([=](caf::down_msg&) {
    auto& st = self->state;
    --st.alive;
    if (++st.done == st.n) {
      st.finished->set_value();
      self->quit();
      return;
    }
    spawn_more(self);
  });
  return {
    [=](step_atom) { spawn_more(self); },
  };
}

} // namespace

double baseline_caf(std::size_t n, std::size_t cap, const std::string& policy,
                    std::size_t threads) {
  caf::actor_system_config cfg;
  configure(cfg, policy, threads);
  caf::actor_system sys{cfg};
  auto finished = std::make_shared<std::promise<void>>();
  auto fut = finished->get_future();
  auto t0 = now_ns();
  auto sp = sys.spawn(bl_spawner, n, cap, finished);
  caf::anon_send(sp, step_atom::value);
  fut.wait();
  auto t1 = now_ns();
  return static_cast<double>(n) / (static_cast<double>(t1 - t0) / 1e9);
}

latency baseline_caf_roundtrip(std::size_t samples, std::size_t spinners,
                               const std::string& policy, std::size_t threads,
                               std::size_t max_throughput) {
  return summarize(caf_roundtrip_samples(samples, spinners, policy, threads, max_throughput));
}

std::vector<double> caf_roundtrip_samples(std::size_t samples, std::size_t spinners,
                                          const std::string& policy, std::size_t threads,
                                          std::size_t max_throughput) {
  caf::actor_system_config cfg;
  configure(cfg, policy, threads);
  cfg.set("scheduler.max-throughput", max_throughput);
  caf::actor_system sys{cfg};
  std::vector<caf::actor> spin;
  for (std::size_t i = 0; i < spinners; ++i) {
    spin.push_back(sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
      self->send(self, step_atom::value);
      return {[=](step_atom) {
        noop_work();
        self->send(self, step_atom::value);
      }};
    }));
  }
  auto echo = sys.spawn([]() -> caf::behavior {
    return {[](ping_atom, bl_promise& p) { p->set_value(1); }};
  });
  std::vector<double> us;
  us.reserve(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    auto p = std::make_shared<std::promise<int>>();
    auto fut = p->get_future();
    auto t0 = now_ns();
    caf::anon_send(echo, ping_atom::value, p);
    fut.wait();
    us.push_back(static_cast<double>(now_ns() - t0) / 1e3);
  }
  for (auto& a : spin)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return us;
}

double baseline_caf_actor_bytes(std::size_t n, const std::string& policy, std::size_t threads) {
  caf::actor_system_config cfg;
  configure(cfg, policy, threads);
  caf::actor_system sys{cfg};
  std::vector<caf::actor> keep;
  keep.reserve(n);
  // Warm up the allocator and the scheduler first.
  keep.push_back(sys.spawn([]() -> caf::behavior { return {[](ping_atom) {}}; }));
  auto before = read_rss();
  for (std::size_t i = 0; i < n; ++i)
    keep.push_back(sys.spawn([]() -> caf::behavior { return {[](ping_atom) {}}; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto after = read_rss();
  for (auto& a : keep)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  keep.clear();
  return static_cast<double>(std::max(after.anon - before.anon, after.heap - before.heap))
         / static_cast<double>(n);
}

} // namespace bench
