// jobrt-bench scenarios 1 and 2: no-op jobs, in memory and durable.

#include "scenarios.hpp"

#include <algorithm>
#include <string>
#include <thread>

#include "bench.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

namespace bench {

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

} // namespace bench
