/// The child process of the flow crash loop: it runs a durable runtime on
/// DATA_DIR with the flows of flow_crash_job.hpp (fans of 5-50 children, some of
/// which fail by plan, and chains submitted after fans and chains with each
/// dependency-failure policy), topping the work up whenever fewer than 4 fans or
/// 5 chains are unfinished, and steering fans as a whole now and then (pause,
/// resume, cancel), until the parent kills it with SIGKILL. Finished jobs are
/// kept forever (no retention), so that every link can be checked. It reports on
/// stdout, one line per fact, each with a single write(2):
///   up                  the first top-up is submitted
///   spawning ID         fan ID starts to spawn its children (the commit follows)
///   child-started ID    the first child of fan ID started (the commit is durable,
///                       the fan's move to waiting may not be)
///   pausing ID          it is about to pause fan ID (written before the call)
///   resuming ID         it is about to resume fan ID (written before the call)
///   cancelling ID       it is about to cancel fan ID (written before the call)
///   error WHAT MESSAGE  a call failed in a way it never should
///
/// usage: flow_crash_child DATA_DIR SEED

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <set>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "reliability/flow_crash_job.hpp"

JOBRT_REGISTER_JOB(flow_crash::fan_job);
JOBRT_REGISTER_JOB(flow_crash::leaf_job);
JOBRT_REGISTER_JOB(flow_crash::chain_job);

namespace {

void say(const std::string& line) {
  auto text = line + "\n";
  [[maybe_unused]] auto n = ::write(STDOUT_FILENO, text.data(), text.size());
}

using jobrt::job_status;

std::vector<jobrt::job_record> jobs_of(jobrt::runtime& r, const std::string& type,
                                       std::vector<job_status> statuses, std::size_t limit) {
  jobrt::list_query q;
  q.type = type;
  q.statuses = std::move(statuses);
  q.limit = limit;
  auto page = r.list(q);
  if (!page) {
    say("error list " + page.error().message);
    return {};
  }
  return std::move(page->jobs);
}

const std::vector<job_status> unfinished{job_status::queued, job_status::running,
                                         job_status::waiting, job_status::paused};

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: flow_crash_child DATA_DIR SEED\n");
    return 2;
  }
  const auto seed = std::stoull(argv[2]);
  flow_crash::boot() = argv[2];
  flow_crash::on_spawn() = [](jobrt::job_id id) { say("spawning " + std::to_string(id)); };
  flow_crash::on_child_start() = [](jobrt::job_id parent) {
    static std::mutex m;
    static std::set<jobrt::job_id> said;
    std::lock_guard<std::mutex> lock{m};
    if (said.insert(parent).second)
      say("child-started " + std::to_string(parent));
  };

  jobrt::runtime_options opts;
  opts.data_dir = argv[1];
  opts.durable = true;
  opts.max_running = 6;
  opts.worker_threads = 2;
  opts.retention.clear(); // finished jobs are kept: every link stays checkable
  auto rt = jobrt::runtime::start(opts);
  if (!rt) {
    std::fprintf(stderr, "flow_crash_child: %s\n", rt.error().message.c_str());
    return 1;
  }
  auto& r = **rt;
  std::mt19937_64 rng{seed};
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };

  auto top_up = [&] {
    auto fans = jobs_of(r, "fan", unfinished, 100);
    for (auto n = fans.size(); n < 4; ++n) {
      boost::json::object p{{"children", pick(5, 50)},
                            {"base", pick(0, 1'000'000)},
                            {"fail_mod", pick(0, 2) == 0 ? pick(3, 6) : 0},
                            {"steps", pick(1, 4)},
                            {"pace_ms", pick(1, 4)}};
      auto id = r.submit("fan", p);
      if (!id)
        say("error submit fan " + id.error().message);
    }
    auto chains = jobs_of(r, "chain", unfinished, 100);
    if (chains.size() >= 5)
      return;
    // Candidates: the newest fans and chains, finished or not.
    auto recent = jobs_of(r, "fan", {}, 8);
    for (auto& c : jobs_of(r, "chain", {}, 8))
      recent.push_back(std::move(c));
    if (recent.empty())
      return;
    for (auto n = chains.size(); n < 5; ++n) {
      jobrt::submit_options o;
      boost::json::array after;
      for (auto k = pick(1, 3); k > 0; --k) {
        auto id = recent[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(recent.size()) - 1))].id;
        if (std::find(o.after.begin(), o.after.end(), id) != o.after.end())
          continue;
        o.after.push_back(id);
        after.emplace_back(static_cast<std::int64_t>(id));
      }
      auto policy = pick(0, 2);
      o.on_dependency_failure = policy == 0   ? jobrt::dependency_failure::fail
                                : policy == 1 ? jobrt::dependency_failure::cancel
                                              : jobrt::dependency_failure::run;
      auto id = r.submit("chain", boost::json::object{{"after", after}}, o);
      if (!id)
        say("error submit chain " + id.error().message);
    }
  };

  auto steer = [&] {
    for (const auto& f : jobs_of(r, "fan", {job_status::paused}, 100))
      if (pick(0, 99) < 60)
      {
        say("resuming " + std::to_string(f.id));
        (void)r.resume(f.id); // may have finished meanwhile
      }
    auto fans = jobs_of(r, "fan", {job_status::queued, job_status::running, job_status::waiting},
                        100);
    if (fans.empty())
      return;
    const auto& f = fans[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(fans.size()) - 1))];
    auto roll = pick(0, 99);
    if (roll < 30) {
      say("pausing " + std::to_string(f.id));
      (void)r.pause(f.id);
    } else if (roll < 45) {
      say("cancelling " + std::to_string(f.id));
      (void)r.cancel(f.id);
    }
  };

  top_up();
  say("up");
  for (;;) { // the child ends by SIGKILL
    std::this_thread::sleep_for(std::chrono::milliseconds(pick(20, 120)));
    top_up();
    if (pick(0, 99) < 50)
      steer();
  }
}
