/// The child process of the crash loop: it runs a runtime on DATA_DIR under a
/// steady, seeded load until the parent kills it with SIGKILL. It submits `loop`
/// jobs and pauses, resumes and cancels them itself, and reports on stdout every
/// fact that the runtime acknowledged, one line per fact, each written with a
/// single write(2) so that a kill never leaves half a line behind:
///   ack ID STEPS EVERY   a submit was acknowledged (the record is durable)
///   try ID ACTION        a pause, resume or cancel is about to be asked for: from
///                        here on the store may show it, acknowledged or not
///   pause ID             a pause was acknowledged (`paused` is durable)
///   resume ID            a resume was acknowledged
///   cancel ID            a cancel was acknowledged (`cancelled` is durable)
///   done ID              the runtime said the job completed (its output is durable)
///   event ID STATUS      any other status event (for the history in a report)
///   start ID I / step ID N   from the job itself (see crash_loop_job.hpp)
///   cack ID EVERY PACE   a `collect` job's submit was acknowledged
///   aack ID              an `approval` job's submit was acknowledged
///   stry ID NAME         a signal is about to be sent: from here on the store may hold it
///   signal ID NAME       the signal was acknowledged (it is durable)
///   srefused ID NAME     the signal was refused (the job had finished): not stored
///   sigstart ID TAKEN / sig ID SEQ NAME   from the signal jobs (see crash_loop_job.hpp)
///   error WHAT ID MESSAGE    a control call failed in a way it never should
///
/// usage: crash_loop_child DATA_DIR SEED  (env: JOBRT_CRASH_LOOP_FINAL_CHECKPOINT=1)

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "reliability/crash_loop_job.hpp"

JOBRT_REGISTER_JOB(crash_loop::loop_job);
JOBRT_REGISTER_JOB(crash_loop::collect_job);
JOBRT_REGISTER_JOB(crash_loop::approval_job);

namespace {

void say(const std::string& line) {
  auto text = line + "\n";
  [[maybe_unused]] auto n = ::write(STDOUT_FILENO, text.data(), text.size());
}

/// The jobs this child may act on: unfinished ones, split by whether it paused them.
struct job_sets {
  std::mutex mtx;
  std::set<jobrt::job_id> active; ///< queued, running or waiting
  std::set<jobrt::job_id> paused;
  /// Jobs that take signals; never paused or cancelled by the child.
  std::set<jobrt::job_id> collecting; ///< `collect` jobs that wait without a slot
  std::set<jobrt::job_id> pacing;     ///< `collect` jobs that hold a slot
  std::set<jobrt::job_id> approving;  ///< `approval` jobs this child submitted, not yet signalled

  void finished(jobrt::job_id id) {
    std::lock_guard guard{mtx};
    active.erase(id);
    paused.erase(id);
    collecting.erase(id);
    pacing.erase(id);
    approving.erase(id);
  }
  std::size_t count(std::set<jobrt::job_id>& which) {
    std::lock_guard guard{mtx};
    return which.size();
  }
  std::size_t size() {
    std::lock_guard guard{mtx};
    return active.size() + paused.size();
  }
  /// A random member of `which`, or 0.
  template <class Rng>
  jobrt::job_id pick(std::set<jobrt::job_id>& which, Rng& rng) {
    std::lock_guard guard{mtx};
    if (which.empty())
      return 0;
    auto it = which.begin();
    std::advance(it, std::uniform_int_distribution<std::size_t>(0, which.size() - 1)(rng));
    return *it;
  }
  void move(jobrt::job_id id, std::set<jobrt::job_id>& from, std::set<jobrt::job_id>& to) {
    std::lock_guard guard{mtx};
    if (from.erase(id) > 0)
      to.insert(id);
  }
};

/// A control call failed: expected when the job finished meanwhile, a finding otherwise.
void on_control_error(const char* what, jobrt::job_id id, const jobrt::error& e, job_sets& jobs) {
  if (e.code == jobrt::errc::illegal_transition || e.code == jobrt::errc::not_found) {
    jobs.finished(id); // it completed or was cancelled meanwhile
    return;
  }
  say(std::string{"error "} + what + " " + std::to_string(id) + " " + e.message);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: crash_loop_child DATA_DIR SEED\n");
    return 2;
  }
  crash_loop::report = say;
  // JOBRT_CRASH_LOOP_FINAL_CHECKPOINT=1: jobs also checkpoint in their completing
  // step (see crash_loop_job.hpp), which shows the two-commit ending.
  const char* fc = std::getenv("JOBRT_CRASH_LOOP_FINAL_CHECKPOINT");
  bool final_checkpoint = fc != nullptr && std::string{fc} == "1";
  std::mt19937_64 rng{std::stoull(argv[2])};

  jobrt::runtime_options opts;
  opts.data_dir = argv[1];
  opts.durable = true;
  opts.max_running = 4;
  opts.worker_threads = 2;
  auto rt = jobrt::runtime::start(opts);
  if (!rt) {
    std::fprintf(stderr, "crash_loop_child: %s\n", rt.error().message.c_str());
    return 1;
  }
  auto& r = **rt;

  job_sets jobs;
  jobrt::event_filter status_only;
  status_only.progress = false;
  auto sub = r.subscribe(
    [&jobs](const jobrt::job_event& e) {
      if (e.status == jobrt::job_status::completed)
        say("done " + std::to_string(e.id));
      else
        say("event " + std::to_string(e.id) + " " + jobrt::to_string(e.status));
      if (jobrt::is_finished(e.status))
        jobs.finished(e.id);
    },
    status_only);

  // Concurrent submits: bursts of asynchronous submits in flight together, each
  // acknowledged from its completion handler, so that kills also land while one
  // group commit carries several submits and the final records of other jobs.
  std::thread bursts{[&r, &jobs, seed = std::stoull(argv[2])] {
    std::mt19937_64 burst_rng{seed ^ 0x9e3779b97f4a7c15ULL};
    auto pick = [&](std::int64_t lo, std::int64_t hi) {
      return std::uniform_int_distribution<std::int64_t>(lo, hi)(burst_rng);
    };
    for (;;) {
      if (jobs.size() < 40) {
        for (int k = 0; k < 8; ++k) {
          auto steps = pick(3, 12);
          auto every = pick(2, 4);
          boost::json::object params{{"steps", steps}, {"every", every}, {"pace_ms", 0}};
          r.submit_async("loop", params, {},
                         [&jobs, steps, every](jobrt::result<jobrt::submitted> s) {
                           if (!s) {
                             say("error submit 0 " + s.error().message);
                             return;
                           }
                           {
                             std::lock_guard guard{jobs.mtx};
                             jobs.active.insert(s->id);
                           }
                           say("ack " + std::to_string(s->id) + " " + std::to_string(steps)
                               + " " + std::to_string(every));
                         });
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(pick(5, 25)));
    }
  }};
  bursts.detach(); // the child ends by SIGKILL

  // The unfinished jobs of earlier runs are targets too.
  jobrt::list_query q;
  q.statuses = {jobrt::job_status::queued, jobrt::job_status::running,
                jobrt::job_status::waiting, jobrt::job_status::paused};
  q.limit = 1000;
  for (;;) {
    auto page = r.list(q);
    if (!page) {
      say("error list 0 " + page.error().message);
      break;
    }
    {
      std::lock_guard guard{jobs.mtx};
      for (const auto& rec : page->jobs) {
        if (rec.type == "collect")
          (rec.params.at("pace_ms").as_int64() > 0 ? jobs.pacing : jobs.collecting).insert(rec.id);
        else if (rec.type == "approval")
          continue; // signalled only by the child that submitted it (see below)
        else
          (rec.status == jobrt::job_status::paused ? jobs.paused : jobs.active).insert(rec.id);
      }
    }
    if (page->next_cursor == 0)
      break;
    q.before = page->next_cursor;
  }

  std::uniform_int_distribution<int> percent(0, 99);
  // Signal names are unique over all children: this child's seed and a count.
  auto tag = std::to_string(std::stoull(argv[2]) % 1'000'000'007) + "." ;
  std::uint64_t sent = 0;
  auto send_signal = [&](jobrt::job_id id, const std::string& name) {
    say("stry " + std::to_string(id) + " " + name);
    if (auto res = r.signal(id, name, {{"n", static_cast<std::int64_t>(sent)}})) {
      say("signal " + std::to_string(id) + " " + name);
    } else if (res.error().code == jobrt::errc::illegal_transition) {
      jobs.finished(id);
      say("srefused " + std::to_string(id) + " " + name);
    } else {
      say("error signal " + std::to_string(id) + " " + res.error().message);
    }
  };
  for (;;) {
    // Jobs that take signals, besides the load below: about one call in six.
    if (int sd = percent(rng); sd < 16) {
      if (sd < 2) {
        bool pace = jobs.count(jobs.pacing) == 0 && percent(rng) < 40;
        if (jobs.count(pace ? jobs.pacing : jobs.collecting) < 3) {
          auto every = std::uniform_int_distribution<std::int64_t>(1, 4)(rng);
          std::int64_t pace_ms = pace ? std::uniform_int_distribution<std::int64_t>(1, 5)(rng) : 0;
          if (auto id = r.submit("collect", {{"every", every}, {"pace_ms", pace_ms}})) {
            {
              std::lock_guard guard{jobs.mtx};
              (pace ? jobs.pacing : jobs.collecting).insert(*id);
            }
            say("cack " + std::to_string(*id) + " " + std::to_string(every) + " "
                + std::to_string(pace_ms));
          } else {
            say("error submit 0 " + id.error().message);
          }
        }
      } else if (sd < 4) {
        if (jobs.count(jobs.approving) < 3) {
          if (auto id = r.submit("approval", boost::json::object{})) {
            {
              std::lock_guard guard{jobs.mtx};
              jobs.approving.insert(*id);
            }
            say("aack " + std::to_string(*id));
            // Half of them get their signal at once, while they start, run stage
            // one or checkpoint before they wait; the others while they wait.
            if (percent(rng) < 50) {
              ++sent;
              jobs.finished(*id);
              send_signal(*id, "ok" + tag + std::to_string(sent));
            }
          } else {
            say("error submit 0 " + id.error().message);
          }
        }
      } else if (sd < 14) {
        auto id = jobs.pick(percent(rng) < 50 ? jobs.collecting : jobs.pacing, rng);
        if (id) {
          ++sent;
          send_signal(id, (percent(rng) < 8 ? "end" : "d") + tag + std::to_string(sent));
        }
      } else {
        // One signal per approval job, ever, from the child that submitted it:
        // a second signal would wake a job that the first one failed to wake.
        // Those a kill left without one wait across the kills that follow,
        // until the final run sends theirs.
        if (auto id = jobs.pick(jobs.approving, rng)) {
          ++sent;
          jobs.finished(id);
          send_signal(id, "ok" + tag + std::to_string(sent));
        }
      }
    }

    int dice = percent(rng);
    if (dice < 45) {
      if (jobs.size() < 24) {
        auto steps = std::uniform_int_distribution<std::int64_t>(10, 60)(rng);
        auto every = std::uniform_int_distribution<std::int64_t>(2, 8)(rng);
        auto pace = std::uniform_int_distribution<std::int64_t>(0, 3)(rng);
        boost::json::object params{{"steps", steps}, {"every", every}, {"pace_ms", pace}};
        if (final_checkpoint)
          params["final_checkpoint"] = true;
        auto id = r.submit("loop", params);
        if (id) {
          {
            std::lock_guard guard{jobs.mtx};
            jobs.active.insert(*id);
          }
          say("ack " + std::to_string(*id) + " " + std::to_string(steps) + " "
              + std::to_string(every));
        } else {
          say("error submit 0 " + id.error().message);
        }
      }
    } else if (dice < 62) {
      if (auto id = jobs.pick(jobs.active, rng)) {
        say("try " + std::to_string(id) + " pause");
        if (auto res = r.pause(id)) {
          jobs.move(id, jobs.active, jobs.paused);
          say("pause " + std::to_string(id));
        } else {
          on_control_error("pause", id, res.error(), jobs);
        }
      }
    } else if (dice < 80) {
      if (auto id = jobs.pick(jobs.paused, rng)) {
        say("try " + std::to_string(id) + " resume");
        if (auto res = r.resume(id)) {
          jobs.move(id, jobs.paused, jobs.active);
          say("resume " + std::to_string(id));
        } else {
          on_control_error("resume", id, res.error(), jobs);
        }
      }
    } else if (dice < 85) {
      auto id = jobs.pick(percent(rng) < 50 ? jobs.active : jobs.paused, rng);
      if (id) {
        say("try " + std::to_string(id) + " cancel");
        if (auto res = r.cancel(id)) {
          jobs.finished(id);
          say("cancel " + std::to_string(id));
        } else {
          on_control_error("cancel", id, res.error(), jobs);
        }
      }
    } else {
      if (auto id = jobs.pick(jobs.active, rng)) {
        auto rec = r.get(id);
        if (!rec && rec.error().code != jobrt::errc::not_found)
          say("error get " + std::to_string(id) + " " + rec.error().message);
      }
    }
    // Load shaping, not waiting for anything: a steady stream of calls.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}
