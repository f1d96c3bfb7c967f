// jobrt-bench scenario 11: one parent job spawns K children in one step, waits for them
// without a slot and sums their outputs (fan-out/fan-in), against a submit_many drain
// of K no-op jobs. Its two job types live here, with the only code that uses flows.

#include "scenarios.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include "bench.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

#include "jobrt/job.hpp"
#include "jobrt/registry.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace bench {

namespace {

constexpr const char* fanout_type = "bench.fanout";
constexpr const char* unit_type = "bench.unit";

/// Steady-clock ns of what the parent and its children did, for the split.
struct fanout_marks {
  std::atomic<std::int64_t> spawn_begin{0}, spawn_end{0};   ///< the parent's first step
  std::atomic<std::int64_t> first_child{0}, last_child{0};  ///< children's steps
  std::atomic<std::int64_t> children_run{0};
  std::atomic<std::int64_t> fanin_begin{0}, fanin_read{0}, fanin_end{0}; ///< its second run
  std::atomic<std::int64_t> runs{0};
  void reset() {
    for (auto* a : {&spawn_begin, &spawn_end, &first_child, &last_child, &children_run,
                    &fanin_begin, &fanin_read, &fanin_end, &runs})
      *a = 0;
  }
};
fanout_marks marks;

struct fanout_params {
  std::int64_t k = 1;
};
BOOST_DESCRIBE_STRUCT(fanout_params, (), (k))

/// A no-op child: completes in its first step with the output 1.
struct unit_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = unit_type;
  static constexpr const char* description = "Completes in its first step with the output 1";
  void step(jobrt::context& ctx) override {
    auto t = now_ns();
    std::int64_t none = 0;
    marks.first_child.compare_exchange_strong(none, t);
    auto last = marks.last_child.load();
    while (last < t && !marks.last_child.compare_exchange_weak(last, t)) {
    }
    ++marks.children_run;
    noop_work();
    ctx.complete(1);
  }
};
JOBRT_REGISTER_JOB(unit_job);

/// Spawns k bench.unit children in its first step, checkpoints and waits for them;
/// run again, it completes with the sum of their outputs.
struct fanout_job : jobrt::job<fanout_params> {
  static constexpr const char* name = fanout_type;
  static constexpr const char* description =
    "Spawns k children, waits for them, and completes with the sum of their outputs";
  void step(jobrt::context& ctx) override {
    ++marks.runs;
    if (!ctx.child_ids().empty()) {
      marks.fanin_begin = now_ns();
      auto kids = ctx.children();
      marks.fanin_read = now_ns();
      if (!kids)
        return ctx.fail("children: " + kids.error().message);
      std::int64_t sum = 0, completed = 0;
      for (const auto& r : *kids) {
        if (r.status == jobrt::job_status::completed)
          ++completed;
        if (r.output.is_int64())
          sum += r.output.get_int64();
      }
      marks.fanin_end = now_ns();
      return ctx.complete(boost::json::object{{"sum", sum},
                                              {"children", static_cast<std::int64_t>(kids->size())},
                                              {"completed", completed}});
    }
    marks.spawn_begin = now_ns();
    boost::json::value none = boost::json::object{};
    for (std::int64_t i = 0; i < params().k; ++i)
      if (auto id = ctx.spawn_child(unit_type, none); !id)
        return ctx.fail("spawn_child: " + id.error().message);
    marks.spawn_end = now_ns();
    ctx.checkpoint();
    ctx.wait_for_children();
  }
};
JOBRT_REGISTER_JOB(fanout_job);

struct fanout_run {
  double total_s = 0;      ///< submit of the parent to its final record (wait returns)
  double submit_s = 0;     ///< the parent's submit call
  double spawn_s = 0;      ///< the K spawn_child calls in the parent's step
  double committed_s = 0;  ///< submit to the first child's step (the children are written)
  double drain_s = 0;      ///< first child's step to the last child's step
  double wake_s = 0;       ///< last child's step to the parent's second run
  double read_s = 0;       ///< children() in the second run
  double sum_s = 0;        ///< summing the outputs
  double finish_s = 0;     ///< end of the fan-in step to wait() returning
  std::int64_t runs = 0;
};

fanout_run run_fanout(const config& c, const std::string& policy, store_mode m, std::size_t k) {
  auto dir = scratch(c, "fanout");
  fanout_run out;
  {
    auto rt = start_rt(c, dir, m, c.cap, policy);
    marks.reset();
    auto t0 = now_ns();
    auto id = rt->submit(fanout_type, boost::json::object{{"k", static_cast<std::int64_t>(k)}});
    auto t_sub = now_ns();
    if (!id)
      throw std::runtime_error("submit: " + id.error().message);
    auto fin = rt->wait(*id, 600s);
    auto t1 = now_ns();
    if (!fin)
      throw std::runtime_error("wait: " + fin.error().message);
    if (fin->status != jobrt::job_status::completed)
      throw std::runtime_error(std::string{"the parent ended "} + to_string(fin->status) + ": "
                               + fin->error);
    const auto& o = fin->output;
    auto field = [&](const char* f) -> std::int64_t {
      auto* v = o.is_object() ? o.as_object().if_contains(f) : nullptr;
      return v != nullptr && v->is_int64() ? v->get_int64() : -1;
    };
    auto kk = static_cast<std::int64_t>(k);
    if (field("sum") != kk || field("children") != kk || field("completed") != kk)
      throw std::runtime_error("the parent's output is " + boost::json::serialize(o)
                               + ", expected a sum of " + std::to_string(k));
    auto s = [](std::int64_t a, std::int64_t b) { return static_cast<double>(b - a) / 1e9; };
    out.total_s = s(t0, t1);
    out.submit_s = s(t0, t_sub);
    out.spawn_s = s(marks.spawn_begin, marks.spawn_end);
    out.committed_s = s(t0, marks.first_child);
    out.drain_s = s(marks.first_child, marks.last_child);
    out.wake_s = s(marks.last_child, marks.fanin_begin);
    out.read_s = s(marks.fanin_begin, marks.fanin_read);
    out.sum_s = s(marks.fanin_read, marks.fanin_end);
    out.finish_s = s(marks.fanin_end, t1);
    out.runs = marks.runs;
    if (marks.children_run.load() != kk)
      throw std::runtime_error(std::to_string(marks.children_run.load()) + " children ran, not "
                               + std::to_string(k));
    rt->shutdown();
  }
  fs::remove_all(dir);
  return out;
}

} // namespace

void scenario_fanout(const config& c, const std::string& asked) {
  const std::string sc = "11 fanout";
  auto k = c.n.value_or(c.sz.fanout_k);
  for (auto sm : {store_mode::memory, store_mode::durable}) {
    const auto policy = policy_for(c, asked, sm);
    const auto mode = name_of(sm);
    const auto lbl = sc + " [" + policy + ", " + mode + "]";
    auto measured = runs_between_baselines<fanout_run>(
      c, policy, sm, k, lbl, "one parent, " + std::to_string(k) + " children",
      [&] { return run_fanout(c, policy, sm, k); });
    auto& bases = measured.first;
    auto& runs = measured.second;
    auto base = median_of(bases);
    std::sort(runs.begin(), runs.end(),
              [](const fanout_run& a, const fanout_run& b) { return a.total_s < b.total_s; });
    const auto run = runs[runs.size() / 2]; // the median by the whole time
    std::string base_list, run_list;
    for (auto b : bases)
      base_list += (base_list.empty() ? "" : ", ") + fmt(b);
    auto kd = static_cast<double>(k);
    for (const auto& r : runs)
      run_list += (run_list.empty() ? "" : ", ") + fmt(kd / r.total_s);
    auto tag = " (" + mode + ", K=" + std::to_string(k) + ")";
    auto ms = [](double s) { return fmt(s * 1e3, 1) + " ms"; };
    add({sc, policy, "fan-out/fan-in of K children: submit to parent completed" + tag,
         kd / run.total_s, "jobs/s", {}, base, "submit_many drain of K no-op jobs", nan_v,
         ">= 0.5x submit_many drain", pass(kd / run.total_s >= 0.5 * base),
         "one bench.fanout job spawns K bench.unit children (spawn_child) in one step, "
         "checkpoints and calls wait_for_children(); run again, it reads children() and "
         "completes with the sum of their outputs (checked: K); K over the time from its "
         "submit to wait() returning its final record; the median of "
         + std::to_string(runs.size()) + " runs (" + run_list + " jobs/s); in it "
         + ms(run.total_s) + ", and the parent ran " + std::to_string(run.runs)
         + " times; baseline: K bench.noop jobs in one submit_many call on a fresh runtime of "
         "the same store, first submit to last completion; the median of "
         + std::to_string(bases.size()) + " runs (" + base_list + " jobs/s), before, between "
         "and after the fan-outs"});
    auto split = [&](const std::string& what, double s, const std::string& note) {
      add({sc, policy, "split: " + what + tag, s * 1e3, "ms", {}, nan_v, {}, nan_v, {}, {},
           note + " (in the median run)"});
    };
    split("spawn + commit (submit to the first child's step)", run.committed_s,
          "the parent's submit call " + ms(run.submit_s) + "; the K spawn_child calls in its step "
            + ms(run.spawn_s) + "; then the checkpoint with the K children is committed and "
            "they are queued");
    split("children drain (first child's step to the last's)", run.drain_s,
          fmt(kd / std::max(run.drain_s, 1e-9)) + " children/s");
    split("last child's step to the parent's second run", run.wake_s,
          "the last children's completions written, the parent queued again and started");
    split("fan-in read (children() with K records)", run.read_s,
          "summing their outputs " + ms(run.sum_s) + "; then the parent's completion to wait() "
            "returning " + ms(run.finish_s));
  }
}

} // namespace bench
