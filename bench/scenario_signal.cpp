// jobrt-bench scenario 8: runtime::signal to a running job and to one that waits for one.

#include "scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "bench.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace bench {

namespace {

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

/// Runs `body` with a bench.waiter job of `k` signals that waits for its first one
/// (its waiting event seen), in a runtime of its own; `ev` counts its waiting events.
signal_run with_waiter(const config& c, const std::string& policy, store_mode m, std::size_t k,
                       const std::function<void(jobrt::runtime& rt, jobrt::job_id id,
                                                wait_events& ev, signal_run& out)>& body) {
  auto dir = scratch(c, "signal");
  signal_run out;
  {
    wait_events ev;
    auto rt = start_rt(c, dir, m, c.cap, policy);
    jobrt::event_filter f;
    f.progress = false;
    auto sub = rt->subscribe([&ev](const jobrt::job_event& e) { ev.on_event(e); }, f);
    waiter_steps = 0;
    auto id = submit_one(*rt, waiter_type, k);
    ev.await(1);
    body(*rt, id, ev, out);
    sub.cancel();
    rt->shutdown();
  }
  fs::remove_all(dir);
  return out;
}

/// N wakes of a bench.waiter job: each signal goes to a job that waits for one
/// (its waiting event seen), and the next is sent once it waits again.
signal_run run_signal_wake(const config& c, const std::string& policy, store_mode m,
                           std::size_t n) {
  // One more than it is sent: it is still waiting at the end, and is cancelled.
  return with_waiter(c, policy, m, n + 1, [n](jobrt::runtime& rt, jobrt::job_id id,
                                              wait_events& ev, signal_run& out) {
    auto t0 = now_ns();
    for (std::size_t i = 0; i < n; ++i) {
      auto steps = waiter_steps.load();
      auto sent = now_ns();
      out.call_us.push_back(timed_signal(rt, id, "wake", i));
      auto waiting_again = ev.await(i + 2);
      spin_until([&] { return waiter_steps.load() > steps; }, "the woken job's step");
      out.step_us.push_back(static_cast<double>(waiter_step_ns.load() - sent) / 1e3);
      out.cycle_us.push_back(static_cast<double>(waiting_again - sent) / 1e3);
      progress.update(std::to_string(i + 1) + "/" + std::to_string(n));
    }
    out.rate = static_cast<double>(n) / (static_cast<double>(now_ns() - t0) / 1e9);
    if (auto r = rt.cancel(id); !r)
      throw std::runtime_error("cancel: " + r.error().message);
  });
}

/// N signals back to back to a bench.waiter job that waits for one: most reach
/// it while it runs, some wake it. The end is its final record (or a stall).
signal_run run_signal_burst(const config& c, const std::string& policy, store_mode m,
                            std::size_t n, std::chrono::seconds patience) {
  return with_waiter(c, policy, m, n, [n, patience](jobrt::runtime& rt, jobrt::job_id id,
                                                    wait_events&, signal_run& out) {
    auto t0 = now_ns();
    for (std::size_t i = 0; i < n; ++i)
      out.call_us.push_back(timed_signal(rt, id, "wake", i));
    auto fin = rt.wait(id, patience);
    auto t1 = now_ns();
    out.steps = waiter_steps.load();
    if (!fin && fin.error().code != jobrt::errc::timeout)
      throw std::runtime_error("wait: " + fin.error().message);
    out.stalled = !fin;
    out.rate = static_cast<double>(n) / (static_cast<double>(t1 - t0) / 1e9);
    if (out.stalled) {
      if (auto rec = rt.get(id))
        out.stalled_as = std::string{to_string(rec->status)} + ", waiting_for '"
                         + rec->waiting_for + "'";
      (void)rt.cancel(id);
    }
  });
}

} // namespace

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
    auto rate_row = [&](const std::string& what, double rate, const std::string& note) {
      add({sc, policy, what, rate, "signals/s", {}, base_rate, base_name + "s, one at a time",
           nan_v, {}, {}, note});
    };
    auto tag = " (" + mode + ", N=" + std::to_string(n) + ")";
    rate_row("signal() to a running job: rate" + tag, run.rate,
             "one caller, synchronous; the job (bench.listen) is suspended and counts the signals "
             "in on_signal");
    lat_rows("signal() to a running job", run.call_us, true, {});
    add({sc, policy, "running job: first signal() to final record, per signal", run.per_signal_us,
         "us", {}, base.mean_us, base_name + ", mean", nan_v, {}, {},
         "the job completes in its N-th on_signal; the end is when wait() returns its final "
         "record"});
    auto wtag = " (" + mode + ", N=" + std::to_string(wakes) + ")";
    rate_row("waking a waiting job: wakes/s" + wtag, wake.rate,
             "each signal goes to a bench.waiter job that waits for one (its waiting event seen); "
             "it is queued, starts, takes it, checkpoints and waits again");
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

} // namespace bench
