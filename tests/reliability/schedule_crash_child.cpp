/// The child process of the schedule crash loop: it runs a runtime on DATA_DIR,
/// on the real clock, with the schedules of schedule_crash_job.hpp ticking every
/// second or two and a steady load of other jobs besides (so that tick commits
/// share group commits with other writes), until the parent kills it with
/// SIGKILL. It reports on stdout, one line per fact, each with a single write(2):
///   stored NAME CREATED_AT LAST_TICK FIRED   a schedule list_schedules() showed at start
///   created NAME CREATED_AT                  schedule() created a missing schedule
///   recreated NAME CREATED_AT LAST_TICK FIRED  schedule() replaced a stored one (its answer)
///   up                                       the schedules are in place
///   error WHAT MESSAGE                       a call failed in a way it never should
///
/// usage: schedule_crash_child DATA_DIR SEED
/// A schedule is created only if missing, except in runs whose seed is a multiple
/// of 3: those create every schedule again (a replaced schedule keeps its history).

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "reliability/crash_loop_job.hpp"
#include "reliability/schedule_crash_job.hpp"

JOBRT_REGISTER_JOB(schedule_crash::tick_job);
JOBRT_REGISTER_JOB(crash_loop::loop_job);

namespace {

void say(const std::string& line) {
  auto text = line + "\n";
  [[maybe_unused]] auto n = ::write(STDOUT_FILENO, text.data(), text.size());
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: schedule_crash_child DATA_DIR SEED\n");
    return 2;
  }
  const auto seed = std::stoull(argv[2]);
  const bool recreate = seed % 3 == 0;

  jobrt::runtime_options opts;
  opts.data_dir = argv[1];
  opts.durable = true;
  opts.max_running = 6;
  opts.worker_threads = 2;
  auto rt = jobrt::runtime::start(opts);
  if (!rt) {
    std::fprintf(stderr, "schedule_crash_child: %s\n", rt.error().message.c_str());
    return 1;
  }
  auto& r = **rt;

  // Load: `loop` jobs, a few at a time, while fewer than 12 of them are unfinished.
  std::atomic<int> loops{0};
  {
    jobrt::list_query q;
    q.type = "loop";
    q.statuses = {jobrt::job_status::queued, jobrt::job_status::running,
                  jobrt::job_status::waiting, jobrt::job_status::paused};
    q.limit = 1000;
    if (auto page = r.list(q))
      loops = static_cast<int>(page->jobs.size());
  }
  auto sub = r.subscribe(
    [&loops](const jobrt::job_event& e) {
      if (e.what == jobrt::job_event::kind::status && e.type == "loop"
          && jobrt::is_finished(e.status))
        --loops;
    });
  std::thread load{[&r, &loops, seed] {
    std::mt19937_64 rng{seed ^ 0x9e3779b97f4a7c15ULL};
    auto pick = [&](std::int64_t lo, std::int64_t hi) {
      return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    for (;;) {
      if (loops.load() < 12)
        for (auto k = pick(1, 4); k > 0; --k) {
          boost::json::object params{{"steps", pick(2, 8)}, {"every", pick(1, 3)},
                                     {"pace_ms", pick(0, 3)}};
          ++loops;
          r.submit_async("loop", params, {}, [](jobrt::result<jobrt::submitted> s) {
            if (!s)
              say("error submit " + s.error().message);
          });
        }
      std::this_thread::sleep_for(std::chrono::milliseconds(pick(5, 30)));
    }
  }};
  load.detach(); // the child ends by SIGKILL

  auto listed = r.list_schedules();
  if (!listed) {
    say("error list_schedules " + listed.error().message);
    for (;;)
      std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::map<std::string, jobrt::schedule_info> stored;
  for (const auto& s : *listed) {
    say("stored " + s.name + " " + std::to_string(s.created_at) + " "
        + std::to_string(s.last_tick) + " " + std::to_string(s.fired));
    stored[s.name] = s;
  }
  for (const auto& sp : schedule_crash::schedules()) {
    bool had = stored.count(sp.name) > 0;
    if (had && !recreate)
      continue;
    auto made = r.schedule(sp.name, sp.rule(), "tick", sp.params(), sp.options());
    if (!made) {
      say("error schedule " + sp.name + " " + made.error().message);
      continue;
    }
    if (had)
      say("recreated " + sp.name + " " + std::to_string(made->created_at) + " "
          + std::to_string(made->last_tick) + " " + std::to_string(made->fired));
    else
      say("created " + sp.name + " " + std::to_string(made->created_at));
  }
  say("up");
  for (;;)
    std::this_thread::sleep_for(std::chrono::seconds(1));
}
