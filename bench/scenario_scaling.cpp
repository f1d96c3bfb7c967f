// jobrt-bench scenario 7: drain rates by N and by max_running, for each policy.

#include "scenarios.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "bench.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

namespace bench {

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

} // namespace bench
