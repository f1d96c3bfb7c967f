// jobrt-bench scenario 10: N recurring schedules due in the same minute, fired by one
// advance of a manual clock, against a submit_many of the same N no-op jobs.

#include "scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "bench.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

#include "jobrt/clock.hpp"
#include "jobrt/schedule.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace bench {

namespace {

/// Every schedule ticks at the start of each minute: all N are due at the same tick.
constexpr const char* every_minute = "* * * * *";
/// schedule_async calls in flight while the schedules are created.
constexpr std::size_t create_window = 64;

struct schedules_run {
  double create_s = 0;        ///< creating the N schedules (all durable)
  double create_commits = 0;  ///< store commits while creating, per schedule
  double list_ms = 0;         ///< list_schedules() with N schedules, the fastest of 3
  double fired_s = 0;         ///< advance() to every tick's job committed (schedule_ticks_fired)
  double done_s = 0;          ///< advance() to every tick's job completed
  double fire_commits = 0;    ///< store commits from advance() to the end, per tick
  std::uint64_t skipped = 0;  ///< ticks that submitted nothing (expected: 0)
};

std::string schedule_name(std::size_t i) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "bench-sched-%06zu", i);
  return buf;
}

schedules_run run_schedules(const config& c, const std::string& policy, store_mode m,
                            std::size_t n) {
  auto dir = scratch(c, "schedules");
  schedules_run out;
  {
    auto clock = std::make_shared<jobrt::manual_clock>();
    jobrt::runtime_options o;
    set_store(o, m, dir);
    o.max_running = c.cap;
    o.worker_threads = c.threads;
    o.scheduler_policy = policy;
    o.clock = clock;
    auto started = jobrt::runtime::start(o);
    if (!started)
      throw std::runtime_error("runtime::start: " + started.error().message);
    auto rt = std::move(*started);

    // Create: schedule_async, `create_window` in flight, each answer once durable.
    std::mutex mtx;
    std::condition_variable cv;
    std::size_t in_flight = 0, answered = 0;
    std::string err;
    jobrt::millis next_tick = 0;
    auto params = empty_params();
    auto commits0 = stats_of(*rt).commits;
    auto t0 = now_ns();
    for (std::size_t i = 0; i < n; ++i) {
      {
        std::unique_lock lock{mtx};
        cv.wait(lock, [&] { return in_flight < create_window; });
        if (!err.empty())
          break;
        ++in_flight;
      }
      rt->schedule_async(schedule_name(i), every_minute, noop_type, params, {},
                         [&](jobrt::result<jobrt::schedule_info> r) {
                           std::lock_guard g{mtx};
                           --in_flight;
                           ++answered;
                           if (!r)
                             err = r.error().message;
                           else if (next_tick == 0)
                             next_tick = r->next_tick;
                           else if (r->next_tick != next_tick)
                             err = "schedules due at different ticks";
                           cv.notify_all();
                         });
      if ((i & 1023) == 0)
        progress.update("created " + std::to_string(i) + "/" + std::to_string(n));
    }
    {
      std::unique_lock lock{mtx};
      if (!cv.wait_for(lock, 600s, [&] { return in_flight == 0; }))
        throw std::runtime_error("timed out creating the schedules");
    }
    out.create_s = static_cast<double>(now_ns() - t0) / 1e9;
    if (!err.empty())
      throw std::runtime_error("schedule: " + err);
    auto st = stats_of(*rt);
    out.create_commits =
      static_cast<double>(st.commits - commits0) / static_cast<double>(std::max<std::size_t>(n, 1));
    if (st.schedules != n)
      throw std::runtime_error("stats() shows " + std::to_string(st.schedules) + " schedules, not "
                               + std::to_string(n));

    // list_schedules() with N schedules: the fastest of three.
    out.list_ms = 1e300;
    for (int k = 0; k < 3; ++k) {
      auto l0 = now_ns();
      auto all = rt->list_schedules();
      auto l1 = now_ns();
      if (!all)
        throw std::runtime_error("list_schedules: " + all.error().message);
      if (all->size() != n)
        throw std::runtime_error("list_schedules() gave " + std::to_string(all->size())
                                 + " schedules, not " + std::to_string(n));
      out.list_ms = std::min(out.list_ms, static_cast<double>(l1 - l0) / 1e6);
    }

    // Fire: one advance to the common tick; the end is the N-th completion.
    if (next_tick <= clock->now())
      throw std::runtime_error("the schedules' next tick is not in the future");
    auto commits1 = stats_of(*rt).commits;
    std::int64_t fired_at = 0;
    auto a0 = now_ns();
    clock->advance(next_tick - clock->now());
    auto done_at = wait_for(*rt, [&](const jobrt::runtime_stats& s) {
      if (fired_at == 0 && s.schedule_ticks_fired >= n)
        fired_at = now_ns();
      return s.completed >= n;
    }, [n](const jobrt::runtime_stats& s) {
      return "ticks fired " + std::to_string(s.schedule_ticks_fired) + ", completed "
             + std::to_string(s.completed) + "/" + std::to_string(n);
    });
    auto end = stats_of(*rt);
    if (fired_at == 0)
      fired_at = done_at;
    out.fired_s = static_cast<double>(fired_at - a0) / 1e9;
    out.done_s = static_cast<double>(done_at - a0) / 1e9;
    out.fire_commits =
      static_cast<double>(end.commits - commits1) / static_cast<double>(std::max<std::size_t>(n, 1));
    out.skipped = end.schedule_ticks_skipped;
    if (end.schedule_ticks_fired != n)
      throw std::runtime_error(std::to_string(end.schedule_ticks_fired) + " ticks fired, not "
                               + std::to_string(n));
    rt->shutdown();
  }
  fs::remove_all(dir);
  return out;
}

} // namespace

void scenario_schedules(const config& c, const std::string& asked) {
  const std::string sc = "10 schedules";
  auto n = c.n.value_or(c.sz.schedule_n);
  for (auto sm : {store_mode::memory, store_mode::durable}) {
    const auto policy = policy_for(c, asked, sm);
    const auto mode = name_of(sm);
    const auto lbl = sc + " [" + policy + ", " + mode + "]";
    auto measured = runs_between_baselines<schedules_run>(
      c, policy, sm, n, lbl, "creating, listing and firing " + std::to_string(n) + " schedules",
      [&] { return run_schedules(c, policy, sm, n); });
    auto& bases = measured.first;
    auto& runs = measured.second;
    auto base = median_of(bases);
    std::sort(runs.begin(), runs.end(),
              [](const schedules_run& a, const schedules_run& b) { return a.done_s < b.done_s; });
    const auto run = runs[runs.size() / 2]; // the median by the time to all completed
    auto each = [&](auto f) {
      std::string s;
      for (const auto& r : runs)
        s += (s.empty() ? "" : ", ") + fmt(f(r));
      return s;
    };
    auto nd = static_cast<double>(n);
    std::string base_list;
    for (auto b : bases)
      base_list += (base_list.empty() ? "" : ", ") + fmt(b);
    auto tag = " (" + mode + ", N=" + std::to_string(n) + ")";
    const std::string base_name = "submit_many drain of N no-op jobs";
    const std::string base_note = "baseline: N bench.noop jobs in one submit_many call on a fresh "
                                  "runtime of the same store, first submit to last completion; "
                                  "the median of " + std::to_string(bases.size()) + " runs ("
                                  + base_list + " jobs/s), before, between and after the "
                                  "schedules' runs";
    add({sc, policy, "fire N due schedules, ticks/s: advance to all completed" + tag,
         nd / run.done_s, "jobs/s", {}, base, base_name, nan_v, ">= 0.5x submit_many drain",
         pass(nd / run.done_s >= 0.5 * base),
         "'" + std::string{every_minute} + "' schedules of bench.noop on a manual clock, one "
           "advance() to their common tick; the median of " + std::to_string(runs.size())
           + " runs (" + each([&](const schedules_run& r) { return nd / r.done_s; })
           + " ticks/s); in it " + fmt(run.done_s * 1e3, 1) + " ms in all, every "
           "tick's job committed after " + fmt(run.fired_s * 1e3, 1) + " ms; "
           + fmt(run.fire_commits, 3) + " store commits per tick; "
           + std::to_string(run.skipped) + " ticks skipped; " + base_note});
    add({sc, policy, "fire N due schedules, ticks/s: advance to all ticks committed" + tag,
         nd / run.fired_s, "jobs/s", {}, base, base_name, nan_v, {}, {},
         "in the same run: until stats().schedule_ticks_fired reached N (every tick's job and "
         "its schedule's last_tick written)"});
    std::sort(runs.begin(), runs.end(),
              [](const schedules_run& a, const schedules_run& b) { return a.create_s < b.create_s; });
    const auto mid_create = runs[runs.size() / 2];
    add({sc, policy, "create N schedules (schedule_async, " + std::to_string(create_window)
                       + " in flight)" + tag,
         nd / mid_create.create_s, "schedules/s", {}, nan_v, {}, nan_v, {}, {},
         "the median of " + std::to_string(runs.size()) + " runs ("
           + each([&](const schedules_run& r) { return nd / r.create_s; }) + " schedules/s); "
           + fmt(mid_create.create_s * 1e3, 1) + " ms in all, "
           + fmt(mid_create.create_commits, 3)
           + " store commits per schedule; each answer once the schedule is durable"});
    add({sc, policy, "list_schedules() with N schedules" + tag, run.list_ms, "ms", {}, nan_v, {},
         nan_v, {}, {},
         fmt(run.list_ms * 1e3 / nd, 2) + " us per schedule; the fastest of 3 calls, in the "
         "median run"});
  }
}

} // namespace bench
