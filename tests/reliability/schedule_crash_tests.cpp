/// The schedule crash loop: a child process (schedule_crash_child.cpp) runs a
/// runtime on the real clock with recurring schedules ticking every second or two
/// (schedule_crash_job.hpp: run_each with overlapping jobs, run_each queued one
/// job at a time, run_once queued, skip) and a load of other jobs, and is killed
/// with SIGKILL at random moments (some in start-up and recovery, many aimed at a
/// tick: 3 ms before to 8 ms after it, when its commit is written; after some
/// the process stays down for seconds), again and again on the same store. After
/// every kill the store is opened and checked; at the end a clean run lets every
/// schedule tick on time, pauses them, finishes every job, and the store is
/// checked once more.
///
/// Each tick fires exactly once: the jobs of a schedule, by the tick in their
/// idempotency key ("jobrt.schedule/NAME/TICK_MS"), are
/// - no_tick_fired_twice:  no tick has two jobs;
/// - no_tick_lost:         (run_each) every tick created_at + k * interval up to
///                         `last_tick` has a job;
/// - ticks_on_grid:        every tick is created_at + k * interval, k >= 1;
/// - no_tick_after_last_tick: no tick is later than `last_tick`;
/// - fired_counts_jobs:    `fired` is the number of jobs;
/// - last_job_is_newest:   `last_job` / `last_fired_at` are the newest tick's;
/// - history_kept:         from one kill to the next, `created_at` stays, `last_tick`
///                         and `fired` never go back, and a tick keeps its job;
/// - recreate_keeps_history: a child that creates a stored schedule again gets
///                         it back with its `created_at`, `last_tick` and `fired`;
/// - completed_stays_completed: a tick's job seen completed stays completed;
/// - no_overlap_unless_allowed: (on_overlap queue or skip) a tick's job was
///                         submitted after the job of the tick before finished;
/// and at the end also
/// - all_jobs_completed:   every job of the store completed (at-least-once);
/// - schedules_kept_up:    a clean run fires on time again.
///
///   schedule_crash_tests --color_output=false -- CHILD [--kills N] [--seed S]
///
/// (or JOBRT_CRASH_LOOP_KILLS / JOBRT_CRASH_LOOP_SEED in the environment, as for
/// crash_loop). The seed is printed; passing it again replays the same kill delays
/// (the clock and thread timing still vary).

#define BOOST_TEST_MODULE schedule_crash_tests
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "reliability/crash_loop_job.hpp"
#include "reliability/crash_loop_support.hpp"
#include "reliability/schedule_crash_job.hpp"
#include "storage/job_store.hpp"
#include "test_jobs.hpp"

JOBRT_REGISTER_JOB(schedule_crash::tick_job);
JOBRT_REGISTER_JOB(crash_loop::loop_job);

using namespace std::chrono_literals;
using jobrt::job_id;
using jobrt::job_status;
using jobrt::millis;

namespace {

crash_support::loop_args parse_options() {
  crash_support::loop_args o;
  crash_support::read_loop_args(o, 30, "schedule_crash_child");
  return o;
}

millis wall_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

const schedule_crash::spec* spec_of(const std::string& name) {
  for (const auto& s : schedule_crash::schedules())
    if (s.name == name)
      return &s;
  return nullptr;
}

// -- findings, by check ------------------------------------------------------------------

using crash_support::checks;

std::string list_of(const std::vector<millis>& ticks, millis created_at) {
  std::string out;
  std::size_t n = 0;
  for (auto t : ticks) {
    if (++n > 12) {
      out += " ... (" + std::to_string(ticks.size()) + " in all)";
      break;
    }
    out += (out.empty() ? "" : ", ") + std::to_string(t) + " (created_at + "
           + std::to_string(t - created_at) + " ms)";
  }
  return "[" + out + "]";
}

// -- what is known of each schedule --------------------------------------------------------

struct schedule_facts {
  bool seen = false;
  millis created_at = 0;
  millis last_tick = 0;
  std::uint64_t fired = 0;
  std::map<millis, job_id> ticks; ///< every tick's job seen so far
  std::set<job_id> completed;     ///< its jobs seen completed
};

struct loop_ledger {
  std::map<std::string, schedule_facts> schedules;
  std::uint64_t created = 0, recreated = 0, ups = 0, aimed = 0, lines = 0;
  std::uint64_t early = 0, long_downs = 0;
  std::uint64_t before_up = 0; ///< kills before the child had its schedules in place
  std::uint64_t before_commit = 0; ///< aimed kills after the tick, before its commit
  millis startup_ms = 100; ///< from a child's start to its "up" line, the last one seen
  std::uint64_t fired_at_last_kill = 0;
  /// ms from the kill to the nearest tick of "each" (negative: the kill came first).
  std::vector<millis> aimed_offsets;
  checks found;

  /// Applies one line of a child, with what list_schedules showed it at start.
  void apply(const std::string& line, std::map<std::string, schedule_facts>& stored_now) {
    ++lines;
    std::istringstream words{line};
    std::string what, name;
    words >> what;
    if (what == "up") {
      ++ups;
    } else if (what == "stored") {
      words >> name;
      auto& f = stored_now[name];
      words >> f.created_at >> f.last_tick >> f.fired;
    } else if (what == "created") {
      ++created;
    } else if (what == "recreated") {
      ++recreated;
      words >> name;
      millis created_at = 0, last_tick = 0;
      std::uint64_t fired = 0;
      words >> created_at >> last_tick >> fired;
      auto it = stored_now.find(name);
      if (it == stored_now.end()) {
        found.fail("recreate_keeps_history", name + ": recreated but not listed before: " + line);
        return;
      }
      const auto& before = it->second;
      if (created_at != before.created_at || last_tick < before.last_tick
          || fired < before.fired)
        found.fail("recreate_keeps_history",
                   name + ": listed with created_at " + std::to_string(before.created_at)
                     + ", last_tick " + std::to_string(before.last_tick) + ", fired "
                     + std::to_string(before.fired) + "; schedule() again answered created_at "
                     + std::to_string(created_at) + ", last_tick " + std::to_string(last_tick)
                     + ", fired " + std::to_string(fired));
    } else if (what == "error") {
      found.fail("child_errors", line);
    }
  }
};

/// How the parent picks the moment of a kill.
struct kill_plan {
  /// From the child's start, or (`after_up`) from its "up" line; a child that
  /// has no "up" line 60 s after its start is a failure then.
  std::chrono::milliseconds run_for{0};
  bool after_up = false;
  std::optional<millis> at; ///< a wall-clock time instead
};

/// Runs the child until `plan` says, kills it with SIGKILL and applies
/// everything it wrote. `killed_at`: the wall clock at the kill; `up_after`:
/// how long after its start it wrote "up" (-1: it did not).
void run_and_kill(const std::string& child, const std::string& store, std::uint64_t seed,
                  const kill_plan& plan, loop_ledger& led, millis& killed_at,
                  std::chrono::milliseconds& up_after) {
  auto started = std::chrono::steady_clock::now();
  auto proc = crash_support::spawn_child(child, {store, std::to_string(seed)});
  auto deadline = started + (plan.after_up ? std::chrono::milliseconds(60'000) : plan.run_for);
  if (plan.at)
    deadline = started + std::chrono::milliseconds(*plan.at - wall_now());
  up_after = std::chrono::milliseconds(-1);
  std::string pending;
  auto watch = [&] {
    if (crash_support::saw_up(pending, started, up_after) && plan.after_up && !plan.at)
      deadline = std::chrono::steady_clock::now() + plan.run_for;
  };
  bool alive = crash_support::read_child_until(proc.out, pending, deadline, watch);
  proc.kill();
  killed_at = wall_now();
  int status = proc.wait();
  if (alive)
    crash_support::read_child_to_end(proc.out, pending, watch);
  ::close(proc.out);
  std::map<std::string, schedule_facts> stored_now;
  crash_support::take_lines(pending,
                            [&](const std::string& line) { led.apply(line, stored_now); });
  crash_support::require_sigkilled(status);
  BOOST_REQUIRE_MESSAGE(!plan.after_up || plan.at || up_after.count() >= 0,
                        "the child did not get its schedules in place within 60 s");
}

/// Opens the store (no process has it) and checks every schedule and its jobs;
/// `final`: also that every job completed.
void check_store(const std::string& store, loop_ledger& led, checks& found, bool final) {
  auto opened = crash_support::open_store(store);
  auto& st = *opened;
  std::vector<std::pair<std::string, std::string>> corrupt;
  auto stored = st.schedules(&corrupt);
  BOOST_REQUIRE_MESSAGE(stored.ok(), "reading the schedules: "
                                       << (stored ? "" : stored.error().message));
  for (const auto& [name, why] : corrupt)
    found.fail("schedules_readable", name + ": " + why);

  // Every job of the store; tick jobs by schedule and tick.
  std::map<std::string, std::map<millis, std::vector<job_id>>> jobs_of;
  std::map<job_id, jobrt::job_record> tick_jobs;
  std::uint64_t unfinished = 0;
  jobrt::list_query q;
  q.limit = 1000;
  for (;;) {
    auto page = st.list(q);
    BOOST_REQUIRE_MESSAGE(page.ok(), "listing jobs: " << (page ? "" : page.error().message));
    for (auto& rec : page->jobs) {
      if (final && rec.status != job_status::completed) {
        ++unfinished;
        found.fail("all_jobs_completed", "job " + std::to_string(rec.id) + " (" + rec.type
                                           + ", key '" + rec.idempotency_key + "') is "
                                           + jobrt::to_string(rec.status)
                                           + (rec.error.empty() ? "" : ": " + rec.error));
      }
      if (rec.type != "tick")
        continue;
      const std::string prefix = "jobrt.schedule/";
      const auto& key = rec.idempotency_key;
      auto slash = key.rfind('/');
      if (key.rfind(prefix, 0) != 0 || slash == std::string::npos || slash < prefix.size()) {
        found.fail("tick_jobs_keyed", "job " + std::to_string(rec.id) + " has the key '" + key
                                        + "'");
        continue;
      }
      auto name = key.substr(prefix.size(), slash - prefix.size());
      millis tick = 0;
      try {
        tick = std::stoll(key.substr(slash + 1));
      } catch (const std::exception&) {
        found.fail("tick_jobs_keyed", "job " + std::to_string(rec.id) + " has the key '" + key
                                        + "'");
        continue;
      }
      if (key != jobrt::schedule_tick_key(name, tick))
        found.fail("tick_jobs_keyed", "job " + std::to_string(rec.id) + " has the key '" + key
                                        + "'");
      jobs_of[name][tick].push_back(rec.id);
      tick_jobs.emplace(rec.id, std::move(rec));
    }
    if (page->next_cursor == 0)
      break;
    q.before = page->next_cursor;
  }

  for (auto& [name, ticks] : jobs_of)
    for (auto& [tick, ids] : ticks)
      std::sort(ids.begin(), ids.end());

  std::map<std::string, const jobrt::schedule_info*> by_name;
  for (const auto& s : *stored)
    by_name[s.name] = &s;
  for (const auto& [name, ticks] : jobs_of)
    if (by_name.count(name) == 0)
      found.fail("tick_jobs_keyed", std::to_string(ticks.size())
                                      + " jobs name the schedule '" + name
                                      + "', which the store does not hold");

  for (const auto& sp : schedule_crash::schedules()) {
    auto& facts = led.schedules[sp.name];
    auto it = by_name.find(sp.name);
    if (it == by_name.end()) {
      if (facts.seen)
        found.fail("history_kept", sp.name + ": the schedule is gone from the store");
      continue; // not created yet: the first child died before it could
    }
    const auto& s = *it->second;
    const auto& ticks = jobs_of[sp.name]; // tick -> jobs
    auto nm = sp.name + ": ";

    // no_tick_fired_twice
    {
      std::string twice;
      for (const auto& [tick, ids] : ticks)
        if (ids.size() > 1) {
          twice += " tick " + std::to_string(tick) + " (created_at + "
                   + std::to_string(tick - s.created_at) + " ms) has jobs";
          for (auto id : ids)
            twice += " " + std::to_string(id);
          twice += ";";
        }
      if (!twice.empty())
        found.fail("no_tick_fired_twice", nm + twice);
    }
    // ticks_on_grid, no_tick_after_last_tick
    {
      std::vector<millis> off, late;
      for (const auto& [tick, ids] : ticks) {
        if (tick <= s.created_at || (tick - s.created_at) % sp.interval_ms != 0)
          off.push_back(tick);
        if (tick > s.last_tick)
          late.push_back(tick);
      }
      if (!off.empty())
        found.fail("ticks_on_grid", nm + "ticks not created_at + k * " + std::to_string(sp.interval_ms)
                                      + " ms (created_at " + std::to_string(s.created_at)
                                      + "): " + list_of(off, s.created_at));
      if (!late.empty())
        found.fail("no_tick_after_last_tick",
                   nm + "last_tick is " + std::to_string(s.last_tick) + " (created_at + "
                     + std::to_string(s.last_tick - s.created_at) + " ms), but jobs were submitted for "
                     + list_of(late, s.created_at));
    }
    // no_tick_lost
    if (sp.fires_every_tick()) {
      std::vector<millis> lost;
      for (millis t = s.created_at + sp.interval_ms; t <= s.last_tick; t += sp.interval_ms)
        if (ticks.count(t) == 0)
          lost.push_back(t);
      if (!lost.empty())
        found.fail("no_tick_lost", nm + "no job for " + list_of(lost, s.created_at)
                                     + "; last_tick created_at + "
                                     + std::to_string(s.last_tick - s.created_at) + " ms, "
                                     + std::to_string(ticks.size()) + " ticks with jobs");
    }
    // fired_counts_jobs
    {
      std::uint64_t jobs = 0;
      for (const auto& [tick, ids] : ticks)
        jobs += ids.size();
      if (s.fired != jobs)
        found.fail("fired_counts_jobs", nm + "fired is " + std::to_string(s.fired) + ", but "
                                          + std::to_string(jobs) + " jobs name it");
    }
    // last_job_is_newest
    if (!ticks.empty()) {
      auto newest = std::prev(ticks.end());
      if (s.last_fired_at != newest->first
          || std::find(newest->second.begin(), newest->second.end(), s.last_job)
               == newest->second.end())
        found.fail("last_job_is_newest",
                   nm + "last_job " + std::to_string(s.last_job) + " at "
                     + std::to_string(s.last_fired_at) + ", but the newest tick is "
                     + std::to_string(newest->first) + " with job "
                     + std::to_string(newest->second.front()));
    } else if (s.last_job != 0 || s.fired != 0) {
      found.fail("last_job_is_newest", nm + "no jobs, but last_job " + std::to_string(s.last_job)
                                         + " and fired " + std::to_string(s.fired));
    }
    // history_kept
    if (facts.seen) {
      if (s.created_at != facts.created_at)
        found.fail("history_kept", nm + "created_at changed from "
                                     + std::to_string(facts.created_at) + " to "
                                     + std::to_string(s.created_at));
      if (s.last_tick < facts.last_tick)
        found.fail("history_kept", nm + "last_tick went back from "
                                     + std::to_string(facts.last_tick) + " to "
                                     + std::to_string(s.last_tick));
      if (s.fired < facts.fired)
        found.fail("history_kept", nm + "fired went back from " + std::to_string(facts.fired)
                                     + " to " + std::to_string(s.fired));
      for (const auto& [tick, id] : facts.ticks) {
        auto now = ticks.find(tick);
        if (now == ticks.end())
          found.fail("history_kept", nm + "tick " + std::to_string(tick) + "'s job "
                                       + std::to_string(id) + " is gone");
        else if (std::find(now->second.begin(), now->second.end(), id) == now->second.end())
          found.fail("history_kept", nm + "tick " + std::to_string(tick) + " had job "
                                       + std::to_string(id) + ", now " + std::to_string(now->second.front()));
      }
    }
    // no_overlap_unless_allowed: with on_overlap queue or skip, a tick submits
    // only once the job of the tick before has finished
    if (sp.on_overlap != jobrt::overlapping_ticks::allow) {
      const jobrt::job_record* before = nullptr;
      for (const auto& [tick, ids] : ticks) {
        const auto& rec = tick_jobs.at(ids.front());
        if (before != nullptr
            && (!jobrt::is_finished(before->status) || rec.created_at < before->finished_at))
          found.fail("no_overlap_unless_allowed",
                     nm + "job " + std::to_string(rec.id) + " of tick created_at + "
                       + std::to_string(tick - s.created_at) + " ms was submitted at "
                       + std::to_string(rec.created_at) + ", but job "
                       + std::to_string(before->id) + " of the tick before is "
                       + jobrt::to_string(before->status)
                       + (jobrt::is_finished(before->status)
                            ? " since " + std::to_string(before->finished_at)
                            : std::string{}));
        before = &rec;
      }
    }
    // completed_stays_completed, and the output of a completed tick job
    for (const auto& [tick, ids] : ticks)
      for (auto id : ids) {
        const auto& rec = tick_jobs.at(id);
        if (rec.status == job_status::completed) {
          boost::json::value expected = {{"steps", sp.steps}};
          if (rec.output != expected)
            found.fail("completed_stays_completed",
                       nm + "job " + std::to_string(id) + " completed with "
                         + boost::json::serialize(rec.output) + ", expected "
                         + boost::json::serialize(expected));
          facts.completed.insert(id);
        } else if (facts.completed.count(id) > 0) {
          found.fail("completed_stays_completed", nm + "job " + std::to_string(id)
                                                    + " had completed but is now "
                                                    + jobrt::to_string(rec.status));
        }
        if (rec.status == job_status::failed || rec.status == job_status::cancelled)
          found.fail("completed_stays_completed", nm + "job " + std::to_string(id) + " is "
                                                    + jobrt::to_string(rec.status) + ": "
                                                    + rec.error);
      }

    facts.seen = true;
    facts.created_at = s.created_at;
    facts.last_tick = std::max(facts.last_tick, s.last_tick);
    facts.fired = std::max(facts.fired, s.fired);
    for (const auto& [tick, ids] : ticks)
      facts.ticks.emplace(tick, ids.front());
  }
  (void)unfinished;
}

std::uint64_t total_fired(const loop_ledger& led) {
  std::uint64_t n = 0;
  for (const auto& [name, f] : led.schedules)
    n += f.fired;
  return n;
}

} // namespace

/// The checks themselves: a store written by hand with a tick twice, a tick lost,
/// a tick off the grid and one after `last_tick` fails exactly the checks that
/// name those, listing the ticks; a later store that lost a tick's job and moved
/// `created_at` fails `history_kept`.
BOOST_AUTO_TEST_CASE(the_checks_name_a_doubled_a_lost_and_a_stray_tick) {
  test_jobs::temp_dir dir_guard;
  auto store = (dir_guard.path / "store").string();
  const millis created = 1'700'000'000'000;
  auto write = [&](millis created_at, const std::vector<std::pair<job_id, millis>>& jobs,
                   std::uint64_t fired, job_id last_job, millis last_tick) {
    auto st = crash_support::open_store(store);
    jobrt::storage::write_batch batch;
    for (auto [id, tick] : jobs) {
      jobrt::job_record rec;
      rec.id = id;
      rec.type = "tick";
      rec.params = boost::json::object{{"steps", 4}, {"pace_ms", 150}};
      rec.status = job_status::completed;
      rec.created_at = tick;
      rec.finished_at = tick + 10;
      rec.idempotency_key = jobrt::schedule_tick_key("each", tick);
      rec.output = boost::json::object{{"steps", 4}};
      batch.put_record(std::move(rec));
    }
    jobrt::schedule_info s;
    s.name = "each";
    s.spec = "@every 1s";
    s.type = "tick";
    s.params = boost::json::object{{"steps", 4}, {"pace_ms", 150}};
    s.options = spec_of("each")->options();
    s.created_at = created_at;
    s.last_tick = last_tick;
    s.last_job = last_job;
    s.last_fired_at = last_tick;
    s.fired = fired;
    batch.put_schedule(std::make_shared<const jobrt::schedule_info>(s));
    auto done = st->commit(batch);
    BOOST_REQUIRE_MESSAGE(done.ok(), (done ? "" : done.error().message));
  };
  // Ticks 1, 2 (twice), 4, 5 s and 6.5 s after creation; 3 s is lost; last_tick 5 s.
  write(created,
        {{1, created + 1000}, {2, created + 2000}, {3, created + 2000}, {4, created + 4000},
         {5, created + 5000}, {6, created + 6500}},
        5, 5, created + 5000);
  loop_ledger led;
  checks found;
  check_store(store, led, found, true);
  std::set<std::string> names;
  for (const auto& [check, whats] : found.failed)
    names.insert(check);
  std::set<std::string> expected{"no_tick_fired_twice", "no_tick_lost",   "ticks_on_grid",
                                 "no_tick_after_last_tick", "fired_counts_jobs",
                                 "last_job_is_newest"};
  BOOST_TEST(names == expected);
  auto says = [&](const std::string& check, const std::string& text) {
    for (const auto& w : found.failed[check])
      if (w.find(text) != std::string::npos)
        return true;
    return false;
  };
  BOOST_TEST(says("no_tick_fired_twice", "created_at + 2000 ms) has jobs 2 3"));
  BOOST_TEST(says("no_tick_lost", "no job for [" + std::to_string(created + 3000)
                                    + " (created_at + 3000 ms)]"));
  BOOST_TEST(says("ticks_on_grid", "(created_at + 6500 ms)"));
  BOOST_TEST(says("no_tick_after_last_tick", "(created_at + 6500 ms)"));
  BOOST_TEST(says("fired_counts_jobs", "fired is 5, but 6 jobs name it"));

  // The next look: created_at moved by a second and tick 1's job is gone (its
  // record overwritten by tick 7's), else consistent.
  write(created + 1000,
        {{1, created + 7000}, {2, created + 2000}, {3, created + 3000}, {4, created + 4000},
         {5, created + 5000}, {6, created + 6000}},
        6, 1, created + 7000);
  checks again;
  check_store(store, led, again, true);
  BOOST_TEST(again.failed.count("history_kept") == 1u);
  std::string history;
  for (const auto& w : again.failed["history_kept"])
    history += w + "\n";
  BOOST_TEST(history.find("created_at changed") != std::string::npos, history);
  BOOST_TEST(history.find("tick " + std::to_string(created + 1000) + "'s job 1 is gone")
               != std::string::npos, history);
}

BOOST_AUTO_TEST_CASE(every_tick_fires_exactly_once_across_sigkills) {
  auto opts = parse_options();
  crash_support::loop_start loop{"schedule_crash", opts};
  std::uniform_int_distribution<int> run_ms(0, 1500);
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<millis> around_tick(-3, 8);
  loop_ledger led;
  auto began = std::chrono::steady_clock::now();
  for (int k = 1; k <= opts.kills; ++k) {
    // After one kill in five the process stays down for 1-2.5 s: ticks are
    // missed, and the next start catches them up (run_each), folds them into
    // one (run_once) or drops them (skip).
    if (percent(loop.rng) < 20) {
      auto down = std::uniform_int_distribution<int>(1000, 2500)(loop.rng);
      ++led.long_downs;
      std::this_thread::sleep_for(std::chrono::milliseconds(down));
    }
    // A kill 0-1.5 s after the child has its schedules in place; one in five in
    // its start-up instead (recovery, which fires at once the ticks that came due
    // while the process was down, and the schedule() calls); of the others, three
    // in five aimed at a tick of "each", 3 ms before to 8 ms after it (each
    // schedule's ticks are a few ms apart from the others'). Start-up is timed
    // on the last child that got through it, so that a slow build (a sanitizer)
    // gets the same mix.
    kill_plan plan;
    millis aimed_tick = 0;
    auto& each = led.schedules["each"];
    auto child_seed = loop.rng();
    auto mode = percent(loop.rng);
    auto delay = std::chrono::milliseconds(run_ms(loop.rng));
    if (mode < 20 && k > 1) {
      plan.run_for = crash_support::startup_kill_delay(loop.rng, led.startup_ms);
      ++led.early;
    } else if (each.seen && percent(loop.rng) < 60) {
      auto earliest = wall_now() + led.startup_ms + 50 + delay.count() / 2;
      auto k_ticks = (earliest - each.created_at + 999) / 1000;
      aimed_tick = each.created_at + k_ticks * 1000;
      plan.at = aimed_tick + around_tick(loop.rng);
      ++led.aimed;
    } else {
      plan.after_up = true;
      plan.run_for = delay;
    }
    auto ups_before = led.ups;
    millis killed_at = 0;
    std::chrono::milliseconds up_after{-1};
    run_and_kill(opts.child, loop.store, child_seed, plan, led, killed_at, up_after);
    if (up_after.count() >= 0)
      led.startup_ms = up_after.count();
    if (plan.at)
      led.aimed_offsets.push_back(killed_at - aimed_tick);
    if (led.ups == ups_before)
      ++led.before_up;
    checks found;
    check_store(loop.store, led, found, false);
    std::swap(found.failed["recreate_keeps_history"], led.found.failed["recreate_keeps_history"]);
    std::swap(found.failed["child_errors"], led.found.failed["child_errors"]);
    // A kill after the tick it aimed at, with the tick not in the store: the
    // kill came between the tick's moment and its commit (the next child
    // must fire it).
    if (plan.at && killed_at >= aimed_tick && led.schedules["each"].last_tick < aimed_tick)
      ++led.before_commit;
    for (auto it = found.failed.begin(); it != found.failed.end();)
      it = it->second.empty() ? found.failed.erase(it) : std::next(it);
    found.report(" (after kill " + std::to_string(k) + (plan.at ? ", aimed at a tick" : "")
                 + ", seed " + std::to_string(opts.seed) + ")");
    BOOST_REQUIRE_MESSAGE(found.ok(), "stopping after kill " << k);
  }
  auto killing = std::chrono::steady_clock::now() - began;
  led.fired_at_last_kill = total_fired(led);
  std::map<std::string, std::uint64_t> fired_before;
  for (const auto& [name, f] : led.schedules)
    fired_before[name] = f.fired;

  // A clean run: the schedules catch up and tick on time, then are paused, and
  // every job finishes.
  millis paused_at = 0;
  {
    auto rt = crash_support::start_runtime(crash_support::final_run_options(loop.store));
    auto& r = *rt;
    std::this_thread::sleep_for(3500ms);
    paused_at = wall_now();
    for (const auto& sp : schedule_crash::schedules()) {
      auto res = r.pause_schedule(sp.name);
      BOOST_REQUIRE_MESSAGE(res.ok(), "pausing " << sp.name << ": " << res.error().message);
    }
    jobrt::list_query q;
    q.statuses = {job_status::queued, job_status::running, job_status::waiting,
                  job_status::paused};
    q.limit = 1;
    auto until = std::chrono::steady_clock::now() + 60s;
    for (;;) {
      auto page = r.list(q);
      BOOST_REQUIRE_MESSAGE(page.ok(), (page ? "" : page.error().message));
      if (page->jobs.empty())
        break;
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until,
                            "not every job finished in the final run (60 s): job "
                              << page->jobs.front().id << " is "
                              << jobrt::to_string(page->jobs.front().status));
      std::this_thread::sleep_for(50ms);
    }
    r.shutdown();
  }
  checks found;
  check_store(loop.store, led, found, true);
  for (const auto& sp : schedule_crash::schedules()) {
    const auto& f = led.schedules[sp.name];
    if (!f.seen) {
      found.fail("schedules_kept_up", sp.name + ": never created");
      continue;
    }
    // On time again: its last tick is at most an interval (and 1.5 s of slack
    // for a busy machine) before the pause.
    if (sp.keeps_up() && f.last_tick < paused_at - sp.interval_ms - 1500)
      found.fail("schedules_kept_up", sp.name + ": last_tick " + std::to_string(f.last_tick)
                                        + " is " + std::to_string(paused_at - f.last_tick)
                                        + " ms before the final run paused it");
    if (sp.on_overlap != jobrt::overlapping_ticks::skip && f.fired <= fired_before[sp.name])
      found.fail("schedules_kept_up", sp.name + ": fired nothing in the final run (fired "
                                        + std::to_string(f.fired) + ")");
  }
  found.report(" (after the final run, seed " + std::to_string(opts.seed) + ")");

  std::cout << "schedule_crash: " << opts.kills << " kills in "
            << std::chrono::duration_cast<std::chrono::seconds>(killing).count() << " s ("
            << led.early << " in start-up, " << led.aimed
            << " aimed at a tick, " << led.long_downs << " followed by 1-2.5 s down; kill - tick in ms:";
  for (auto o : led.aimed_offsets)
    std::cout << " " << o;
  std::cout << "; " << led.before_commit
            << " of them after the tick and before its commit); " << led.before_up << " kills before the child had its schedules in place"
            << " (start-up took " << led.startup_ms << " ms the last time), " << led.created
            << " schedules created, " << led.recreated << " created again over a stored one;";
  for (const auto& sp : schedule_crash::schedules()) {
    const auto& f = led.schedules[sp.name];
    std::cout << " " << sp.name << ": " << f.fired << " jobs over "
              << (f.last_tick - f.created_at) / sp.interval_ms << " ticks;";
  }
  std::cout << " seed " << opts.seed << std::endl;
  BOOST_TEST(led.ups > 0u, "no child ever got its schedules in place: the loop tested nothing");
  BOOST_TEST(led.schedules["each"].fired >= 5u, "too few ticks fired to test anything");
}
