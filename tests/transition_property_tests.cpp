#define BOOST_TEST_MODULE transition_property_tests
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <set>
#include <thread>

#include "scripted_jobs.hpp"
#include "test_jobs.hpp"

// A property of the whole runtime, checked on random runs: whatever happens in
// whatever order (submits, steps, replies that arrive at any moment, rate
// limits, retries, timers, pauses, resumes, cancels, retries by hand and, on
// LMDB, restarts), every status a subscriber sees follows an edge of
// `jobrt::transitions`, the scheduler never has to refuse a move of its own,
// and a pause or cancel that was acknowledged holds until the test changes it.
//
// Each run is seeded and reproducible. CTest runs a bounded number; for more:
//   transition_property_tests -- --runs 500 --seed 7 [--storage memory]

using namespace std::chrono_literals;
using jobrt::job_status;
using test_jobs::runtime_fixture;

JOBRT_REGISTER_JOB(scripted::script_job);

namespace {

/// A number given as `--name N` after `--`, or `fallback`.
std::uint64_t flag(const std::string& name, std::uint64_t fallback) {
  const auto& suite = boost::unit_test::framework::master_test_suite();
  for (int i = 1; i + 1 < suite.argc; ++i)
    if (suite.argv[i] == "--" + name)
      return std::stoull(suite.argv[i + 1]);
  return fallback;
}

bool is_edge(job_status from, job_status to) {
  return jobrt::can_transition(from, to);
}

/// One random run against one runtime (restarted now and then on LMDB).
class random_run : public runtime_fixture {
public:
  explicit random_run(std::uint64_t seed) : runtime_fixture(2, true), rng_(seed), seed_(seed) {
    scripted::replies_handled = 0;
    scripted::spawn_responder(rt->system());
  }
  ~random_run() { scripted::stop_responder(); }

  void run(int events) {
    for (int i = 0; i < events; ++i) {
      step_once();
      check_acknowledged_steering_holds();
    }
    finish_everything();
    check_every_observed_change_is_an_edge();
    auto s = rt->stats();
    BOOST_REQUIRE(s.ok());
    BOOST_TEST(s->refused_transitions + refused_before_restarts_ == 0u, "seed " << seed_);
    BOOST_TEST_MESSAGE("seed " << seed_ << ": " << ids_.size() << " jobs, " << pauses_
                                << " pauses and " << cancels_ << " cancels acknowledged, "
                                << scripted::replies_handled.load() << " replies handled, "
                                << restarts_ << " restarts");
  }

private:
  /// What the test acknowledged last for a job, which must hold.
  enum class held { none, paused, cancelled };

  void step_once() {
    std::uniform_int_distribution<int> pick{0, 99};
    auto p = pick(rng_);
    if (p < 18 || ids_.empty())
      submit_random_job();
    else if (p < 34)
      pause(any_job());
    else if (p < 48)
      resume(any_job());
    else if (p < 56)
      cancel(any_job());
    else if (p < 60)
      retry(any_job());
    else if (p < 75)
      clock->advance(std::uniform_int_distribution<int>{0, 700}(rng_));
    else if (p < 92)
      caf::anon_send(scripted::responder, scripted::release_atom::value);
    else if (p < 94 && test_jobs::tested_storage() == jobrt::storage_kind::lmdb)
      restart_runtime();
    else
      std::this_thread::yield(); // let the actors run a little
  }

  void submit_random_job() {
    static const std::vector<std::string> commands{
      "step", "step", "checkpoint", "rate_limit:300", "fail", "ask:complete", "ask:next",
      "ask:next", "ask:fail", "ask:rate_limit:200", "ask:fail_for_good"};
    std::uniform_int_distribution<std::size_t> length{1, 5};
    std::uniform_int_distribution<std::size_t> which{0, commands.size() - 1};
    boost::json::array script;
    for (auto n = length(rng_); n > 0; --n)
      script.emplace_back(commands[which(rng_)]);
    auto id = submit("scripted", {{"script", script}});
    ids_.push_back(id);
  }

  jobrt::job_id any_job() {
    return ids_[std::uniform_int_distribution<std::size_t>{0, ids_.size() - 1}(rng_)];
  }

  void pause(jobrt::job_id id) {
    if (rt->pause(id).ok()) {
      held_[id] = held::paused;
      ++pauses_;
    }
  }
  void resume(jobrt::job_id id) {
    if (rt->resume(id).ok())
      held_[id] = held::none;
  }
  void cancel(jobrt::job_id id) {
    if (rt->cancel(id).ok()) {
      held_[id] = held::cancelled;
      ++cancels_;
    }
  }
  void retry(jobrt::job_id id) {
    if (rt->retry(id).ok())
      held_[id] = held::none;
  }

  void restart_runtime() {
    auto s = rt->stats();
    if (s)
      refused_before_restarts_ += s->refused_transitions;
    scripted::stop_responder();
    // The old runtime's last events may still be on their way until it is gone,
    // so its life is closed only after it stopped.
    stop();
    segments_.push_back(events.statuses_by_job());
    events.clear();
    start(2);
    ++restarts_;
    scripted::spawn_responder(rt->system());
  }

  /// Every pause and cancel the test saw acknowledged still holds, in the store.
  void check_acknowledged_steering_holds() {
    for (const auto& [id, h] : held_) {
      if (h == held::none)
        continue;
      auto rec = rt->get(id);
      BOOST_REQUIRE(rec.ok());
      auto expected = h == held::paused ? job_status::paused : job_status::cancelled;
      BOOST_TEST(rec->status == expected, "job " << id << ", seed " << seed_);
    }
  }

  /// Resumes what is paused, answers every request and moves time on until
  /// every job has finished; retries and rate limits need the clock.
  void finish_everything() {
    for (auto id : ids_)
      if (held_[id] == held::paused)
        resume(id);
    for (int round = 0; round < 2'000; ++round) {
      bool all_done = true;
      for (auto id : ids_) {
        auto rec = rt->get(id);
        BOOST_REQUIRE(rec.ok());
        if (!jobrt::is_finished(rec->status))
          all_done = false;
      }
      if (all_done)
        return;
      caf::anon_send(scripted::responder, scripted::release_atom::value);
      clock->advance(100);
      std::this_thread::sleep_for(1ms); // waiting for the actors, not for time
    }
    BOOST_ERROR("jobs did not finish, seed " << seed_);
  }

  /// Within each runtime's life, a job's status events are a path in the table
  /// (a restart recovers jobs without events, so each life is its own path).
  void check_every_observed_change_is_an_edge() {
    segments_.push_back(events.statuses_by_job());
    for (const auto& segment : segments_)
      for (const auto& [id, statuses] : segment)
        for (std::size_t i = 1; i < statuses.size(); ++i)
          BOOST_TEST(is_edge(statuses[i - 1], statuses[i]),
                     "job " << id << ": " << statuses[i - 1] << " -> " << statuses[i]
                            << " seen, seed " << seed_);
  }

  std::mt19937_64 rng_;
  std::uint64_t seed_;
  std::vector<jobrt::job_id> ids_;
  std::map<jobrt::job_id, held> held_;
  std::vector<std::map<jobrt::job_id, std::vector<job_status>>> segments_;
  std::uint64_t refused_before_restarts_ = 0;
  int pauses_ = 0;
  int cancels_ = 0;
  int restarts_ = 0;
};

} // namespace

BOOST_AUTO_TEST_CASE(every_status_change_follows_the_table_and_acknowledged_steering_holds) {
  auto runs = flag("runs", 12);
  auto seed = flag("seed", 20261202);
  for (std::uint64_t i = 0; i < runs; ++i) {
    BOOST_TEST_CONTEXT("run " << i << " of seed " << seed + i) {
      random_run r{seed + i};
      r.run(60);
    }
  }
}
