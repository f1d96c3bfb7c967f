// jobrt-bench scenario 5: restart with N unfinished jobs.

#include "scenarios.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "bench.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace bench {

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

} // namespace bench
