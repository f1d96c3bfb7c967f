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
  auto a16 = run_async_submits(c, store_mode::memory, 16, n);
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
       ">= 0.8x bare CAF", pass(r16.drain_rate >= 0.8 * caf),
       "16 threads, each asleep until its submit is answered: a wake-up per job"});
  add({sc, policy, "drain, 16 in flight from one thread (submit_async)", a16.drain_rate, "jobs/s",
       {}, caf, "bare CAF", nan_v, {}, {},
       "each answer, on a runtime thread, submits the next: no thread to wake per submit"});
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
  // The record size first (a small bulk run), so that every baseline can take half
  // its work before its jobrt run and half after: fsync times on a shared disk drift
  // by 2x within seconds, and a baseline taken at one moment only drifts with them.
  progress.begin(sc + " [" + policy + "] record size");
  auto probe = run_noop(c, policy, store_mode::durable, 100, c.cap, 1, false, true, 100);
  auto rec = static_cast<std::size_t>(probe.record_bytes > 0 ? probe.record_bytes : 200.0);
  const auto raw = scratch(c, "raw");
  auto half = [](std::size_t k) { return std::max<std::size_t>(k / 2, 1); };
  // Equal work in both halves: the pooled rate is their harmonic mean.
  auto pooled = [](double a, double b) { return 2.0 / (1.0 / a + 1.0 / b); };

  progress.begin(sc + " [" + policy + "] 1 submitter");
  auto lmdb1_a = baseline_lmdb_write(raw, half(n1), rec, 1, true);
  auto r1 = run_noop(c, policy, store_mode::durable, n1, c.cap, 1, false);
  auto lmdb1 = pooled(lmdb1_a, baseline_lmdb_write(raw, half(n1), rec, 1, true));

  // The ideal group commit of 16: what 16 submitters, one submit in flight each,
  // could get from a store that commits everything pending at once.
  progress.begin(sc + " [" + policy + "] 16 submitters");
  auto ideal16_a = baseline_lmdb_write(raw, half(n), rec, 16, true);
  auto r16 = run_noop(c, policy, store_mode::durable, n, c.cap, 16, false);
  auto a16 = run_async_submits(c, store_mode::durable, 16, n);
  auto ideal16 = pooled(ideal16_a, baseline_lmdb_write(raw, half(n), rec, 16, true));
  auto group16 = baseline_lmdb_group_commit(raw, half(n), rec, 16, true);

  progress.begin(sc + " [" + policy + "] bulk submit");
  auto two_a = baseline_lmdb_two_puts(raw, n, rec, c.lmdb_batch, true);
  auto rb = run_noop(c, policy, store_mode::durable, n, c.cap, 1, false, false, 1000);
  auto two_puts = pooled(two_a, baseline_lmdb_two_puts(raw, n, rec, c.lmdb_batch, true));
  progress.finish();
  // What the runtime's own counter says each way cost, in fsynced commits.
  auto fsyncs = [](double per_job) { return fmt(per_job, 3) + " fsynced commits per job"; };
  const std::string one_put = "raw LMDB, 1 put/fsynced commit";
  const std::string ideal_name = "raw LMDB, ideal group commit of 16 (16 puts/fsynced commit)";
  const auto batched =
    "raw LMDB, 2 puts/job, " + std::to_string(c.lmdb_batch) + " jobs/fsynced commit";
  const auto rec_note = "raw LMDB values of " + fmt(static_cast<double>(rec))
                        + " bytes, the measured average of our stored records; each raw "
                          "baseline pools half its work before the jobrt run and half after";
  add({sc, policy, "submit rate, 1 submitter (N=" + std::to_string(n1) + ")", r1.submit_rate,
       "jobs/s", {}, lmdb1, one_put, nan_v, {}, {}, {}});
  add({sc, policy, "drain, 1 submitter", r1.drain_rate, "jobs/s", {}, lmdb1, one_put, nan_v,
       ">= 0.9x raw LMDB 1 put/commit", pass(r1.drain_rate >= 0.9 * lmdb1),
       "each submit waits for its own fsynced commit; " + fsyncs(r1.commits_per_job) + "; "
         + rec_note});
  add({sc, policy, "submit rate, 16 submitters" + tag, r16.submit_rate, "jobs/s", {}, ideal16,
       ideal_name, nan_v, {}, {}, {}});
  add({sc, policy, "drain, 16 submitters", r16.drain_rate, "jobs/s", {}, ideal16, ideal_name, nan_v,
       ">= 0.8x ideal group commit of 16", pass(r16.drain_rate >= 0.8 * ideal16),
       "the ideal: one thread, 16 puts per transaction; jobrt also writes each job's completion; "
         + fsyncs(r16.commits_per_job)});
  add({sc, policy, "drain, 16 in flight from one thread (submit_async)", a16.drain_rate, "jobs/s",
       {}, ideal16, ideal_name, nan_v, {}, {},
       "each answer, on a runtime thread, submits the next: what a service on an event loop "
       "does, without a thread to wake per submit; " + fsyncs(a16.commits_per_job)});
  add({sc, policy, "raw LMDB group commit, 16 writer threads", group16, "jobs/s", {}, ideal16,
       ideal_name, nan_v, {}, {},
       "16 threads hand one put each to a committer thread that commits all pending puts in one "
       "fsynced transaction: what a real group commit of 16 costs in thread wake-ups"});
  add({sc, policy, "submit rate, bulk submit (1000/call)", rb.submit_rate, "jobs/s", {}, two_puts,
       batched, nan_v, {}, {}, "runtime::submit_many: one transaction per call"});
  add({sc, policy, "drain, bulk submit (1000/call)", rb.drain_rate, "jobs/s", {}, two_puts, batched,
       nan_v, ">= 0.5x raw LMDB 2 puts/job batched", pass(rb.drain_rate >= 0.5 * two_puts),
       "raw LMDB: each commit inserts the submit records of one batch and overwrites the batch "
       "before it with the completion records; " + fsyncs(rb.commits_per_job)});
}

} // namespace bench
