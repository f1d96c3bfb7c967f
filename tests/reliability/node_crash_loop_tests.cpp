/// The node crash loop: a coordinator (node_loss_child, a durable LMDB store,
/// topping its unfinished `node_steps` jobs up to a steady load) and three
/// worker nodes; again and again a node chosen with a seeded RNG (a worker, or
/// now and then the coordinator) is killed with SIGKILL at a random moment and
/// started again after a random pause, the coordinator on its data directory
/// and port; before some kills a worker is frozen (SIGSTOP) for a moment or
/// past the node timeout, and thawed. Each time the coordinator dies, every
/// worker must stop its runs at once (leave within a second). At the end the
/// coordinator is started without load and every job acknowledged by a submit
/// must complete, with a history that passes the checks of
/// node_loss_harness.hpp (every step once, no step of an older run after one
/// of a newer, rework within one checkpoint interval, the store agreeing).
///
///   node_crash_loop_tests --color_output=false -- NODE_LOSS_CHILD [--kills N] [--seed S]
///
/// (or JOBRT_CRASH_LOOP_KILLS / JOBRT_CRASH_LOOP_SEED). The seed is printed;
/// passing it again replays the same choices (thread timing still varies).

#define BOOST_TEST_MODULE node_crash_loop_tests
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "reliability/node_loss_harness.hpp"

using namespace std::chrono_literals;
using node_loss::cluster;

namespace {

constexpr std::int64_t steps = 30;
constexpr std::int64_t every = 3;
const std::vector<std::string> workers{"w1", "w2", "w3"};

std::vector<std::string> load() {
  return {"--keep", "6", "--steps", std::to_string(steps), "--every", std::to_string(every),
          "--pace", "20"};
}

} // namespace

BOOST_AUTO_TEST_CASE(nodes_killed_at_random_under_load_lose_no_acknowledged_job_and_no_history_shows_two_runs_at_once) {
  crash_support::loop_args o;
  crash_support::read_loop_args(o, 6, "node_loss_child");
  crash_support::announce("node_crash_loop", o);
  std::mt19937_64 rng{o.seed};
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };

  cluster c{o.child, 1000ms};
  c.start_coordinator(load());
  for (const auto& w : workers)
    c.start_worker(w, 2);
  for (const auto& w : workers)
    BOOST_REQUIRE_MESSAGE(c.wait_joined(w, 1), w << " did not join" << c.errors_text());

  crash_support::checks found;
  int coordinator_kills = 0, worker_kills = 0;
  int freezes = 0, long_freezes = 0;
  for (int k = 1; k <= o.kills; ++k) {
    c.pump(std::chrono::milliseconds(pick(200, 1500)));
    // Now and then a worker stalls first (SIGSTOP, then SIGCONT): briefly, or
    // past the node timeout, so that its runs move and its late work is fenced.
    if (pick(0, 3) == 0) {
      auto frozen = workers[static_cast<std::size_t>(pick(0, 2))];
      bool long_one = pick(0, 1) == 1;
      if (c.alive(frozen)) {
        ++freezes;
        long_freezes += long_one;
        BOOST_TEST_MESSAGE("freeze " << frozen << (long_one ? " past the node timeout" : ""));
        c.freeze(frozen);
        c.pump(std::chrono::milliseconds(long_one ? pick(1500, 2000) : pick(300, 700)));
        c.thaw(frozen);
        c.pump(std::chrono::milliseconds(pick(0, 500)));
      }
    }
    bool coordinator = pick(0, 3) == 0;
    auto victim = coordinator ? std::string{"coordinator"}
                              : workers[static_cast<std::size_t>(pick(0, 2))];
    // The workers in now, and how often each has left so far.
    std::map<std::string, std::size_t> lefts;
    std::vector<std::string> in;
    for (const auto& w : workers) {
      lefts[w] = c.led().lefts_of(w);
      if (c.joined(w))
        in.push_back(w);
    }
    BOOST_TEST_MESSAGE("kill " << k << ": " << victim);
    auto killed_at = cluster::now_t();
    c.kill(victim);
    if (coordinator) {
      ++coordinator_kills;
      // Every worker that was in stops its runs and leaves at once.
      c.wait_for(
        [&] {
          for (const auto& w : in)
            if (c.led().lefts_of(w) <= lefts[w])
              return false;
          return true;
        },
        5s);
      for (const auto& w : in) {
        if (c.led().lefts_of(w) <= lefts[w]) {
          found.fail("workers_leave_when_the_coordinator_dies",
                     "kill " + std::to_string(k) + ": " + w + " did not leave in 5 s");
          continue;
        }
        auto after_ms = (c.led().lefts.at(w).back().second - killed_at) / 1000;
        if (after_ms > 1000)
          found.fail("workers_leave_when_the_coordinator_dies",
                     "kill " + std::to_string(k) + ": " + w + " left " + std::to_string(after_ms)
                       + " ms after it");
      }
    } else {
      ++worker_kills;
    }
    c.pump(std::chrono::milliseconds(pick(0, 600)));
    if (coordinator)
      c.start_coordinator(load());
    else
      c.start_worker(victim, 2);
  }

  // The dust settles: no new load, every node in, every acknowledged job done.
  c.kill("coordinator");
  c.start_coordinator();
  for (const auto& w : workers)
    if (!c.alive(w))
      c.start_worker(w, 2);
  bool all_done = c.wait_for([&] { return c.led().all_done(); }, 60s);
  BOOST_CHECK_MESSAGE(all_done, "not every job completed: " << c.led().done_count() << " of "
                                                            << c.led().submitted.size()
                                                            << c.errors_text());
  node_loss::check_histories(c.led(), steps, every, found);
  c.kill("coordinator");
  for (const auto& w : workers)
    c.kill(w);
  node_loss::check_store(c.store(), c.led(), found);
  std::cout << "node_crash_loop: " << o.kills << " kills (" << coordinator_kills
            << " of the coordinator, " << worker_kills << " of workers), " << freezes
            << " workers frozen (" << long_freezes << " past the node timeout); "
            << node_loss::summary(c.led()) << std::endl;
  found.report(" (seed " + std::to_string(o.seed) + ")");
}
