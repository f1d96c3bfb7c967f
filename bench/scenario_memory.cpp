// jobrt-bench scenario 6 (memory per queued, running and paused job) and the soak.

#include "scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace bench {

namespace {

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

/// The growth per job while held, and again once all are paused.
struct held_growth {
  growth held, paused;
};

/// `n` bench.hold jobs, submitted after one that warms a runtime of its own up:
/// queued behind it (max_running 1) or, if `running`, all running. Then all paused.
held_growth hold_then_pause(const config& c, const std::string& policy, const std::string& lbl,
                            std::size_t n, bool running) {
  const std::string what = running ? "running" : "queued";
  progress.begin(lbl + what);
  auto dir = scratch(c, "memory");
  auto rt = start_rt(c, dir, store_mode::lmdb, running ? n + 1 : 1, policy);
  submit_many(*rt, hold_type, empty_params(), 1, 1);
  wait_for(*rt, [](const jobrt::runtime_stats& st) { return st.running == 1; },
           [](const jobrt::runtime_stats&) { return std::string{"warming up"}; });
  settle_memory();
  auto r0 = read_rss();
  auto s = submit_many(*rt, hold_type, empty_params(), n, 1);
  if (running)
    wait_for(*rt, [n](const jobrt::runtime_stats& st) { return st.running == n + 1; },
             [n](const jobrt::runtime_stats& st) {
               return "running " + std::to_string(st.running) + "/" + std::to_string(n + 1);
             });
  settle_memory();
  held_growth out;
  out.held = per_job(r0, read_rss(), n);
  progress.begin(lbl + what + " -> paused");
  for_all(s.ids, 1, [&](jobrt::job_id id) { return rt->pause(id); }, "pause");
  settle_memory();
  out.paused = per_job(r0, read_rss(), n);
  rt->shutdown();
  rt.reset();
  fs::remove_all(dir);
  return out;
}

} // namespace

void scenario_memory(const config& c, const std::string& asked) {
  // On LMDB without fsync, like all its runs.
  const auto policy = policy_for(c, asked, store_mode::lmdb);
  const std::string sc = "6 memory";
  auto n = c.n.value_or(c.sz.memory_n);
  auto tag = " (N=" + std::to_string(n) + ")";
  auto lbl = sc + " [" + policy + "] ";
  auto [queued, queued_paused] = hold_then_pause(c, policy, lbl, n, false);
  auto [running, running_paused] = hold_then_pause(c, policy, lbl, n, true);
  progress.begin(lbl + "bare CAF actor baseline");
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

} // namespace bench
