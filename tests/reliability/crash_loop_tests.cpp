/// The crash loop: a child process runs a runtime under continuous load
/// (crash_loop_child.cpp) and is killed with SIGKILL at random moments, again and
/// again, on the same store. After every kill the store is opened and checked
/// against what the child said was acknowledged; at the end a clean run finishes
/// every job.
///
///   crash_loop_tests --color_output=false -- CHILD [--kills N] [--seed S]
///
/// (or JOBRT_CRASH_LOOP_KILLS / JOBRT_CRASH_LOOP_SEED in the environment). The
/// seed is printed; passing it again replays the same kill delays and the same
/// choices in the children (thread timing still varies).

#define BOOST_TEST_MODULE crash_loop_tests
#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include <boost/json.hpp>

#include "reliability/crash_loop_job.hpp"
#include "storage/job_store.hpp"
#include "test_jobs.hpp"

JOBRT_REGISTER_JOB(crash_loop::loop_job);

using namespace std::chrono_literals;
using jobrt::job_id;
using jobrt::job_status;

namespace {

// -- options --------------------------------------------------------------------------

struct loop_options {
  std::string child;
  int kills = 50;
  std::uint64_t seed = 0;
};

loop_options parse_options() {
  auto& suite = boost::unit_test::framework::master_test_suite();
  loop_options o;
  o.seed = static_cast<std::uint64_t>(
    std::chrono::steady_clock::now().time_since_epoch().count() % 1'000'000'007);
  if (auto* k = std::getenv("JOBRT_CRASH_LOOP_KILLS"))
    o.kills = std::atoi(k);
  if (auto* s = std::getenv("JOBRT_CRASH_LOOP_SEED"))
    o.seed = std::stoull(s);
  for (int i = 1; i < suite.argc; ++i) {
    std::string arg = suite.argv[i];
    if (arg == "--kills" && i + 1 < suite.argc)
      o.kills = std::atoi(suite.argv[++i]);
    else if (arg == "--seed" && i + 1 < suite.argc)
      o.seed = std::stoull(suite.argv[++i]);
    else if (arg.rfind("--", 0) != 0)
      o.child = arg;
  }
  BOOST_REQUIRE_MESSAGE(!o.child.empty(), "pass the crash_loop_child path after --");
  BOOST_REQUIRE(o.kills > 0);
  return o;
}

// -- what the children said, and what the store showed -----------------------------

/// Everything known about one acknowledged job.
struct job_facts {
  std::int64_t steps = 0;
  std::int64_t every = 0;
  std::int64_t max_step = 0;        ///< highest `step` line seen, over all runs
  std::string last_control;         ///< "pause", "resume" or "cancel": the last acknowledged
  /// A control call asked for after `last_control` whose answer was never seen
  /// (the child died first): the store may or may not show it.
  std::string unanswered;
  bool done_reported = false;
  std::optional<std::string> output; ///< serialized output, once seen completed
  std::int64_t stored_checkpoint = 0; ///< highest checkpointed i seen in the store
  std::set<job_status> statuses_seen;
  job_status last_seen = job_status::queued;
  /// The last facts about it (control lines, starts, kills), for a finding's report.
  std::vector<std::string> history;
  void note(std::string fact) {
    if (history.size() >= 24)
      history.erase(history.begin());
    history.push_back(std::move(fact));
  }
};

struct ledger {
  std::mutex mtx;
  std::map<job_id, job_facts> jobs;
  std::uint64_t acks = 0, pauses = 0, resumes = 0, cancels = 0, completions = 0;
  std::uint64_t restarts = 0;        ///< `start` lines of a job that had run before
  std::uint64_t reworked_steps = 0;  ///< steps run again, over all restarts
  std::int64_t largest_rework = 0;
  std::uint64_t lines = 0;
  /// Restarts from the checkpoint of a job's completing step (see crash_loop_job.hpp).
  std::uint64_t overruns = 0;
  std::vector<std::string> findings;

  /// The durable checkpoint a `step N` line proves: the one of the step before.
  static std::int64_t proven_checkpoint(const job_facts& j) {
    if (j.max_step <= 1 || j.every <= 0)
      return 0;
    return ((j.max_step - 1) / j.every) * j.every;
  }

  void finding(std::string what) {
    if (findings.size() < 50)
      findings.push_back(std::move(what));
  }
  /// A finding about one job, with what happened to it lately.
  void finding(job_id id, std::string what) {
    auto it = jobs.find(id);
    if (it != jobs.end()) {
      what += "; its history:";
      for (const auto& h : it->second.history)
        what += " | " + h;
    }
    finding(std::move(what));
  }
  /// Marks a kill in the history of every job that was active in the run.
  void note_kill(int kill_no, const std::set<job_id>& touched) {
    for (auto id : touched)
      if (auto it = jobs.find(id); it != jobs.end())
        it->second.note("KILL " + std::to_string(kill_no));
  }
  std::set<job_id> touched; ///< jobs with a line in the current run

  /// Applies one line; the caller holds `mtx`.
  void apply(const std::string& line) {
    ++lines;
    std::istringstream words{line};
    std::string what;
    job_id id = 0;
    words >> what >> id;
    if (what != "step" && id != 0) {
      jobs[id].note(line);
      touched.insert(id);
    }
    if (what == "ack") {
      auto& j = jobs[id];
      words >> j.steps >> j.every;
      ++acks;
    } else if (what == "try") {
      words >> jobs[id].unanswered;
    } else if (what == "pause" || what == "resume" || what == "cancel") {
      jobs[id].last_control = what;
      jobs[id].unanswered.clear();
      ++(what == "pause" ? pauses : what == "resume" ? resumes : cancels);
    } else if (what == "done") {
      auto& j = jobs[id];
      j.done_reported = true;
      if (j.last_control == "pause" && j.unanswered.empty())
        finding(id, "job " + std::to_string(id) + " completed after an acknowledged pause");
      ++completions;
    } else if (what == "step") {
      std::int64_t n = 0;
      words >> n;
      auto& j = jobs[id];
      j.max_step = std::max(j.max_step, n);
    } else if (what == "start") {
      std::int64_t from = 0;
      words >> from;
      auto it = jobs.find(id);
      if (it == jobs.end())
        return; // a job whose ack line was lost with its process: nothing to compare
      auto& j = it->second;
      if (j.max_step > 0)
        ++restarts;
      if (from < proven_checkpoint(j) || from < j.stored_checkpoint)
        finding(id, "job " + std::to_string(id) + " restarted from " + std::to_string(from)
                + " but checkpoint " + std::to_string(std::max(proven_checkpoint(j),
                                                               j.stored_checkpoint))
                + " was durable: its checkpoint went backwards");
      auto rework = j.max_step - from;
      if (rework > 0) {
        reworked_steps += static_cast<std::uint64_t>(rework);
        largest_rework = std::max(largest_rework, rework);
        if (j.every > 0 && rework > j.every)
          finding(id, "job " + std::to_string(id) + " ran " + std::to_string(rework)
                  + " steps again, more than its checkpoint interval of "
                  + std::to_string(j.every));
      }
    } else if (what == "overrun") {
      ++overruns;
    } else if (what == "error") {
      finding("the child reported: " + line);
    }
  }
};

/// Reads lines from `fd` into the ledger until `deadline` (or EOF when `deadline`
/// is empty). Returns false on EOF.
bool pump(int fd, std::string& pending, ledger& led,
          std::optional<std::chrono::steady_clock::time_point> deadline) {
  char buf[65536];
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return true;
      wait_ms = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, wait_ms);
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0)
      return true;
    auto got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    pending.append(buf, static_cast<std::size_t>(got));
    std::lock_guard guard{led.mtx};
    std::size_t start = 0;
    for (auto nl = pending.find('\n'); nl != std::string::npos;
         nl = pending.find('\n', start)) {
      led.apply(pending.substr(start, nl - start));
      start = nl + 1;
    }
    pending.erase(0, start);
  }
}

/// Runs the child on `store` for `run_for`, then kills it with SIGKILL and reads
/// everything it wrote before it died.
void run_and_kill(const std::string& child, const std::string& store, std::uint64_t seed,
                  std::chrono::milliseconds run_for, ledger& led) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  auto seed_arg = std::to_string(seed);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(child.c_str(), child.c_str(), store.c_str(), seed_arg.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string pending;
  bool alive = pump(fds[0], pending, led, std::chrono::steady_clock::now() + run_for);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (alive)
    pump(fds[0], pending, led, std::nullopt); // what it wrote before it died
  ::close(fds[0]);
  BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                        "the child ended before it was killed (status " << status << ")");
}

/// Opens the store of a killed child and checks it against the ledger.
void check_store(const std::string& store, ledger& led, int kill_no) {
  jobrt::storage::store_config cfg;
  cfg.path = store;
  auto opened = jobrt::storage::job_store::open(cfg);
  BOOST_REQUIRE_MESSAGE(opened.ok(), "reopening after kill " << kill_no << ": "
                                       << (opened ? "" : opened.error().message));
  auto& st = **opened;
  std::lock_guard guard{led.mtx};
  auto where = " (after kill " + std::to_string(kill_no) + ")";
  for (auto& [id, j] : led.jobs) {
    if (j.steps == 0)
      continue; // a job we saw act but never saw acknowledged
    auto rec = st.get(id);
    if (!rec) {
      led.finding(id, "acknowledged job " + std::to_string(id) + " is missing: "
                  + rec.error().message + where);
      continue;
    }
    j.statuses_seen.insert(rec->status);
    if (j.last_seen != rec->status || j.history.empty()
        || j.history.back().rfind("KILL", 0) == 0)
      j.note(std::string{"stored: "} + jobrt::to_string(rec->status));
    j.last_seen = rec->status;
    bool was_completed = j.output.has_value() || j.done_reported;
    if (was_completed && rec->status != job_status::completed)
      led.finding(id, "job " + std::to_string(id) + " had completed but is now "
                  + jobrt::to_string(rec->status) + where);
    if (rec->status == job_status::completed) {
      auto out = boost::json::serialize(rec->output);
      boost::json::value expected = {{"total", crash_loop::expected_total(j.steps)},
                                     {"steps", j.steps}};
      if (rec->output != expected)
        led.finding(id, "job " + std::to_string(id) + " completed with " + out + ", expected "
                    + boost::json::serialize(expected) + where);
      if (j.output && *j.output != out)
        led.finding(id, "job " + std::to_string(id) + "'s output changed from " + *j.output
                    + " to " + out + where);
      j.output = out;
    }
    // A pause acknowledged, with nothing asked for since, holds; a later call
    // that was never answered may have taken effect.
    if (j.last_control == "pause" && j.unanswered.empty() && rec->status != job_status::paused)
      led.finding(id, "job " + std::to_string(id) + " was paused (acknowledged) but is "
                  + jobrt::to_string(rec->status) + where);
    if (j.last_control == "cancel" && rec->status != job_status::cancelled)
      led.finding(id, "job " + std::to_string(id) + " was cancelled (acknowledged) but is "
                  + jobrt::to_string(rec->status) + where);
    if (jobrt::is_finished(rec->status))
      continue;
    auto cp = st.get_checkpoint(id);
    if (!cp) {
      led.finding(id, "job " + std::to_string(id) + "'s checkpoint is unreadable: "
                  + cp.error().message + where);
      continue;
    }
    std::int64_t i = 0;
    if (*cp) {
      const auto* s = (*cp)->state.is_object() ? (*cp)->state.as_object().if_contains("i")
                                               : nullptr;
      if (s == nullptr || !s->is_int64()) {
        led.finding(id, "job " + std::to_string(id) + " has a checkpoint without i" + where);
        continue;
      }
      i = s->as_int64();
    }
    auto floor = std::max(j.stored_checkpoint, led.proven_checkpoint(j));
    if (i < floor)
      led.finding(id, "job " + std::to_string(id) + "'s checkpoint went back to i = "
                  + std::to_string(i) + " from " + std::to_string(floor) + where);
    j.stored_checkpoint = std::max(j.stored_checkpoint, i);
  }
}

/// Collects status events of the final run.
struct finish_watch {
  std::mutex mtx;
  std::condition_variable cv;
  std::set<job_id> finished;
  void operator()(const jobrt::job_event& e) {
    if (e.what != jobrt::job_event::kind::status || !jobrt::is_finished(e.status))
      return;
    {
      std::lock_guard guard{mtx};
      finished.insert(e.id);
    }
    cv.notify_all();
  }
};

std::string report_findings(const ledger& led) {
  std::string out;
  for (const auto& f : led.findings)
    out += "\n  " + f;
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(acknowledged_facts_survive_repeated_sigkills_under_load) {
  auto opts = parse_options();
  std::cout << "crash_loop: seed " << opts.seed << ", " << opts.kills
            << " kills (replay with --seed " << opts.seed << ")" << std::endl;
  test_jobs::temp_dir dir_guard;
  auto store = (dir_guard.path / "store").string();
  std::mt19937_64 rng{opts.seed};
  // Mostly short runs, so that kills often land in start-up and recovery too.
  std::uniform_int_distribution<int> run_ms(5, 900);
  ledger led;
  auto began = std::chrono::steady_clock::now();
  for (int k = 1; k <= opts.kills; ++k) {
    run_and_kill(opts.child, store, rng(), std::chrono::milliseconds(run_ms(rng)), led);
    {
      std::lock_guard guard{led.mtx};
      led.note_kill(k, led.touched);
      led.touched.clear();
    }
    check_store(store, led, k);
    BOOST_REQUIRE_MESSAGE(led.findings.empty(), "after kill " << k << ":" << report_findings(led));
  }
  auto killing = std::chrono::steady_clock::now() - began;

  // A final clean run: resume what is paused and let every job finish.
  crash_loop::report = [&led](const std::string& line) {
    std::lock_guard guard{led.mtx};
    led.apply(line);
  };
  {
    jobrt::runtime_options o;
    o.data_dir = store;
    o.durable = false;
    o.max_running = 8;
    auto rt = jobrt::runtime::start(o);
    BOOST_REQUIRE_MESSAGE(rt.ok(), (rt ? "" : rt.error().message));
    auto& r = **rt;
    finish_watch watch;
    jobrt::event_filter status_only;
    status_only.progress = false;
    auto sub = r.subscribe(std::ref(watch), status_only);
    std::set<job_id> unfinished;
    jobrt::list_query q;
    q.statuses = {job_status::queued, job_status::running, job_status::waiting,
                  job_status::paused};
    q.limit = 1000;
    for (;;) {
      auto page = r.list(q);
      BOOST_REQUIRE_MESSAGE(page.ok(), (page ? "" : page.error().message));
      for (const auto& rec : page->jobs) {
        unfinished.insert(rec.id);
        if (rec.status == job_status::paused) {
          {
            std::lock_guard guard{led.mtx};
            led.apply("try " + std::to_string(rec.id) + " resume");
          }
          auto res = r.resume(rec.id);
          BOOST_REQUIRE_MESSAGE(res.ok() || res.error().code == jobrt::errc::illegal_transition,
                                "resume " << rec.id << ": " << res.error().message);
        }
      }
      if (page->next_cursor == 0)
        break;
      q.before = page->next_cursor;
    }
    {
      std::unique_lock lock{watch.mtx};
      bool all = watch.cv.wait_for(lock, 120s, [&] {
        for (auto id : unfinished)
          if (watch.finished.count(id) == 0) {
            // It may have finished before the subscription: ask the store.
            lock.unlock();
            auto rec = r.get(id);
            lock.lock();
            if (!rec || !jobrt::is_finished(rec->status))
              return false;
            watch.finished.insert(id);
          }
        return true;
      });
      BOOST_REQUIRE_MESSAGE(all, "not every job finished in the final run");
    }
    sub.cancel();
    r.shutdown();
  }
  crash_loop::report = [](const std::string&) {};
  check_store(store, led, opts.kills + 1);

  // Every acknowledged job ended, and how.
  std::map<std::string, int> final_status;
  {
    jobrt::storage::store_config cfg;
    cfg.path = store;
    auto st = jobrt::storage::job_store::open(cfg);
    BOOST_REQUIRE(st.ok());
    for (const auto& [id, j] : led.jobs) {
      if (j.steps == 0)
        continue;
      auto rec = (*st)->get(id);
      BOOST_REQUIRE_MESSAGE(rec.ok(), "job " << id);
      ++final_status[jobrt::to_string(rec->status)];
      if (!jobrt::is_finished(rec->status))
        led.finding(id, "job " + std::to_string(id) + " is still " + jobrt::to_string(rec->status)
                    + " after the final run");
      if (rec->status == job_status::failed)
        led.finding(id, "job " + std::to_string(id) + " failed: " + rec->error);
    }
  }
  BOOST_TEST(led.findings.empty(), "findings:" << report_findings(led));

  std::cout << "crash_loop: " << opts.kills << " kills in "
            << std::chrono::duration_cast<std::chrono::seconds>(killing).count() << " s; "
            << led.acks << " submits acknowledged, " << led.pauses << " pauses, "
            << led.resumes << " resumes, " << led.cancels << " cancels acknowledged, " << led.completions
            << " completions reported; "
            << led.restarts << " job restarts, " << led.reworked_steps
            << " steps run again in all, largest rework " << led.largest_rework
            << " steps (never more than the job's checkpoint interval); " << led.overruns
            << " restarts from the checkpoint of a completing step; final:";
  for (const auto& [s, n] : final_status)
    std::cout << " " << s << " " << n;
  std::cout << "; seed " << opts.seed << std::endl;
  BOOST_TEST(led.acks > 0u);
  BOOST_TEST(led.restarts > 0u, "no job was ever interrupted: the loop tested nothing");
}
