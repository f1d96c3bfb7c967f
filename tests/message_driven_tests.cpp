#define BOOST_TEST_MODULE message_driven_tests
#include <boost/test/unit_test.hpp>

#include <map>
#include <thread>

#include "scripted_jobs.hpp"
#include "test_jobs.hpp"

// Jobs written as message-driven actors: a step sends a request to another
// actor and suspends; the reply handler decides what happens next. The runtime
// runs on a manual clock, so rate-limit waits move only when a test says so.

using namespace std::chrono_literals;
using jobrt::job_status;
using test_jobs::runtime_fixture;
using scripted::replies_handled;
namespace json = boost::json;

namespace {

/// Something a host hands its jobs.
struct greeting {
  std::string text;
};

/// Completes with the host's greeting, or fails if the host gave none.
struct greeter_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = "greeter";
  static constexpr const char* description = "Reads a service the host provides";
  void step(jobrt::context& ctx) override {
    if (auto* g = ctx.service<greeting>())
      ctx.complete({{"said", g->text}});
    else
      ctx.fail("no greeting was provided");
  }
};

struct listener_params {
  std::int64_t expect = 1;         ///< completes once it has taken this many signals
  std::optional<bool> checkpoint_each; ///< checkpoint after taking each signal
};
BOOST_DESCRIBE_STRUCT(listener_params, (), (expect, checkpoint_each))
struct listener_state {
  std::vector<std::string> seen;
};
BOOST_DESCRIBE_STRUCT(listener_state, (), (seen))

/// Every time a listener job was handed a signal, by name (across runs).
std::mutex deliveries_mtx;
std::map<std::string, int> deliveries;

/// Steps slowly (an hour of the runtime's clock between steps) and collects
/// the signals it gets; completes with their names once it has `expect`.
struct listener_job : jobrt::job<listener_params, listener_state> {
  static constexpr const char* name = "listener";
  static constexpr const char* description = "Collects signals";
  void step(jobrt::context& ctx) override { ctx.next_step_after(std::chrono::hours{1}); }
  void on_signal(jobrt::context& ctx, const jobrt::job_signal& s) override {
    {
      std::lock_guard guard{deliveries_mtx};
      ++deliveries[s.name];
    }
    state().seen.push_back(s.name);
    if (params().checkpoint_each.value_or(false))
      ctx.checkpoint();
    if (static_cast<std::int64_t>(state().seen.size()) >= params().expect)
      ctx.complete({{"seen", boost::json::value_from(state().seen)}});
  }
};

struct approval_state {
  bool asked = false;
  std::string approved_by;
};
BOOST_DESCRIBE_STRUCT(approval_state, (), (asked, approved_by))

/// Stage one, then waits (without a slot) up to an hour for an "approve"
/// signal, then stage two.
struct approval_job : jobrt::job<jobrt::no_fields, approval_state> {
  static constexpr const char* name = "approval";
  static constexpr const char* description = "Waits for a human's approval between two stages";
  void step(jobrt::context& ctx) override {
    if (!state().asked) {
      state().asked = true;
      ctx.checkpoint();
      ctx.wait_for_signal(std::chrono::hours{1});
      return;
    }
    if (state().approved_by.empty())
      return ctx.fail("no approval within an hour");
    ctx.complete({{"approved_by", state().approved_by}});
  }
  void on_signal(jobrt::context&, const jobrt::job_signal& s) override {
    if (s.name == "approve")
      state().approved_by = std::string{s.payload.at("by").as_string()};
  }
};

using add_atom = caf::atom_constant<caf::atom("md_add")>;
using finish_atom = caf::atom_constant<caf::atom("md_finish")>;

struct tally_state {
  std::int64_t total = 0;
};
BOOST_DESCRIBE_STRUCT(tally_state, (), (total))

/// Waits for messages from other actors: `add` answers the running total,
/// `finish` completes the job with it.
struct tally_job : jobrt::job<jobrt::no_fields, tally_state> {
  static constexpr const char* name = "tally";
  static constexpr const char* description = "Adds what other actors send it";
  void step(jobrt::context& ctx) override { ctx.suspend(); } // the messages move it on
  caf::behavior handlers(jobrt::context& ctx) override {
    return {
      [this](add_atom, std::int64_t n) { return state().total += n; },
      [this, &ctx](finish_atom) { ctx.complete({{"total", state().total}}); },
    };
  }
};

std::string seen_of(const jobrt::job_record& r) {
  return json::serialize(r.output.at("seen"));
}

} // namespace

JOBRT_REGISTER_JOB(listener_job);
JOBRT_REGISTER_JOB(tally_job);
JOBRT_REGISTER_JOB(approval_job);
JOBRT_REGISTER_JOB(test_jobs::sum_job);
JOBRT_REGISTER_JOB(scripted::script_job);
JOBRT_REGISTER_JOB(greeter_job);
JOBRT_REGISTER_JOB(test_jobs::gated_job);

/// A runtime on a manual clock, with a responder that holds requests.
struct asking_fixture : runtime_fixture {
  asking_fixture() : runtime_fixture(2, true) {
    replies_handled = 0;
    scripted::spawn_responder(rt->system());
  }
  ~asking_fixture() { scripted::stop_responder(); }

  /// Lets the responder answer, and waits until the reply handler has run.
  void release_and_wait_for_the_reply(int replies = 1) {
    caf::anon_send(scripted::responder, scripted::release_atom::value);
    for (int i = 0; i < 30'000 && replies_handled.load() < replies; ++i)
      std::this_thread::sleep_for(1ms); // waiting for an event, not for time
    BOOST_REQUIRE(replies_handled.load() >= replies);
  }

  /// Submits a job that asks the responder and, in the reply handler, does
  /// `then`; pauses it while its request is pending.
  jobrt::job_id submit_and_pause_while_asking(const std::string& then) {
    auto id = submit("scripted", {{"script", {"ask:" + then}}});
    BOOST_REQUIRE(events.wait_status(id, job_status::running));
    auto paused = rt->pause(id);
    BOOST_REQUIRE_MESSAGE(paused.ok(), (paused ? "" : paused.error().message));
    return id;
  }

  std::vector<job_status> statuses(jobrt::job_id id) { return events.statuses_of(id); }

  /// Waits for the progress a scripted job reports as it sends its request
  /// (`fraction` of its script done).
  void wait_until_asking(jobrt::job_id id, double fraction) {
    BOOST_REQUIRE(events.wait_for([&](const auto& evs) {
      return std::any_of(evs.begin(), evs.end(), [&](const jobrt::job_event& e) {
        return e.id == id && e.what == jobrt::job_event::kind::progress
               && e.progress.fraction == fraction;
      });
    }));
  }

  /// Waits until job `id`'s status events are `expected`, in order.
  void expect_statuses(jobrt::job_id id, const std::vector<job_status>& expected) {
    bool same = events.wait_for([&](const auto& evs) {
      return test_jobs::event_log::statuses_of(evs, id).size() >= expected.size();
    });
    BOOST_TEST(same);
    auto seen = statuses(id);
    BOOST_TEST(seen == expected, boost::test_tools::per_element());
  }
};

BOOST_FIXTURE_TEST_SUITE(pending_replies, asking_fixture)

BOOST_AUTO_TEST_CASE(a_completion_that_arrives_while_paused_is_held_until_the_resume) {
  auto id = submit_and_pause_while_asking("complete");
  release_and_wait_for_the_reply();
  BOOST_TEST(get(id).status == job_status::paused);
  auto resumed = rt->resume(id);
  BOOST_REQUIRE_MESSAGE(resumed.ok(), (resumed ? "" : resumed.error().message));
  auto done = rt->wait(id, 30s);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done->status == job_status::completed);
  BOOST_TEST(json::serialize(done->output) == R"({"commands":1})");
  expect_statuses(id, {job_status::queued, job_status::running, job_status::paused,
                       job_status::queued, job_status::running, job_status::completed});
}

BOOST_AUTO_TEST_CASE(a_rate_limit_that_arrives_while_paused_arms_no_timer_until_the_resume) {
  auto id = submit_and_pause_while_asking("rate_limit:400");
  release_and_wait_for_the_reply();
  clock->advance(10'000);
  BOOST_TEST(get(id).status == job_status::paused);
  BOOST_REQUIRE(rt->resume(id).ok());
  auto waiting = [&] {
    BOOST_REQUIRE(events.wait_status(id, job_status::waiting));
    return get(id);
  }();
  BOOST_TEST(waiting.waiting_for == "rate_limit");
  clock->advance(399);
  BOOST_TEST(get(id).status == job_status::waiting);
  clock->advance(1);
  auto done = rt->wait(id, 30s);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(json::serialize(done->output) == R"({"commands":1})"); // the second run's
  expect_statuses(id, {job_status::queued, job_status::running, job_status::paused,
                       job_status::queued, job_status::running, job_status::waiting,
                       job_status::queued, job_status::running, job_status::completed});
}

BOOST_AUTO_TEST_CASE(a_failure_that_arrives_while_paused_is_held_until_the_resume) {
  auto id = submit_and_pause_while_asking("fail_for_good");
  release_and_wait_for_the_reply();
  BOOST_TEST(get(id).status == job_status::paused);
  BOOST_REQUIRE(rt->resume(id).ok());
  auto done = rt->wait(id, 30s);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done->status == job_status::failed);
  BOOST_TEST(done->error == "scripted failure at command 1");
}

BOOST_AUTO_TEST_CASE(a_next_step_asked_for_while_paused_runs_only_after_the_resume) {
  auto id = submit_and_pause_while_asking("next");
  release_and_wait_for_the_reply();
  BOOST_TEST(get(id).status == job_status::paused);
  BOOST_REQUIRE(rt->resume(id).ok());
  auto done = rt->wait(id, 30s);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(json::serialize(done->output) == R"({"commands":1})");
}

BOOST_AUTO_TEST_CASE(a_cancel_while_paused_drops_the_held_outcome) {
  auto id = submit_and_pause_while_asking("complete");
  release_and_wait_for_the_reply();
  BOOST_REQUIRE(rt->cancel(id).ok());
  auto done = rt->wait(id, 30s);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done->status == job_status::cancelled);
  BOOST_TEST(done->output.is_null());
  BOOST_TEST(rt->resume(id).error().code == jobrt::errc::illegal_transition);
}

BOOST_AUTO_TEST_CASE(a_reply_after_a_cancel_reaches_no_one) {
  auto id = submit("scripted", {{"script", {"ask:complete"}}});
  BOOST_REQUIRE(events.wait_status(id, job_status::running));
  BOOST_REQUIRE(rt->cancel(id).ok());
  caf::scoped_actor self{rt->system()};
  int released = 0;
  self->request(scripted::responder, 30s, scripted::release_atom::value)
    .receive([&](int n) { released = n; }, [&](caf::error&) {});
  BOOST_TEST(released == 1);
  BOOST_TEST(replies_handled.load() == 0); // the job's actor ended with the cancel
  auto done = rt->wait(id, 30s);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done->status == job_status::cancelled);
  BOOST_TEST(done->output.is_null());
}

BOOST_AUTO_TEST_CASE(waiting_and_queued_events_carry_the_jobs_last_progress) {
  auto id = submit("scripted", {{"script", {"step", "rate_limit:300"}}});
  BOOST_REQUIRE(events.wait_status(id, job_status::waiting));
  clock->advance(300);
  BOOST_REQUIRE(rt->wait(id, 30s).ok());
  BOOST_REQUIRE(events.wait_for([&](const auto& evs) {
    return test_jobs::event_log::statuses_of(evs, id).size() >= 6;
  }));
  std::vector<jobrt::job_event> seen;
  events.wait_for([&](const auto& evs) {
    for (const auto& e : evs)
      if (e.id == id && e.what == jobrt::job_event::kind::status)
        seen.push_back(e);
    return true;
  });
  for (const auto& e : seen)
    if (e.status == job_status::waiting || (e.status == job_status::queued && &e != &seen.front()))
      BOOST_TEST(e.progress.fraction.value_or(-1) == 1.0, "the " << e.status << " event");
}

BOOST_AUTO_TEST_SUITE_END()

// -- a reply that never comes ------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(overdue_replies, asking_fixture)

BOOST_AUTO_TEST_CASE(a_run_suspended_past_max_suspended_fails_and_is_retried) {
  tweak = [](jobrt::runtime_options& o) { o.max_suspended = std::chrono::milliseconds{1000}; };
  scripted::stop_responder();
  restart(2);
  scripted::spawn_responder(rt->system());
  auto id = submit("scripted", {{"script", {"ask:complete"}}});
  wait_until_asking(id, 1.0); // its overdue timer is armed by then
  // get reads the store: the job may ask before its running record is durable.
  BOOST_REQUIRE(events.wait_status(id, job_status::running));
  clock->advance(999);
  BOOST_TEST(get(id).status == job_status::running);
  clock->advance(1);
  BOOST_REQUIRE(events.wait_status(id, job_status::waiting));
  auto rec = get(id);
  BOOST_TEST(rec.waiting_for == "retry");
  BOOST_TEST(rec.error == "suspended for 1000 ms with no reply moving it on (max_suspended)");
}

BOOST_AUTO_TEST_CASE(a_reply_in_time_keeps_the_run_going) {
  tweak = [](jobrt::runtime_options& o) { o.max_suspended = std::chrono::milliseconds{1000}; };
  scripted::stop_responder();
  restart(2);
  scripted::spawn_responder(rt->system());
  auto id = submit("scripted", {{"script", {"ask:next", "ask:complete"}}});
  wait_until_asking(id, 0.5);
  clock->advance(900);
  release_and_wait_for_the_reply(1);
  wait_until_asking(id, 1.0);
  clock->advance(900); // 1800 ms since the start, 900 into the second request
  release_and_wait_for_the_reply(2);
  auto done = rt->wait(id, 30s);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done->status == job_status::completed);
  BOOST_TEST(done->attempts == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

// -- what the host provides -------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(host_services, runtime_fixture)

BOOST_AUTO_TEST_CASE(a_job_reaches_what_the_host_provides_without_a_global) {
  tweak = [](jobrt::runtime_options& o) {
    o.services.add(std::make_shared<greeting>(greeting{"hello from the host"}));
  };
  restart(2);
  auto done = rt->wait(submit("greeter", json::object{}), 30s);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(json::serialize(done->output) == R"({"said":"hello from the host"})");
}

BOOST_AUTO_TEST_CASE(a_service_the_host_did_not_provide_is_null) {
  auto done = rt->wait(submit("greeter", json::object{}), 30s);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done->status == job_status::failed);
  BOOST_TEST(done->error == "no greeting was provided");
}

BOOST_AUTO_TEST_SUITE_END()

// -- waiting for a job ------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(waiting_for_a_job, runtime_fixture)

BOOST_AUTO_TEST_CASE(wait_returns_the_final_record_of_a_job_that_finished_before) {
  auto id = submit("greeter", json::object{});
  BOOST_REQUIRE(events.wait_status(id, job_status::failed));
  auto done = rt->wait(id, 1ms);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done->status == job_status::failed);
}

BOOST_AUTO_TEST_CASE(wait_for_an_unknown_job_is_not_found) {
  BOOST_TEST(rt->wait(424242, 1s).error().code == jobrt::errc::not_found);
}

BOOST_AUTO_TEST_CASE(wait_gives_up_after_its_timeout_and_the_job_goes_on) {
  auto id = submit("gated", {{"n", 1}});
  auto r = rt->wait(id, 10ms);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == jobrt::errc::timeout);
  test_jobs::permits = 1;
  auto later = rt->wait_async(id);
  BOOST_REQUIRE((later.wait_for(30s) == std::future_status::ready));
  BOOST_TEST(later.get()->status == job_status::completed);
}

BOOST_AUTO_TEST_SUITE_END()

// -- durable signals --------------------------------------------------------------------

struct signal_fixture : runtime_fixture {
  signal_fixture() : runtime_fixture(2, true) {
    std::lock_guard guard{deliveries_mtx};
    deliveries.clear();
  }
  void signal(jobrt::job_id id, const std::string& name, json::value payload = nullptr) {
    auto r = rt->signal(id, name, std::move(payload));
    BOOST_REQUIRE_MESSAGE(r.ok(), (r ? "" : r.error().message));
  }
  jobrt::job_record finished(jobrt::job_id id) {
    auto r = rt->wait(id, 30s);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r ? "" : r.error().message));
    return *r;
  }
  int delivered(const std::string& name) {
    std::lock_guard guard{deliveries_mtx};
    return deliveries[name];
  }
  /// Waits (up to 30 s) until `done()` holds: for facts no event announces.
  bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 30'000; ++i) {
      if (done())
        return true;
      std::this_thread::sleep_for(1ms); // waiting for the job, not for time to pass
    }
    return done();
  }
};

BOOST_FIXTURE_TEST_SUITE(signals, signal_fixture)

BOOST_AUTO_TEST_CASE(signals_reach_a_running_job_in_the_order_they_were_sent) {
  auto id = submit("listener", {{"expect", 3}});
  BOOST_REQUIRE(events.wait_status(id, job_status::running));
  for (auto name : {"a", "b", "c"})
    signal(id, name);
  BOOST_TEST(seen_of(finished(id)) == R"(["a","b","c"])");
}

BOOST_AUTO_TEST_CASE(signals_sent_before_a_job_starts_are_taken_before_its_first_step) {
  BOOST_REQUIRE(rt->pause_type("listener").ok());
  auto id = submit("listener", {{"expect", 2}});
  signal(id, "first");
  signal(id, "second", {{"n", 2}});
  BOOST_REQUIRE(rt->resume_type("listener").ok());
  BOOST_TEST(seen_of(finished(id)) == R"(["first","second"])");
}

BOOST_AUTO_TEST_CASE(a_paused_job_takes_its_signal_only_when_resumed) {
  auto id = submit("listener", {{"expect", 1}});
  BOOST_REQUIRE(events.wait_status(id, job_status::running));
  BOOST_REQUIRE(rt->pause(id).ok());
  signal(id, "late");
  BOOST_TEST(get(id).status == job_status::paused);
  BOOST_REQUIRE(rt->resume(id).ok());
  BOOST_TEST(seen_of(finished(id)) == R"(["late"])");
}

BOOST_AUTO_TEST_CASE(a_job_waiting_for_a_signal_holds_no_slot_and_wakes_when_one_arrives) {
  restart(1);
  auto id = submit("approval", json::object{});
  BOOST_REQUIRE(events.wait_status(id, job_status::waiting));
  BOOST_TEST(get(id).waiting_for == "signal");
  BOOST_TEST(get(id).attempts == 0u); // a wait, not an attempt
  auto other = submit("sum", {{"n", 3}});
  BOOST_TEST(finished(other).status == job_status::completed); // the one slot was free
  signal(id, "approve", {{"by", "ana"}});
  auto done = finished(id);
  BOOST_TEST(done.status == job_status::completed);
  BOOST_TEST(json::serialize(done.output) == R"({"approved_by":"ana"})");
}

BOOST_AUTO_TEST_CASE(a_job_waiting_for_a_signal_runs_again_at_its_timeout) {
  auto id = submit("approval", json::object{});
  BOOST_REQUIRE(events.wait_status(id, job_status::waiting));
  clock->advance(3'600'000 - 1);
  BOOST_TEST(get(id).status == job_status::waiting);
  clock->advance(1);
  auto done = finished(id);
  BOOST_TEST(done.status == job_status::failed);
  BOOST_TEST(done.error == "no approval within an hour");
}

BOOST_AUTO_TEST_CASE(signals_to_a_finished_or_unknown_job_or_with_a_bad_name_are_refused) {
  auto id = submit("sum", {{"n", 2}});
  BOOST_REQUIRE(finished(id).status == job_status::completed);
  auto r = rt->signal(id, "approve");
  BOOST_TEST(r.error().code == jobrt::errc::illegal_transition);
  BOOST_TEST(r.error().message == "cannot signal a completed job");
  BOOST_TEST(rt->signal(999'999, "approve").error().code == jobrt::errc::not_found);
  BOOST_TEST(rt->signal(id, "").error().code == jobrt::errc::invalid_argument);
  BOOST_TEST(rt->signal(id, std::string(129, 'n')).error().code == jobrt::errc::invalid_argument);
  BOOST_TEST(rt->signal(id, "big", json::string(2 << 20, 'x')).error().code
             == jobrt::errc::payload_too_large);
}

BOOST_AUTO_TEST_CASE(a_waiting_job_keeps_waiting_across_a_restart_and_a_signal_then_wakes_it,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  auto id = submit("approval", json::object{});
  BOOST_REQUIRE(events.wait_status(id, job_status::waiting));
  restart(2);
  BOOST_TEST(get(id).status == job_status::waiting);
  BOOST_TEST(get(id).waiting_for == "signal");
  signal(id, "approve", {{"by", "ben"}});
  BOOST_TEST(json::serialize(finished(id).output) == R"({"approved_by":"ben"})");
}

BOOST_AUTO_TEST_CASE(a_signal_taken_after_the_last_checkpoint_is_delivered_again_after_a_restart,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  auto id = submit("listener", {{"expect", 2}});
  BOOST_REQUIRE(events.wait_status(id, job_status::running));
  signal(id, "a");
  BOOST_REQUIRE(eventually([&] { return delivered("a") == 1; }));
  restart(2); // the job had not checkpointed: it starts over and takes "a" again
  signal(id, "b");
  BOOST_TEST(seen_of(finished(id)) == R"(["a","b"])");
  BOOST_TEST(delivered("a") == 2);
}

BOOST_AUTO_TEST_CASE(a_signal_taken_before_a_checkpoint_is_not_delivered_again,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  auto id = submit("listener", {{"expect", 2}, {"checkpoint_each", true}});
  BOOST_REQUIRE(events.wait_status(id, job_status::running));
  signal(id, "a");
  // Its checkpoint is durable once the job's progress says so.
  BOOST_REQUIRE(eventually([&] { return get(id).checkpoint_at != 0; }));
  restart(2);
  signal(id, "b");
  BOOST_TEST(seen_of(finished(id)) == R"(["a","b"])");
  BOOST_TEST(delivered("a") == 1);
}

BOOST_AUTO_TEST_SUITE_END()

// -- a job's own message handlers ---------------------------------------------------------

/// A runtime with a tally job running, and its actor.
struct tally_fixture : runtime_fixture {
  jobrt::job_id id = 0;
  caf::actor job;
  tally_fixture() {
    id = submit("tally", json::object{});
    BOOST_REQUIRE(events.wait_status(id, job_status::running));
    auto a = rt->actor_of(id);
    BOOST_REQUIRE(a.ok());
    job = *a;
  }
  std::string output_when_done() {
    auto done = rt->wait(id, 30s);
    BOOST_REQUIRE(done.ok());
    return json::serialize(done->output);
  }
};

BOOST_FIXTURE_TEST_SUITE(own_handlers, tally_fixture)

BOOST_AUTO_TEST_CASE(other_actors_reach_a_running_job_through_its_handlers_and_get_replies) {
  caf::scoped_actor self{rt->system()};
  std::int64_t total = 0;
  for (std::int64_t n : {5, 2})
    self->request(job, 30s, add_atom::value, n).receive([&](std::int64_t t) { total = t; },
                                                        [&](caf::error&) { total = -1; });
  BOOST_TEST(total == 7);
  self->send(job, finish_atom::value);
  BOOST_TEST(output_when_done() == R"({"total":7})");
}

BOOST_AUTO_TEST_CASE(messages_to_a_paused_job_wait_until_it_is_resumed) {
  BOOST_REQUIRE(rt->pause(id).ok());
  caf::scoped_actor self{rt->system()};
  self->send(job, add_atom::value, std::int64_t{3});
  self->send(job, finish_atom::value);
  BOOST_TEST(get(id).status == job_status::paused);
  BOOST_REQUIRE(rt->resume(id).ok());
  BOOST_TEST(output_when_done() == R"({"total":3})");
}

BOOST_AUTO_TEST_CASE(a_cancel_ends_the_handlers_and_a_waiting_request_gets_an_error) {
  BOOST_REQUIRE(rt->pause(id).ok());
  caf::scoped_actor self{rt->system()};
  auto pending = self->request(job, 30s, add_atom::value, std::int64_t{1});
  BOOST_REQUIRE(rt->cancel(id).ok());
  bool refused = false;
  std::move(pending).receive([&](std::int64_t) {}, [&](caf::error&) { refused = true; });
  BOOST_TEST(refused);
  BOOST_TEST(rt->actor_of(id).error().code == jobrt::errc::illegal_transition);
}

BOOST_AUTO_TEST_CASE(a_job_that_is_not_running_has_no_actor) {
  BOOST_TEST(rt->actor_of(424242).error().code == jobrt::errc::not_found);
  BOOST_REQUIRE(rt->pause_type("tally").ok());
  auto queued = submit("tally", json::object{});
  auto r = rt->actor_of(queued);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message
             == "job " + std::to_string(queued)
                  + " is queued: it has no actor now (only a running job has one)");
}

BOOST_AUTO_TEST_SUITE_END()
