/// Losing worker nodes and the coordinator, with real processes: a coordinator
/// (a durable LMDB store, no job run in its own process) and worker nodes, each
/// a node_loss_child, running `node_steps` jobs (node_loss_job.hpp) whose output
/// is the history of which attempt on which node did each step. A worker killed
/// with SIGKILL, a worker frozen with SIGSTOP past the node timeout and then
/// thawed, and the coordinator killed and restarted on its data directory and
/// port: after each, every acknowledged job completes, every step appears once,
/// no step of an older run follows one of a newer run, and no run resumes more
/// than one checkpoint interval behind the run before it (the checks:
/// node_loss_harness.hpp).
///
///   node_loss_tests --color_output=false -- NODE_LOSS_CHILD

#define BOOST_TEST_MODULE node_loss_tests
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <iostream>
#include <set>
#include <string>

#include "reliability/node_loss_harness.hpp"

using namespace std::chrono_literals;
using jobrt::job_id;
using node_loss::cluster;
using node_loss::ledger;

namespace {

std::string child_path() {
  auto& suite = boost::unit_test::framework::master_test_suite();
  for (int i = 1; i < suite.argc; ++i) {
    std::string arg = suite.argv[i];
    if (arg.rfind("--", 0) != 0)
      return arg;
  }
  BOOST_FAIL("pass the node_loss_child path after --");
  return {};
}

constexpr auto node_timeout = 1000ms;
constexpr std::int64_t steps = 40;

std::vector<std::string> load(int jobs, std::int64_t every) {
  return {"--submit", std::to_string(jobs), "--steps", std::to_string(steps),
          "--every", std::to_string(every), "--pace", "25"};
}

/// Whether every acknowledged job has run at least `n` steps (anywhere).
bool all_past(const ledger& led, std::size_t jobs, std::int64_t n) {
  if (led.submitted.size() < jobs)
    return false;
  for (auto id : led.submitted) {
    auto s = led.steps.find(id);
    if (s == led.steps.end())
      return false;
    std::int64_t furthest = 0;
    for (const auto& r : s->second)
      furthest = std::max(furthest, r.n);
    if (furthest < n)
      return false;
  }
  return true;
}

/// The jobs whose latest run is on `worker`.
std::set<job_id> running_on(const ledger& led, const std::string& worker) {
  std::set<job_id> out;
  for (auto id : led.submitted)
    if (auto* r = led.last_start(id); r && r->node == worker && led.done.count(id) == 0)
      out.insert(id);
  return out;
}

/// Ends the test: every process gone, the histories and the store checked.
void finish(cluster& c, std::int64_t every, const std::vector<std::string>& names) {
  crash_support::checks found;
  node_loss::check_histories(c.led(), steps, every, found);
  for (const auto& n : names)
    c.kill(n);
  node_loss::check_store(c.store(), c.led(), found);
  found.report("");
  std::cout << "  " << node_loss::summary(c.led()) << "; coordinator counters: lost="
            << c.led().stat("lost") << " taken_back=" << c.led().stat("taken_back")
            << " dropped=" << c.led().stat("dropped") << std::endl;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_worker_killed_mid_job_has_its_jobs_resume_on_another_worker_from_their_last_checkpoint) {
  constexpr std::int64_t every = 4;
  cluster c{child_path(), node_timeout};
  c.start_coordinator(load(4, every));
  c.start_worker("w1", 4);
  BOOST_REQUIRE(c.wait_joined("w1", 1));
  // Every job well into its steps on w1 (and past a checkpoint) before w2 joins.
  BOOST_REQUIRE_MESSAGE(c.wait_for([&] { return all_past(c.led(), 4, 9); }, 20s),
                        "the jobs did not get going on w1" << c.errors_text());
  c.start_worker("w2", 4);
  BOOST_REQUIRE(c.wait_joined("w2", 1));
  auto victims = running_on(c.led(), "w1");
  BOOST_REQUIRE_EQUAL(victims.size(), 4u);
  auto killed_at = cluster::now_t();
  c.kill("w1");

  BOOST_CHECK_MESSAGE(c.wait_for([&] { return c.led().all_done(); }, 30s),
                      "not every job completed: " << c.led().done_count() << " of "
                                                  << c.led().submitted.size() << c.errors_text());
  for (auto id : victims) {
    auto* r = c.led().last_start(id);
    BOOST_REQUIRE(r != nullptr);
    BOOST_CHECK_MESSAGE(r->node == "w2" && r->t > killed_at,
                        "job " << id << " did not move to w2 (last run on " << r->node << ")");
    BOOST_CHECK_MESSAGE(r->from >= 8, "job " << id << " resumed after step " << r->from
                                             << ", not from its last checkpoint");
    BOOST_CHECK_GE(r->attempt, 2);
  }
  BOOST_CHECK_MESSAGE(
    c.wait_for([&] { return c.led().stat("lost") >= 1 && c.led().stat("taken_back") >= 4; }, 5s),
    "the coordinator counted " << c.led().stat("lost") << " nodes lost and "
                               << c.led().stat("taken_back") << " runs taken back");
  finish(c, every, {"coordinator", "w2"});
}

BOOST_AUTO_TEST_CASE(a_worker_frozen_past_the_node_timeout_loses_its_jobs_and_once_thawed_its_late_work_is_dropped_and_it_rejoins_as_a_new_node) {
  constexpr std::int64_t every = 2;
  cluster c{child_path(), node_timeout};
  c.start_coordinator(load(4, every));
  c.start_worker("w1", 4);
  BOOST_REQUIRE(c.wait_joined("w1", 1));
  BOOST_REQUIRE_MESSAGE(c.wait_for([&] { return all_past(c.led(), 4, 6); }, 20s),
                        "the jobs did not get going on w1" << c.errors_text());
  c.start_worker("w2", 4);
  BOOST_REQUIRE(c.wait_joined("w2", 1));
  auto victims = running_on(c.led(), "w1");
  BOOST_REQUIRE_EQUAL(victims.size(), 4u);
  std::map<job_id, std::int64_t> old_attempt;
  for (auto id : victims)
    old_attempt[id] = c.led().last_start(id)->attempt;
  auto first_node = c.led().joins.at("w1").back().first;

  c.freeze("w1");
  auto frozen_at = cluster::now_t();
  // Its jobs move to w2 once the coordinator has not heard from it for the timeout.
  auto moved = [&] {
    for (auto id : victims) {
      auto* r = c.led().last_start(id);
      if (r == nullptr || r->node != "w2")
        return false;
    }
    return true;
  };
  BOOST_REQUIRE_MESSAGE(c.wait_for(moved, 15s), "w1's jobs did not move to w2" << c.errors_text());
  auto moved_after_ms = (cluster::now_t() - frozen_at) / 1000;
  BOOST_TEST_MESSAGE("jobs moved " << moved_after_ms << " ms after the freeze");
  // Its last heartbeat may have left up to one interval (200 ms) before the freeze.
  BOOST_CHECK_GE(moved_after_ms, node_timeout.count() - 300);
  for (auto id : victims) {
    auto* r = c.led().last_start(id);
    BOOST_CHECK_GT(r->attempt, old_attempt[id]);
    BOOST_CHECK_GE(r->from, 6 - every);
  }
  BOOST_CHECK_MESSAGE(
    c.wait_for([&] { return c.led().stat("lost") >= 1 && c.led().stat("taken_back") >= 4; }, 5s),
    "the coordinator counted " << c.led().stat("lost") << " nodes lost and "
                               << c.led().stat("taken_back") << " runs taken back");
  // Let the new runs take a few steps, then thaw w1 while they run.
  BOOST_REQUIRE(
    c.wait_for([&] { return c.led().steps_on_after("w2", frozen_at) >= 3 * victims.size(); }, 10s));
  auto lefts = c.led().lefts_of("w1");
  auto stopped_before = c.led().runs_stopped.count("w1") ? c.led().runs_stopped.at("w1") : 0;
  c.thaw("w1");
  auto thawed_at = cluster::now_t();
  // It learns it was evicted, stops its runs and joins again as a new node.
  BOOST_REQUIRE_MESSAGE(c.wait_for([&] { return c.led().lefts_of("w1") > lefts; }, 10s),
                        "w1 did not leave after the thaw" << c.errors_text());
  auto& left = c.led().lefts.at("w1").back();
  BOOST_CHECK_GE(left.first - stopped_before, victims.size());
  BOOST_TEST_MESSAGE("w1 left " << (left.second - thawed_at) / 1000 << " ms after the thaw");
  BOOST_REQUIRE_MESSAGE(c.wait_joined("w1", 2, 10s), "w1 did not join again" << c.errors_text());
  BOOST_CHECK_NE(c.led().joins.at("w1").back().first, first_node);
  // No step of w1's old runs after it left.
  BOOST_CHECK_EQUAL(c.led().steps_on_after("w1", left.second + 50'000,
                                           c.led().joins.at("w1").back().second),
                    0u);

  BOOST_CHECK_MESSAGE(c.wait_for([&] { return c.led().all_done(); }, 30s),
                      "not every job completed: " << c.led().done_count() << " of "
                                                  << c.led().submitted.size() << c.errors_text());
  // The steps w1's old runs took after the thaw were dropped: none is in a history.
  std::size_t late = 0;
  for (auto id : victims)
    for (const auto& s : c.led().steps.at(id))
      if (s.node == "w1" && s.attempt == old_attempt[id] && s.t > thawed_at) {
        ++late;
        auto d = c.led().done.find(id);
        if (d == c.led().done.end())
          continue;
        auto h = jobrt::decode<node_loss::steps_state>(boost::json::parse(d->second));
        if (h && static_cast<std::size_t>(s.n) <= h->steps.size())
          BOOST_CHECK_MESSAGE(!(h->attempts[s.n - 1] == s.attempt && h->nodes[s.n - 1] == "w1"),
                              "job " << id << ": step " << s.n << " that frozen w1 ran after "
                                     << "the thaw is in its history");
      }
  BOOST_TEST_MESSAGE(late << " late steps of w1's old runs; messages dropped by the coordinator: "
                          << c.led().stat("dropped"));
  finish(c, every, {"coordinator", "w1", "w2"});
}

BOOST_AUTO_TEST_CASE(the_coordinator_killed_while_workers_run_jobs_has_them_stop_at_once_and_after_its_restart_on_the_same_port_every_job_completes) {
  constexpr std::int64_t every = 3;
  cluster c{child_path(), node_timeout};
  c.start_coordinator(load(6, every));
  c.start_worker("w1", 3);
  c.start_worker("w2", 3);
  BOOST_REQUIRE(c.wait_joined("w1", 1));
  BOOST_REQUIRE(c.wait_joined("w2", 1));
  BOOST_REQUIRE_MESSAGE(c.wait_for([&] { return all_past(c.led(), 6, 7); }, 20s),
                        "the jobs did not get going" << c.errors_text());
  std::map<std::string, std::size_t> held{{"w1", running_on(c.led(), "w1").size()},
                                          {"w2", running_on(c.led(), "w2").size()}};
  BOOST_REQUIRE_EQUAL(held["w1"] + held["w2"], 6u);
  std::map<std::string, std::uint64_t> stopped_before;
  for (const auto& w : {"w1", "w2"})
    stopped_before[w] = c.led().runs_stopped.count(w) ? c.led().runs_stopped.at(w) : 0;

  auto killed_at = cluster::now_t();
  c.kill("coordinator");
  // Both workers see the link break and stop their runs at once.
  BOOST_REQUIRE_MESSAGE(
    c.wait_for([&] { return c.led().lefts_of("w1") >= 1 && c.led().lefts_of("w2") >= 1; }, 10s),
    "the workers did not notice the coordinator's death" << c.errors_text());
  for (const auto& w : {"w1", "w2"}) {
    const auto& left = c.led().lefts.at(w).back();
    auto after_ms = (left.second - killed_at) / 1000;
    BOOST_TEST_MESSAGE(w << " left " << after_ms << " ms after the kill");
    BOOST_CHECK_MESSAGE(after_ms < 1000, w << " left only " << after_ms << " ms after the kill");
    BOOST_CHECK_GE(left.first - stopped_before[w], held[w]);
  }
  // With the coordinator down, no worker takes another step.
  c.pump(500ms);
  auto quiet_from = std::max(c.led().lefts.at("w1").back().second,
                             c.led().lefts.at("w2").back().second)
                    + 50'000;
  BOOST_CHECK_EQUAL(c.led().steps_on_after("w1", quiet_from), 0u);
  BOOST_CHECK_EQUAL(c.led().steps_on_after("w2", quiet_from), 0u);

  c.start_coordinator();
  BOOST_CHECK_MESSAGE(c.wait_joined("w1", 2, 10s) && c.wait_joined("w2", 2, 10s),
                      "the workers did not join the restarted coordinator" << c.errors_text());
  BOOST_CHECK_MESSAGE(c.wait_for([&] { return c.led().all_done(); }, 30s),
                      "not every job completed: " << c.led().done_count() << " of "
                                                  << c.led().submitted.size() << c.errors_text());
  for (auto id : c.led().submitted)
    if (auto* r = c.led().last_start(id))
      BOOST_CHECK_MESSAGE(r->t > killed_at && r->from >= 7 - every,
                          "job " << id << ": its last run began after step " << r->from);
  finish(c, every, {"coordinator", "w1", "w2"});
}

// A regression test: a worker that joins while jobs are queued is handed runs
// at once, and its agent once dropped a run that reached it before its welcome
// (the run then stayed `running` on the coordinator, with no job actor
// anywhere, until the node was lost). Each round kills the worker, whose runs go
// back to the queue, and starts it again: every job must start on it again.
BOOST_AUTO_TEST_CASE(a_worker_that_joins_while_jobs_wait_starts_every_job_it_is_handed) {
  constexpr std::int64_t every = 2;
  constexpr int jobs = 8, rounds = 5;
  cluster c{child_path(), node_timeout};
  c.start_coordinator({"--submit", std::to_string(jobs), "--steps", std::to_string(steps),
                       "--every", std::to_string(every), "--pace", "60"});
  for (int round = 1; round <= rounds; ++round) {
    auto from = cluster::now_t();
    c.start_worker("w1", jobs);
    auto started_again = [&] {
      if (c.led().submitted.size() < static_cast<std::size_t>(jobs))
        return false;
      for (auto id : c.led().submitted) {
        auto* r = c.led().last_start(id);
        if (c.led().done.count(id) == 0 && (r == nullptr || r->t < from))
          return false;
      }
      return true;
    };
    BOOST_REQUIRE_MESSAGE(c.wait_for(started_again, 10s),
                          "round " << round << ": not every queued job started on the worker "
                                               "that joined"
                                   << c.errors_text());
    if (round < rounds)
      c.kill("w1");
  }
  BOOST_CHECK_MESSAGE(c.wait_for([&] { return c.led().all_done(); }, 30s),
                      "not every job completed: " << c.led().done_count() << " of "
                                                  << c.led().submitted.size() << c.errors_text());
  finish(c, every, {"coordinator", "w1"});
}

