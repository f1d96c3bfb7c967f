/// Worker nodes in one process: a coordinator runtime and `jobrt::worker`s, each
/// with an actor system of its own, talking over loopback through CAF's
/// middleman exactly as separate processes do. One process keeps these tests
/// fast and lets the sanitizers see both sides; the process-level suites
/// (tests/nodes, tests/reliability/node_*) kill real processes.

#define BOOST_TEST_MODULE worker_node_tests
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include "caf/actor.hpp"

#include "jobrt/jobrt.hpp"

#include "tests/test_jobs.hpp"

using namespace std::chrono_literals;

namespace {

// -- job types ------------------------------------------------------------------------

/// Steps a `held` job may take; the tests hand them out.
std::atomic<int> held_permits{0};

struct place_params {
  std::int64_t steps = 1;
  std::optional<bool> hold; ///< take a step only with a permit
};
BOOST_DESCRIBE_STRUCT(place_params, (), (steps, hold))

struct place_state {
  std::int64_t i = 0;
  std::vector<std::string> nodes; ///< the node of each run, in order
};
BOOST_DESCRIBE_STRUCT(place_state, (), (i, nodes))

/// Counts `steps`, checkpointing every step, and completes with the nodes its
/// runs were on.
struct place_job : jobrt::job<place_params, place_state> {
  static constexpr const char* name = "place";
  static constexpr const char* description = "Counts steps and records where it ran";

  void on_start(jobrt::context& ctx) override {
    state().nodes.emplace_back(ctx.node().empty() ? "coordinator" : std::string{ctx.node()});
  }
  void step(jobrt::context& ctx) override {
    if (params().hold.value_or(false)) {
      int left = held_permits.load();
      if (left <= 0 || !held_permits.compare_exchange_strong(left, left - 1)) {
        ctx.next_step_after(2ms);
        return;
      }
    }
    ++state().i;
    ctx.progress(static_cast<double>(state().i) / static_cast<double>(params().steps), "counting");
    ctx.checkpoint();
    if (state().i >= params().steps) {
      boost::json::array nodes;
      for (const auto& n : state().nodes)
        nodes.emplace_back(n);
      ctx.complete({{"counted", state().i}, {"nodes", std::move(nodes)}});
    }
  }
};
JOBRT_REGISTER_JOB(place_job);

/// Tries to spawn a child and completes with what it was told.
struct spawner_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = "spawner";
  static constexpr const char* description = "Tries to spawn a child";
  void step(jobrt::context& ctx) override {
    auto child = ctx.spawn_child("place", {{"steps", 1}});
    ctx.complete({{"spawned", static_cast<bool>(child)},
                  {"error", child ? std::string{} : child.error().message}});
  }
};
JOBRT_REGISTER_JOB(spawner_job);

/// Waits for `pred` up to `limit`, polling.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred())
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

// -- fixture ----------------------------------------------------------------------------

struct coordinator_fixture {
  test_jobs::temp_dir dir;
  std::unique_ptr<jobrt::runtime> rt;
  std::vector<std::unique_ptr<jobrt::worker>> workers;

  coordinator_fixture() {
    held_permits = 0;
    start();
  }
  ~coordinator_fixture() {
    for (auto& w : workers)
      w->stop();
    if (rt)
      rt->shutdown();
  }

  void start(bool run_locally = false) {
    jobrt::runtime_options o;
    o.storage = test_jobs::tested_storage();
    o.data_dir = (dir.path / "store").string();
    o.durable = false;
    o.max_running = 8;
    o.progress_interval = 0ms;
    o.workers.port = 0;
    o.workers.secret = "s3cret";
    o.workers.node_timeout = 1000ms;
    o.workers.run_locally = run_locally;
    auto r = jobrt::runtime::start(o);
    BOOST_TEST_REQUIRE(static_cast<bool>(r), (r ? "" : r.error().message));
    rt = std::move(*r);
  }

  jobrt::worker& add_worker(const std::string& name, std::size_t slots = 2,
                            const std::string& secret = "s3cret") {
    jobrt::worker_options o;
    o.coordinator_port = *rt->workers_port();
    o.secret = secret;
    o.name = name;
    o.slots = slots;
    o.heartbeat_interval = 100ms;
    o.worker_threads = 2;
    auto w = jobrt::worker::start(o);
    BOOST_TEST_REQUIRE(static_cast<bool>(w), (w ? "" : w.error().message));
    workers.push_back(std::move(*w));
    return *workers.back();
  }

  jobrt::job_id submit(std::int64_t steps, bool hold = false) {
    boost::json::object p{{"steps", steps}};
    if (hold)
      p["hold"] = true;
    auto id = rt->submit("place", p);
    BOOST_TEST_REQUIRE(static_cast<bool>(id));
    return *id;
  }

  jobrt::job_record finished(jobrt::job_id id) {
    auto r = rt->wait(id, 20s);
    BOOST_TEST_REQUIRE(static_cast<bool>(r), (r ? "" : r.error().message));
    return *r;
  }

  std::size_t node_count() { return rt->stats()->nodes.size(); }
};

std::vector<std::string> nodes_of(const jobrt::job_record& r) {
  std::vector<std::string> out;
  for (const auto& n : r.output.at("nodes").as_array())
    out.emplace_back(n.as_string());
  return out;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(worker_nodes, coordinator_fixture)

BOOST_AUTO_TEST_CASE(a_job_runs_on_a_worker_node_and_completes_with_its_output) {
  BOOST_TEST_REQUIRE(add_worker("w1").wait_joined(10s));
  auto r = finished(submit(5));
  BOOST_TEST(jobrt::to_string(r.status) == "completed");
  BOOST_TEST(r.output.at("counted").as_int64() == 5);
  BOOST_TEST(nodes_of(r) == std::vector<std::string>{"w1"});
}

BOOST_AUTO_TEST_CASE(a_job_waits_in_the_queue_until_a_node_joins_when_the_coordinator_runs_none) {
  auto id = submit(1);
  std::this_thread::sleep_for(50ms);
  BOOST_TEST(jobrt::to_string(rt->get(id)->status) == "queued");
  add_worker("late");
  BOOST_TEST(nodes_of(finished(id)) == std::vector<std::string>{"late"});
}

BOOST_AUTO_TEST_CASE(stats_list_each_node_with_its_slots_and_running_jobs) {
  BOOST_TEST_REQUIRE(add_worker("w1", 3).wait_joined(10s));
  auto id = submit(2, true);
  BOOST_TEST_REQUIRE(eventually([&] { return rt->stats()->nodes.at(0).running == 1; }));
  auto s = rt->stats();
  BOOST_TEST(s->nodes.at(0).name == "w1");
  BOOST_TEST(s->nodes.at(0).slots == 3u);
  BOOST_TEST(s->nodes.at(0).types.count("place") == 1u);
  BOOST_TEST(rt->get(id)->node == "w1");
  held_permits = 2;
  finished(id);
  BOOST_TEST(rt->stats()->node_counters.messages_in > 0u);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_a_remote_job_is_durable_on_the_coordinator) {
  BOOST_TEST_REQUIRE(add_worker("w1").wait_joined(10s));
  auto id = submit(3, true);
  held_permits = 1;
  BOOST_TEST(eventually([&] { return rt->get(id)->checkpoint_at > 0; }));
  held_permits = 2;
  finished(id);
}

BOOST_AUTO_TEST_CASE(a_node_that_leaves_hands_its_runs_back_and_they_resume_from_their_checkpoint) {
  auto& first = add_worker("first");
  BOOST_TEST_REQUIRE(first.wait_joined(10s));
  auto id = submit(4, true);
  held_permits = 2;
  BOOST_TEST_REQUIRE(eventually([&] { return rt->get(id)->progress.fraction.value_or(0) >= 0.5; }));
  first.stop();
  BOOST_TEST_REQUIRE(eventually([&] { return node_count() == 0; }));
  add_worker("second");
  held_permits = 2;
  auto r = finished(id);
  BOOST_TEST(nodes_of(r) == (std::vector<std::string>{"first", "second"}));
  BOOST_TEST(r.output.at("counted").as_int64() == 4);
  BOOST_TEST(r.attempts == 2u); // as after a crash
  BOOST_TEST(rt->stats()->node_counters.runs_taken_back >= 1u);
}

BOOST_AUTO_TEST_CASE(a_paused_job_whose_node_is_lost_resumes_from_its_checkpoint_elsewhere) {
  auto& first = add_worker("first");
  BOOST_TEST_REQUIRE(first.wait_joined(10s));
  auto id = submit(4, true);
  held_permits = 2;
  BOOST_TEST_REQUIRE(eventually([&] { return rt->get(id)->progress.fraction.value_or(0) >= 0.5; }));
  BOOST_TEST_REQUIRE(static_cast<bool>(rt->pause(id)));
  first.stop();
  BOOST_TEST_REQUIRE(eventually([&] { return node_count() == 0; }));
  add_worker("second");
  BOOST_TEST_REQUIRE(static_cast<bool>(rt->resume(id)));
  held_permits = 2;
  auto r = finished(id);
  BOOST_TEST(r.output.at("counted").as_int64() == 4);
  BOOST_TEST(nodes_of(r) == (std::vector<std::string>{"first", "second"}));
}

BOOST_AUTO_TEST_CASE(pause_resume_and_cancel_reach_a_job_on_a_worker_node) {
  BOOST_TEST_REQUIRE(add_worker("w1").wait_joined(10s));
  auto paused = submit(3, true);
  auto cancelled = submit(3, true);
  BOOST_TEST_REQUIRE(eventually([&] { return rt->get(paused)->node == "w1"; }));
  BOOST_TEST_REQUIRE(eventually([&] { return rt->get(cancelled)->node == "w1"; }));
  BOOST_TEST_REQUIRE(static_cast<bool>(rt->pause(paused)));
  BOOST_TEST(jobrt::to_string(rt->get(paused)->status) == "paused");
  BOOST_TEST_REQUIRE(static_cast<bool>(rt->cancel(cancelled)));
  BOOST_TEST(jobrt::to_string(finished(cancelled).status) == "cancelled");
  held_permits = 3;
  std::this_thread::sleep_for(30ms);
  BOOST_TEST(rt->get(paused)->progress.fraction.value_or(0) < 1.0); // paused: it took no step
  BOOST_TEST_REQUIRE(static_cast<bool>(rt->resume(paused)));
  BOOST_TEST(jobrt::to_string(finished(paused).status) == "completed");
}

BOOST_AUTO_TEST_CASE(a_worker_with_a_wrong_secret_is_refused_and_gets_no_work) {
  auto& w = add_worker("intruder", 2, "guess");
  BOOST_TEST(eventually([&] { return w.stats().refusals >= 1; }));
  BOOST_TEST(!w.stats().connected);
  BOOST_TEST(node_count() == 0u);
  BOOST_TEST(rt->stats()->node_counters.nodes_refused >= 1u);
  auto id = submit(1);
  std::this_thread::sleep_for(50ms);
  BOOST_TEST(jobrt::to_string(rt->get(id)->status) == "queued");
}

BOOST_AUTO_TEST_CASE(a_job_on_a_worker_node_cannot_spawn_children) {
  BOOST_TEST_REQUIRE(add_worker("w1").wait_joined(10s));
  auto id = rt->submit("spawner", boost::json::object{});
  BOOST_TEST_REQUIRE(static_cast<bool>(id));
  auto r = finished(*id);
  BOOST_TEST(r.output.at("spawned").as_bool() == false);
  BOOST_TEST(std::string{r.output.at("error").as_string()}.find("worker node") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_actor_of_a_job_on_a_worker_node_is_not_handed_out) {
  BOOST_TEST_REQUIRE(add_worker("w1").wait_joined(10s));
  auto id = submit(2, true);
  BOOST_TEST_REQUIRE(eventually([&] { return rt->get(id)->node == "w1"; }));
  auto a = rt->actor_of(id);
  BOOST_TEST(!a);
  BOOST_TEST(a.error().message.find("worker node 'w1'") != std::string::npos);
  held_permits = 2;
  finished(id);
}

BOOST_AUTO_TEST_CASE(a_worker_whose_coordinator_stops_stops_its_runs_and_joins_the_next_one) {
  auto& w = add_worker("w1");
  BOOST_TEST_REQUIRE(w.wait_joined(10s));
  auto id = submit(3, true);
  BOOST_TEST_REQUIRE(eventually([&] { return w.stats().running == 1; }));
  auto port = *rt->workers_port();
  rt->shutdown();
  rt.reset();
  BOOST_TEST(eventually([&] { return w.stats().running == 0 && !w.stats().connected; }));
  // The next coordinator listens on the same port: the worker finds it by itself.
  jobrt::runtime_options o;
  o.storage = jobrt::storage_kind::lmdb;
  o.data_dir = (dir.path / "store").string();
  o.durable = false;
  o.workers.port = port;
  o.workers.secret = "s3cret";
  o.workers.run_locally = false;
  if (test_jobs::tested_storage() == jobrt::storage_kind::memory)
    return; // nothing to resume in memory
  auto r = jobrt::runtime::start(o);
  BOOST_TEST_REQUIRE(static_cast<bool>(r), (r ? "" : r.error().message));
  rt = std::move(*r);
  BOOST_TEST(eventually([&] { return w.stats().connected; }));
  held_permits = 3;
  auto done = finished(id);
  BOOST_TEST(done.output.at("counted").as_int64() == 3);
}

BOOST_AUTO_TEST_SUITE_END()
