// jobrt-bench scenario 3: jobs of K steps with a checkpoint after each.

#include "scenarios.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

#include <boost/json.hpp>

#include "bench.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

namespace fs = std::filesystem;

namespace bench {

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

} // namespace bench
