// jobrt-bench scenario 4: pause/resume/cancel latency with jobs queued and running.

#include "scenarios.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "bench.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

namespace fs = std::filesystem;

namespace bench {

// -- 4. control latency under load --------------------------------------------------
void scenario_control(const config& c, const std::string& asked) {
  const std::string sc = "4 control";
  auto q = c.n.value_or(c.sz.control_queued);
  auto samples = std::max<std::size_t>(1, std::min(c.sz.control_samples, q / 4));
  auto running_samples = std::min<std::size_t>(samples, 100);
  auto budget_ns = static_cast<std::int64_t>(c.smoke ? 1e9 : (c.full ? 6e9 : 1.5e9));
  // Each running job takes k steps (tens of ms); 10k more wait behind them.
  const std::int64_t k = 20'000;
  for (bool durable : {false, true}) {
    auto sm = durable ? store_mode::durable : store_mode::memory;
    const auto policy = policy_for(c, asked, sm);
    for (bool fixed : {false, true}) {
      // The host-system comparison runs in memory (and in durable with --full).
      if (fixed && durable && !c.full)
        continue;
      auto mode = name_of(sm);
      auto variant = fixed ? std::string{"host actor system"} : std::string{"own actor system"};
      auto lbl = sc + " [" + policy + ", " + mode + ", " + variant + "]";
      progress.begin(lbl + " setup");
      auto dir = scratch(c, "control");
      std::vector<double> pause_us, resume_us, cancel_us, pause_run_us, stats_us;
      std::size_t refused = 0;
      {
        std::unique_ptr<host_system> host;
        std::unique_ptr<jobrt::runtime> rt;
        if (fixed) {
          host = std::make_unique<host_system>(policy, workers(c), fixed_max_throughput);
          jobrt::runtime_options o;
          set_store(o, sm, dir);
          o.max_running = c.cap;
          auto r = jobrt::runtime::start(*host->sys, o);
          if (!r)
            throw std::runtime_error("runtime::start: " + r.error().message);
          rt = std::move(*r);
        } else {
          rt = start_rt(c, dir, sm, c.cap, policy);
        }
        auto s = submit_many(*rt, steps_type, json::object{{"k", k}}, c.cap + q, 16);
        wait_for(*rt, [&](const jobrt::runtime_stats& st) { return st.running == c.cap; },
                 [](const jobrt::runtime_stats& st) {
                   return "running " + std::to_string(st.running) + ", queued "
                          + std::to_string(st.queued);
                 });
        progress.begin(lbl + " sampling");
        // Returns the call's microseconds, or a negative value if it was refused.
        auto timed = [](auto&& f) {
          auto t0 = now_ns();
          auto r = f();
          auto us = static_cast<double>(now_ns() - t0) / 1e3;
          if (!r) {
            if (r.error().code != jobrt::errc::illegal_transition)
              throw std::runtime_error("control call failed: " + r.error().message);
            return -us;
          }
          return us;
        };
        auto deadline = now_ns() + budget_ns;
        // Queued targets come from the back of the queue, so they do not start meanwhile.
        for (std::size_t i = 0; i < samples && now_ns() < deadline; ++i) {
          auto id = s.ids[s.ids.size() - 1 - 2 * i];
          auto other = s.ids[s.ids.size() - 2 - 2 * i];
          pause_us.push_back(timed([&] { return rt->pause(id); }));
          resume_us.push_back(timed([&] { return rt->resume(id); }));
          cancel_us.push_back(timed([&] { return rt->cancel(other); }));
          progress.update(std::to_string(i + 1) + "/" + std::to_string(samples));
        }
        // Running targets: one that list() shows running; if it finished before the
        // pause reached it, the pause is refused and not counted.
        deadline = now_ns() + budget_ns / 2;
        for (std::size_t i = 0; i < running_samples && now_ns() < deadline; ++i) {
          jobrt::list_query lq;
          lq.statuses = {jobrt::job_status::running};
          lq.limit = 1;
          auto page = rt->list(lq);
          if (!page || page->jobs.empty())
            continue;
          auto target = page->jobs.front().id;
          auto us = timed([&] { return rt->pause(target); });
          if (us < 0)
            ++refused;
          else
            pause_run_us.push_back(us);
        }
        for (std::size_t i = 0; i < 10; ++i) {
          auto t0 = now_ns();
          (void)stats_of(*rt);
          stats_us.push_back(static_cast<double>(now_ns() - t0) / 1e3);
        }
        progress.begin(lbl + " shutdown");
        rt->shutdown();
        rt.reset();
      }
      fs::remove_all(dir);
      // A queued target that started (and finished) meanwhile is refused: not a sample.
      std::size_t refused_q = 0;
      for (auto* v : {&pause_us, &resume_us, &cancel_us}) {
        auto keep = std::remove_if(v->begin(), v->end(), [](double x) { return x < 0; });
        refused_q += static_cast<std::size_t>(v->end() - keep);
        v->erase(keep, v->end());
      }
      progress.begin(lbl + " baseline");
      latency base = durable ? baseline_lmdb_commit_latency(scratch(c, "raw"), 100, 200, true)
                             : baseline_caf_roundtrip(500, c.cap, policy, workers(c),
                                                      fixed_max_throughput);
      auto base_name = durable ? std::string{"raw LMDB 1-put commit, fsync"}
                               : "bare CAF round trip, " + std::to_string(c.cap)
                                   + " spinners, max-throughput=" + std::to_string(fixed_max_throughput);
      progress.finish();
      double limit_us = durable ? 5000 : 1000;
      auto tgt = std::string{"p99 <= "} + (durable ? "5 ms" : "1 ms");
      auto tag = " (" + mode + ", " + variant + ")";
      auto lat_row = [&](const std::string& what, std::vector<double> v, bool judged,
                         std::string extra = {}) {
        auto l = summarize(std::move(v));
        bool judge = judged && !fixed;
        row r{sc, policy, what + " p99" + tag, l.p99_us, "us", {}, base.p99_us, base_name,
              l.p99_us / base.p99_us, judge ? tgt : "", judge ? pass(l.p99_us <= limit_us) : "",
              "p50 " + fmt(l.p50_us, 0) + " us, max " + fmt(l.max_us, 0) + " us, n="
                + std::to_string(l.n) + "; baseline p50 " + fmt(base.p50_us, 0) + " us" + extra};
        if (fixed && judged)
          r.note += "; runtime::start(sys, opts) in a host actor system with scheduler.max-throughput="
                    + std::to_string(fixed_max_throughput)
                    + ": the runtime does not renice a host's threads (worker_nice applies only to"
                      " its own system)";
        add(r);
      };
      lat_row("pause (queued job)", pause_us, true,
              "; load: " + std::to_string(c.cap) + " running bench.steps jobs of " + std::to_string(k)
                + " steps, " + std::to_string(q) + " queued"
                + (refused_q ? "; " + std::to_string(refused_q) + " calls refused (target had run)" : ""));
      lat_row("resume", resume_us, true);
      lat_row("cancel (queued job)", cancel_us, true);
      lat_row("pause (running job)", pause_run_us, true,
              refused ? "; " + std::to_string(refused) + " targets had already finished" : "");
      lat_row("stats()", stats_us, false);
    }
  }
}

} // namespace bench
