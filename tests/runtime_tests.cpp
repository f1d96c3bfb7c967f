#define BOOST_TEST_MODULE runtime_tests
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "caf/all.hpp"

#include "actors/test_hooks.hpp"
#include "test_jobs.hpp"

using namespace std::chrono_literals;
using jobrt::errc;
using jobrt::job_status;
namespace json = boost::json;

void test_jobs::quitter_job::step(jobrt::context& ctx) {
  ctx.self()->quit(caf::make_error(caf::sec::runtime_error, "pulled the plug"));
}

/// Steps forever, never pausing on its own: a worst case for the scheduler.
struct spin_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = "spin";
  static constexpr const char* description = "Steps until cancelled";
  void step(jobrt::context&) override {
    // one more step
  }
};
JOBRT_REGISTER_JOB(spin_job);
JOBRT_REGISTER_JOB(test_jobs::sum_job);
JOBRT_REGISTER_JOB(test_jobs::gated_job);
JOBRT_REGISTER_JOB(test_jobs::busy_job);
JOBRT_REGISTER_JOB(test_jobs::thrower_job);
JOBRT_REGISTER_JOB(test_jobs::quitter_job);
JOBRT_REGISTER_JOB(test_jobs::limited_job);
JOBRT_REGISTER_JOB(test_jobs::niceness_job);
JOBRT_REGISTER_JOB(test_jobs::blocking_niceness_job);

using test_jobs::runtime_fixture;

/// What job actors report through actors/test_hooks.hpp while a test observes
/// (from construction to destruction): proof that nothing happens.
struct sightings {
  using sighting = jobrt::test_hooks::sighting;
  // Static: an actor may still report after the test ended.
  static inline std::mutex mtx;
  static inline std::condition_variable cv;
  static inline std::map<jobrt::job_id, bool> at_rest; ///< paused, can take no step
  static inline std::size_t stale_dropped = 0;

  sightings() {
    std::lock_guard guard{mtx};
    at_rest.clear();
    stale_dropped = 0;
    jobrt::test_hooks::observe(&record);
  }
  ~sightings() { jobrt::test_hooks::observe(nullptr); }

  static void record(sighting what, jobrt::job_id id) {
    std::lock_guard guard{mtx};
    if (what == sighting::stale_dropped)
      ++stale_dropped;
    else
      at_rest[id] = what == sighting::paused_at_rest; // a resume clears it
    cv.notify_all();
  }

  bool wait_paused_at_rest(jobrt::job_id id) { return wait([&] { return at_rest[id]; }); }
  bool wait_stale_dropped(std::size_t n) { return wait([&] { return stale_dropped >= n; }); }

  template <class Pred>
  bool wait(Pred done) {
    std::unique_lock lock{mtx};
    return cv.wait_for(lock, 30s, done);
  }
};

// -- submitting ------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(submitting, runtime_fixture)

BOOST_AUTO_TEST_CASE(a_submitted_job_runs_to_completion_with_its_output) {
  auto id = submit("sum", {{"n", 100}});
  BOOST_REQUIRE(events.wait_status(id, job_status::completed));
  auto rec = get(id);
  BOOST_TEST(rec.status == job_status::completed);
  BOOST_TEST(rec.output.at("total").as_int64() == 5050);
  BOOST_TEST(rec.attempts == 1u);
  BOOST_TEST(rec.created_at > 0);
  BOOST_TEST(rec.started_at >= rec.created_at);
  BOOST_TEST(rec.finished_at >= rec.started_at);
  BOOST_TEST(rec.checkpoint_at > 0);
  BOOST_TEST(*rec.progress.fraction == 1.0);
}

BOOST_AUTO_TEST_CASE(an_unknown_job_type_is_refused_and_nothing_is_stored) {
  auto r = rt->submit("no_such_type", json::object{});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::unknown_job_type);
  BOOST_TEST(r.error().message.find("no_such_type") != std::string::npos);
  BOOST_TEST(rt->list()->jobs.empty());
}

BOOST_AUTO_TEST_CASE(malformed_json_is_refused_with_its_position) {
  auto r = rt->submit_json("sum", R"({"n": 10,)");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::malformed_json);
  BOOST_TEST(r.error().message.find("byte") != std::string::npos);
  BOOST_TEST(rt->list()->jobs.empty());
}

BOOST_AUTO_TEST_CASE(a_mistyped_parameter_is_refused_naming_the_field) {
  auto r = rt->submit_json("sum", R"({"n": "ten"})");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::invalid_params);
  BOOST_TEST(r.error().message.find("'n'") != std::string::npos);
  BOOST_TEST(rt->list()->jobs.empty());
}

BOOST_AUTO_TEST_CASE(a_missing_parameter_is_refused_naming_the_field) {
  auto r = rt->submit_json("sum", R"({"every": 3})");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::invalid_params);
  BOOST_TEST(r.error().message.find("missing required field 'n'") != std::string::npos);
}

namespace {
struct any_holder {
  boost::json::value note;
};
BOOST_DESCRIBE_STRUCT(any_holder, (), (note))
} // namespace

BOOST_AUTO_TEST_CASE(a_null_in_a_field_of_any_json_is_a_value_and_only_a_missing_field_is_refused) {
  auto held = jobrt::decode<any_holder>(json::parse(R"({"note": null})"));
  BOOST_REQUIRE(held.ok());
  BOOST_TEST(held.value().note.is_null());
  auto missing = jobrt::decode<any_holder>(json::parse(R"({})"));
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().message.find("missing required field 'note'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unknown_parameter_is_refused_naming_the_field) {
  auto r = rt->submit_json("sum", R"({"n": 3, "nn": 4})");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::invalid_params);
  BOOST_TEST(r.error().message.find("unknown field 'nn'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_oversized_payload_is_refused) {
  std::string big(2 << 20, 'x');
  auto r = rt->submit_json("sum", R"({"n": 1, "pad": ")" + big + R"("})");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::payload_too_large);
  BOOST_TEST(rt->list()->jobs.empty());
}

BOOST_AUTO_TEST_CASE(a_bulk_submit_stores_every_job_and_runs_them_all) {
  std::vector<json::value> params;
  for (int i = 1; i <= 500; ++i)
    params.push_back({{"n", i % 7 + 1}});
  auto ids = rt->submit_many("sum", params);
  BOOST_REQUIRE_MESSAGE(ids.ok(), (ids ? "" : ids.error().message));
  BOOST_REQUIRE(ids->size() == 500u);
  BOOST_REQUIRE(events.wait_count(job_status::completed, 500));
  BOOST_TEST(get(ids->back()).output.at("total").as_int64() == 1 + 2 + 3 + 4); // n = 500 % 7 + 1
}

BOOST_AUTO_TEST_CASE(a_bulk_submit_with_one_invalid_entry_stores_nothing) {
  std::vector<json::value> params{{{"n", 1}}, {{"n", "two"}}, {{"n", 3}}};
  auto ids = rt->submit_many("sum", params);
  BOOST_REQUIRE(!ids.ok());
  BOOST_TEST(ids.error().code == errc::invalid_params);
  BOOST_TEST(ids.error().message.find("job 1:") == 0u);
  BOOST_TEST(rt->list()->jobs.empty());
}

BOOST_AUTO_TEST_CASE(the_registry_lists_each_type_with_its_parameters) {
  auto types = rt->job_types();
  auto sum = std::find_if(types.begin(), types.end(), [](auto& t) { return t.name == "sum"; });
  BOOST_REQUIRE(sum != types.end());
  BOOST_REQUIRE(sum->params.size() == 3u);
  BOOST_TEST(sum->params[0].name == "n");
  BOOST_TEST(sum->params[0].type == "integer");
  BOOST_TEST(sum->params[0].required);
  BOOST_TEST(!sum->params[1].required);
}

BOOST_AUTO_TEST_CASE(stats_count_the_store_commits_that_made_a_submit_durable) {
  auto before = rt->stats();
  BOOST_REQUIRE(before.ok());
  submit("sum", {{"n", 3}});
  auto after = rt->stats();
  BOOST_REQUIRE(after.ok());
  BOOST_TEST(after->commits > before->commits);
}

BOOST_AUTO_TEST_SUITE_END()

// -- steering --------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(steering, runtime_fixture)

BOOST_AUTO_TEST_CASE(a_job_paused_and_resumed_mid_run_ends_with_the_same_output) {
  auto plain = submit("sum", {{"n", 300}});
  BOOST_REQUIRE(events.wait_status(plain, job_status::completed));
  auto paused = submit("sum", {{"n", 300}, {"pace_ms", 1}});
  BOOST_REQUIRE(events.wait_for([&](const auto& evs) {
    for (const auto& e : evs)
      if (e.id == paused && e.progress.fraction && *e.progress.fraction >= 0.1)
        return true;
    return false;
  }));
  BOOST_REQUIRE(rt->pause(paused).ok());
  auto mid = get(paused);
  BOOST_TEST(mid.status == job_status::paused);
  BOOST_TEST(*mid.progress.fraction < 1.0);
  BOOST_REQUIRE(rt->resume(paused).ok());
  BOOST_REQUIRE(events.wait_status(paused, job_status::completed));
  BOOST_TEST(get(paused).output == get(plain).output);
}

BOOST_AUTO_TEST_CASE(a_paused_job_takes_no_steps_until_resumed) {
  sightings seen;
  auto id = submit("gated", {{"n", 20}});
  test_jobs::permits = 5;
  BOOST_REQUIRE(wait_steps(id, 5));
  BOOST_REQUIRE(rt->pause(id).ok());
  test_jobs::permits = 100;
  // The check is that nothing happens: the actor is seen to leave the job's
  // step in its mailbox, and then the steps are counted.
  BOOST_REQUIRE(seen.wait_paused_at_rest(id));
  BOOST_TEST(!events.wait_status(id, job_status::completed, 0ms));
  BOOST_TEST(test_jobs::steps_run.load() == 5);
  BOOST_REQUIRE(rt->resume(id).ok());
  BOOST_REQUIRE(events.wait_status(id, job_status::completed));
  BOOST_TEST(test_jobs::steps_run.load() == 20);
}

BOOST_AUTO_TEST_CASE(a_job_cancelled_while_stepping_takes_no_step_after_the_cancel_returns) {
  sightings seen;
  auto id = submit("gated", {{"n", 1'000'000}});
  test_jobs::permits = 10;
  BOOST_REQUIRE(wait_steps(id, 10));
  test_jobs::permits = 1'000'000; // it steps as fast as it can from here on
  BOOST_REQUIRE(rt->cancel(id).ok());
  auto at_cancel = test_jobs::steps_run.load();
  // The check is that no step runs any more. A stepping job has one step or
  // one checkpoint in flight when the cancel reaches it: the actor is seen to
  // drop it, and then the steps are counted. (How many ran before the cancel
  // reached the job depends on the machine.)
  BOOST_REQUIRE(seen.wait_stale_dropped(1));
  BOOST_TEST(test_jobs::steps_run.load() == at_cancel);
  BOOST_TEST(get(id).status == job_status::cancelled);
  BOOST_TEST(get(id).finished_at > 0);
}

BOOST_AUTO_TEST_CASE(a_queued_job_can_be_paused_resumed_and_cancelled) {
  restart(1); // one slot, which the gate below holds
  auto gate = submit("gated", {{"n", 1}});
  auto id = submit("sum", {{"n", 5}});
  BOOST_TEST(get(id).status == job_status::queued);
  BOOST_REQUIRE(rt->pause(id).ok());
  BOOST_TEST(get(id).status == job_status::paused);
  BOOST_REQUIRE(rt->resume(id).ok());
  BOOST_TEST(get(id).status == job_status::queued);
  BOOST_REQUIRE(rt->cancel(id).ok());
  BOOST_TEST(get(id).status == job_status::cancelled);
  test_jobs::permits = 10;
  BOOST_REQUIRE(events.wait_status(gate, job_status::completed));
}

BOOST_AUTO_TEST_CASE(a_pause_sent_right_after_a_resume_holds) {
  // A job paused while running keeps its actor; resuming it sends the actor a
  // resume, and a pause sent at once must not overtake that resume.
  sightings seen;
  auto id = submit("gated", {{"n", 1'000'000'000}});
  test_jobs::permits = 1;
  BOOST_REQUIRE(wait_steps(id, 1));
  BOOST_REQUIRE(rt->pause(id).ok());
  test_jobs::permits = 1'000'000'000; // from here on it would run, if it ran
  for (int round = 0; round < 500; ++round) {
    BOOST_REQUIRE(rt->resume(id).ok());
    BOOST_REQUIRE(rt->pause(id).ok());
  }
  auto steps = test_jobs::steps_run.load();
  // The check is that no step runs while paused: since the last resume the
  // actor took, it is seen to hold back what its checkpoint asked for or to
  // leave its step in the mailbox; then the steps are counted again.
  BOOST_REQUIRE(seen.wait_paused_at_rest(id));
  BOOST_TEST(test_jobs::steps_run.load() == steps);
  BOOST_TEST(get(id).status == job_status::paused);
  BOOST_REQUIRE(rt->cancel(id).ok());
}

BOOST_AUTO_TEST_CASE(a_paused_job_can_be_cancelled) {
  auto id = submit("gated", {{"n", 10}});
  test_jobs::permits = 2;
  BOOST_REQUIRE(wait_steps(id, 2));
  BOOST_REQUIRE(rt->pause(id).ok());
  BOOST_REQUIRE(rt->cancel(id).ok());
  BOOST_TEST(get(id).status == job_status::cancelled);
}

BOOST_AUTO_TEST_CASE(steering_a_finished_job_is_refused_with_a_clear_error) {
  auto id = submit("sum", {{"n", 3}});
  BOOST_REQUIRE(events.wait_status(id, job_status::completed));
  auto p = rt->pause(id);
  BOOST_REQUIRE(!p.ok());
  BOOST_TEST(p.error().code == errc::illegal_transition);
  BOOST_TEST(p.error().message == "cannot pause a completed job (completed -> paused is not an allowed transition)");
  auto c = rt->cancel(id);
  BOOST_TEST(c.error().code == errc::illegal_transition);
  auto r = rt->resume(id);
  BOOST_TEST(r.error().code == errc::illegal_transition);
  auto t = rt->retry(id);
  BOOST_TEST(t.error().code == errc::illegal_transition);
  BOOST_TEST(get(id).status == job_status::completed);
}

BOOST_AUTO_TEST_CASE(resuming_a_job_that_is_not_paused_is_refused) {
  auto id = submit("gated", {{"n", 2}});
  test_jobs::permits = 1;
  BOOST_REQUIRE(wait_steps(id, 1));
  auto r = rt->resume(id);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::illegal_transition);
  test_jobs::permits = 1;
  BOOST_REQUIRE(events.wait_status(id, job_status::completed));
}

BOOST_AUTO_TEST_CASE(an_unknown_id_is_not_found) {
  BOOST_TEST(rt->get(999).error().code == errc::not_found);
  BOOST_TEST(rt->pause(999).error().code == errc::not_found);
  BOOST_TEST(rt->cancel(999).error().code == errc::not_found);
}

BOOST_AUTO_TEST_CASE(a_list_by_status_finds_jobs_by_their_live_status) {
  restart(1); // one slot: the first job runs, the second waits
  auto running = submit("gated", {{"n", 2}});
  BOOST_REQUIRE(events.wait_status(running, job_status::running));
  auto queued = submit("gated", {{"n", 2}});
  auto ids_with = [&](job_status s) {
    jobrt::list_query q;
    q.statuses = {s};
    std::vector<jobrt::job_id> ids;
    auto page = rt->list(q);
    BOOST_REQUIRE(page.ok());
    for (const auto& j : page->jobs) {
      BOOST_TEST(j.status == s);
      ids.push_back(j.id);
    }
    return ids;
  };
  // The running record is written in the background, so it is polled for.
  auto until = std::chrono::steady_clock::now() + 30s;
  while (ids_with(job_status::running) != std::vector<jobrt::job_id>{running}
         && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  BOOST_TEST(ids_with(job_status::running) == std::vector<jobrt::job_id>{running});
  BOOST_TEST(ids_with(job_status::queued) == std::vector<jobrt::job_id>{queued});
  test_jobs::permits = 10;
  BOOST_REQUIRE(events.wait_status(queued, job_status::completed));
}

BOOST_AUTO_TEST_CASE(events_of_a_job_arrive_in_order) {
  auto id = submit("sum", {{"n", 50}});
  BOOST_REQUIRE(events.wait_status(id, job_status::completed));
  auto seen = events.statuses_of(id);
  std::vector<job_status> expected{job_status::queued, job_status::running,
                                   job_status::completed};
  BOOST_TEST(seen == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

// -- scheduling --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_concurrency_cap_is_never_exceeded_over_1000_jobs) {
  runtime_fixture f{4};
  std::vector<jobrt::job_id> ids;
  for (int i = 0; i < 1000; ++i)
    ids.push_back(f.submit("busy", {{"steps", 3}}));
  BOOST_REQUIRE(f.events.wait_count(job_status::completed, 1000, std::chrono::seconds(120)));
  BOOST_TEST(test_jobs::max_active.load() == 4);
}

BOOST_AUTO_TEST_CASE(higher_priority_runs_first_then_submission_order) {
  runtime_fixture f{1};
  auto gate = f.submit("gated", {{"n", 1}, {"tag", "gate"}});
  BOOST_REQUIRE(f.events.wait_status(gate, job_status::running));
  std::vector<std::string> tags{"low1", "high1", "low2", "high2", "mid1"};
  std::vector<int> prios{0, 10, 0, 10, 5};
  for (std::size_t i = 0; i < tags.size(); ++i) {
    jobrt::submit_options o;
    o.priority = prios[i];
    f.submit("busy", {{"steps", 1}, {"tag", tags[i]}}, o);
  }
  test_jobs::permits = 1;
  BOOST_REQUIRE(f.events.wait_count(job_status::completed, 6));
  std::vector<std::string> expected{"gate", "high1", "high2", "mid1", "low1", "low2"};
  BOOST_TEST(test_jobs::start_order == expected, boost::test_tools::per_element());
}

// -- failures --------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(failures, runtime_fixture)

BOOST_AUTO_TEST_CASE(a_job_that_throws_is_failed_with_its_message_and_others_complete) {
  auto bad = submit("thrower", json::object{});
  auto good = submit("sum", {{"n", 20}});
  BOOST_REQUIRE(events.wait_status(bad, job_status::failed));
  BOOST_REQUIRE(events.wait_status(good, job_status::completed));
  auto rec = get(bad);
  BOOST_TEST(rec.status == job_status::failed);
  BOOST_TEST(rec.error == "job threw: disk on fire");
  BOOST_TEST(get(good).output.at("total").as_int64() == 210);
}

BOOST_AUTO_TEST_CASE(a_job_whose_actor_dies_is_failed_by_its_supervisor) {
  auto bad = submit("quitter", json::object{});
  auto good = submit("sum", {{"n", 20}});
  BOOST_REQUIRE(events.wait_status(bad, job_status::failed));
  BOOST_REQUIRE(events.wait_status(good, job_status::completed));
  BOOST_TEST(get(bad).error.find("job actor died") == 0u);
}

BOOST_AUTO_TEST_CASE(a_failed_job_can_be_retried_by_hand) {
  auto id = submit("thrower", json::object{});
  BOOST_REQUIRE(events.wait_status(id, job_status::failed));
  BOOST_REQUIRE(rt->retry(id).ok());
  BOOST_REQUIRE(events.wait_for([&](const auto& evs) {
    auto s = test_jobs::event_log::statuses_of(evs, id);
    return std::count(s.begin(), s.end(), job_status::failed) == 2;
  }));
  BOOST_TEST(get(id).attempts == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// -- time and restarts ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_rate_limited_job_waits_and_is_queued_again_when_its_time_comes) {
  runtime_fixture f{2};
  f.restart(2, true);
  auto id = f.submit("limited", {{"retry_after_ms", 5000}});
  BOOST_REQUIRE(f.events.wait_status(id, job_status::waiting));
  auto waiting = f.get(id);
  BOOST_TEST(waiting.attempts == 0u); // a wait is not a failed attempt
  BOOST_TEST(waiting.error.empty());
  BOOST_TEST(waiting.wake_at == f.clock->now() + 5000);
  f.clock->advance(4999);
  BOOST_TEST(f.get(id).status == job_status::waiting);
  f.clock->advance(1);
  BOOST_REQUIRE(f.events.wait_status(id, job_status::completed));
  BOOST_TEST(f.get(id).attempts == 1u);
}

BOOST_AUTO_TEST_CASE(a_cancel_while_waiting_leaves_no_timer_that_wakes_the_job) {
  runtime_fixture f{2};
  f.restart(2, true);
  auto id = f.submit("limited", {{"retry_after_ms", 1000}});
  BOOST_REQUIRE(f.events.wait_status(id, job_status::waiting));
  BOOST_REQUIRE(f.rt->cancel(id).ok());
  f.clock->advance(2000);
  BOOST_TEST(f.get(id).status == job_status::cancelled);
  auto s = f.events.statuses_of(id);
  BOOST_TEST(std::count(s.begin(), s.end(), job_status::queued) == 1); // only the submit
}

BOOST_AUTO_TEST_CASE(a_paused_job_stays_paused_across_a_restart,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  runtime_fixture f{2};
  auto id = f.submit("gated", {{"n", 10}});
  test_jobs::permits = 3;
  BOOST_REQUIRE(f.wait_steps(id, 3));
  BOOST_REQUIRE(f.rt->pause(id).ok());
  f.restart();
  auto rec = f.get(id);
  BOOST_TEST(rec.status == job_status::paused);
  BOOST_TEST(*rec.progress.fraction == 0.3);
  test_jobs::permits = 100;
  BOOST_REQUIRE(f.rt->resume(id).ok());
  BOOST_REQUIRE(f.events.wait_status(id, job_status::completed));
  BOOST_TEST(test_jobs::steps_run.load() == 10); // 3 before, 7 after: resumed, not redone
}

BOOST_AUTO_TEST_CASE(a_subscriber_given_in_the_options_hears_a_recovered_job_from_its_first_event,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  runtime_fixture f{2};
  auto id = f.submit("sum", {{"n", 5}, {"pace_ms", 60'000}});
  BOOST_REQUIRE(f.events.wait_status(id, job_status::running));
  f.stop();
  test_jobs::event_log first;
  f.tweak = [&](jobrt::runtime_options& o) { o.on_event = std::ref(first); };
  f.start(2); // recovers the job and starts it at once
  BOOST_REQUIRE(first.wait_status(id, job_status::running));
  auto seen = first.statuses_of(id);
  BOOST_TEST(seen.front() == job_status::running); // the restart's first event of the job
  f.stop();
}

BOOST_AUTO_TEST_CASE(queued_jobs_keep_their_order_across_a_restart,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  runtime_fixture f{1};
  auto gate = f.submit("gated", {{"n", 1}, {"tag", "gate"}});
  BOOST_REQUIRE(f.events.wait_status(gate, job_status::running));
  for (auto tag : {"a", "b", "c", "d"})
    f.submit("busy", {{"steps", 1}, {"tag", tag}});
  f.restart(1);
  test_jobs::permits = 10;
  BOOST_REQUIRE(f.events.wait_count(job_status::completed, 5));
  // The gate ran again after the restart: it was running, so it resumed first.
  std::vector<std::string> expected{"gate", "gate", "a", "b", "c", "d"};
  BOOST_TEST(test_jobs::start_order == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_job_interrupted_by_shutdown_resumes_from_its_checkpoint,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  runtime_fixture f{2};
  auto id = f.submit("gated", {{"n", 10}});
  test_jobs::permits = 4;
  BOOST_REQUIRE(f.wait_steps(id, 4));
  f.restart();
  BOOST_TEST(f.get(id).attempts >= 1u);
  test_jobs::permits = 100;
  BOOST_REQUIRE(f.events.wait_status(id, job_status::completed));
  BOOST_TEST(test_jobs::steps_run.load() == 10);
  BOOST_TEST(f.get(id).output.at("steps").as_int64() == 10);
}

// -- events and caps ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_subscriber_that_never_returns_does_not_slow_the_jobs) {
  runtime_fixture f{4};
  std::mutex stuck;
  std::unique_lock hold{stuck};
  std::atomic<int> delivered{0};
  auto slow = f.rt->subscribe([&](const jobrt::job_event&) {
    ++delivered;
    std::lock_guard wait_until_released{stuck}; // blocks the first delivery
  });
  std::vector<jobrt::job_id> ids;
  for (int i = 0; i < 200; ++i)
    ids.push_back(f.submit("sum", {{"n", 20}}));
  // The fast subscriber sees every job complete while the slow one is stuck.
  BOOST_REQUIRE(f.events.wait_count(job_status::completed, 200));
  BOOST_TEST(delivered.load() <= 1);
  hold.unlock();
  slow.cancel();
}

BOOST_AUTO_TEST_CASE(a_per_type_cap_holds_back_only_that_type) {
  test_jobs::reset_hooks();
  test_jobs::temp_dir dir;
  jobrt::runtime_options o;
  o.data_dir = (dir.path / "store").string();
  o.durable = false;
  o.max_running = 4;
  o.max_running_per_type["gated"] = 1;
  o.progress_interval = 0ms;
  auto rt = jobrt::runtime::start(o);
  BOOST_REQUIRE(rt.ok());
  test_jobs::event_log events;
  auto sub = (*rt)->subscribe(std::ref(events));
  auto g1 = (*rt)->submit("gated", {{"n", 1}});
  auto g2 = (*rt)->submit("gated", {{"n", 1}});
  auto s = (*rt)->submit("sum", {{"n", 10}});
  // The sum job runs past the queued second gated job, which waits for the cap.
  BOOST_REQUIRE(events.wait_status(*s, job_status::completed));
  BOOST_TEST((*rt)->get(*g1)->status == job_status::running);
  BOOST_TEST((*rt)->get(*g2)->status == job_status::queued);
  test_jobs::permits = 2;
  BOOST_REQUIRE(events.wait_status(*g2, job_status::completed));
  sub.cancel();
}

BOOST_AUTO_TEST_CASE(jobs_that_never_stop_stepping_do_not_starve_control_calls) {
  runtime_fixture f{6};
  std::vector<jobrt::job_id> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(f.submit("spin", json::object{}));
  for (auto id : ids)
    BOOST_REQUIRE(f.events.wait_status(id, job_status::running));
  BOOST_REQUIRE(f.rt->pause(ids[0]).ok());
  BOOST_TEST(f.get(ids[0]).status == job_status::paused);
  for (auto id : ids)
    BOOST_REQUIRE(f.rt->cancel(id).ok());
}

// -- the actor system's scheduler policy ----------------------------------------------

BOOST_AUTO_TEST_CASE(an_lmdb_runtime_chooses_the_sharing_policy_with_or_without_fsync) {
  jobrt::runtime_options durable;
  durable.worker_threads = 2;
  jobrt::runtime_options unsynced = durable;
  unsynced.durable = false;
  BOOST_TEST(jobrt::runtime::default_scheduler_policy(durable) == "sharing");
  BOOST_TEST(jobrt::runtime::default_scheduler_policy(unsynced) == "sharing");
}

BOOST_AUTO_TEST_CASE(an_in_memory_runtime_with_two_workers_chooses_the_stealing_policy) {
  jobrt::runtime_options o;
  o.worker_threads = 2;
  o.storage = jobrt::storage_kind::memory;
  BOOST_TEST(jobrt::runtime::default_scheduler_policy(o) == "stealing");
}

BOOST_AUTO_TEST_CASE(a_runtime_with_one_worker_chooses_the_sharing_policy) {
  jobrt::runtime_options o;
  o.worker_threads = 1;
  o.storage = jobrt::storage_kind::memory;
  BOOST_TEST(jobrt::runtime::default_scheduler_policy(o) == "sharing");
}

// -- sharing the CPU with the host ----------------------------------------------------

BOOST_AUTO_TEST_CASE(job_code_runs_worker_nice_levels_below_the_host_threads) {
  runtime_fixture f;
  auto id = f.submit("niceness", boost::json::object{});
  BOOST_REQUIRE(f.events.wait_status(id, job_status::completed));
  auto expected = std::min(19, test_jobs::this_thread_nice() + 5); // runtime_options' default
  BOOST_TEST(f.get(id).output.at("nice").as_int64() == expected);
}

BOOST_AUTO_TEST_CASE(a_blocking_job_spawned_from_a_lowered_worker_is_lowered_only_once) {
  runtime_fixture f;
  auto warm = f.submit("niceness", boost::json::object{}); // lowers a worker first
  BOOST_REQUIRE(f.events.wait_status(warm, job_status::completed));
  auto id = f.submit("blocking_niceness", boost::json::object{});
  BOOST_REQUIRE(f.events.wait_status(id, job_status::completed));
  auto expected = std::min(19, test_jobs::this_thread_nice() + 5);
  BOOST_TEST(f.get(id).output.at("nice").as_int64() == expected);
}

BOOST_AUTO_TEST_CASE(a_worker_nice_of_zero_leaves_job_threads_at_the_host_priority) {
  runtime_fixture f;
  f.tweak = [](jobrt::runtime_options& o) { o.worker_nice = 0; };
  f.restart();
  auto id = f.submit("niceness", boost::json::object{});
  BOOST_REQUIRE(f.events.wait_status(id, job_status::completed));
  BOOST_TEST(f.get(id).output.at("nice").as_int64() == test_jobs::this_thread_nice());
}
