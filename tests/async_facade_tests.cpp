#define BOOST_TEST_MODULE async_facade_tests
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "caf/all.hpp"

#include "jobrt/asio.hpp"

#include "test_jobs.hpp"

// The asynchronous facade: completion handlers and futures, from host threads,
// an Asio event loop and a CAF actor; each handler runs exactly once.

using namespace std::chrono_literals;
using jobrt::job_status;
using test_jobs::runtime_fixture;

JOBRT_REGISTER_JOB(test_jobs::sum_job);
JOBRT_REGISTER_JOB(test_jobs::gated_job);

namespace {

/// A handler's result, handed from the runtime's thread to the test's.
template <class T>
struct handed_over {
  std::promise<jobrt::result<T>> promise;
  std::atomic<int> calls{0};
  std::thread::id thread;

  jobrt::completion<T> handler() {
    return [this](jobrt::result<T> r) {
      thread = std::this_thread::get_id();
      if (++calls == 1)
        promise.set_value(std::move(r));
    };
  }

  jobrt::result<T> get() {
    auto fut = promise.get_future();
    BOOST_REQUIRE(fut.wait_for(10s) == std::future_status::ready);
    return fut.get();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(completion_handlers, runtime_fixture)

BOOST_AUTO_TEST_CASE(a_submit_handler_gets_the_new_job_once_it_is_durable) {
  handed_over<jobrt::submitted> out;
  rt->submit_async("sum", {{"n", 3}}, {}, out.handler());
  auto r = out.get();
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->created);
  BOOST_TEST(r->status == job_status::queued);
  BOOST_TEST(get(r->id).type == "sum");
  BOOST_TEST(out.calls == 1);
}

BOOST_AUTO_TEST_CASE(a_submit_with_a_taken_idempotency_key_answers_the_first_job_not_created) {
  jobrt::submit_options o;
  o.idempotency_key = "order-17";
  auto first = rt->submit_async("sum", {{"n", 3}}, o).get();
  auto again = rt->submit_async("sum", {{"n", 3}}, o).get();
  BOOST_REQUIRE(first.ok());
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(first->created);
  BOOST_TEST(!again->created);
  BOOST_TEST(again->id == first->id);
}

BOOST_AUTO_TEST_CASE(a_submit_with_a_later_start_time_answers_waiting) {
  jobrt::submit_options o;
  o.run_at = 4'000'000'000'000; // in the year 2096
  auto r = rt->submit_async("sum", {{"n", 3}}, o).get();
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->status == job_status::waiting);
}

BOOST_AUTO_TEST_CASE(a_refused_call_runs_its_handler_on_the_calling_thread_before_it_returns) {
  handed_over<jobrt::submitted> out;
  rt->submit_async("no.such.type", {}, {}, out.handler());
  BOOST_TEST(out.calls == 1);
  BOOST_TEST((out.thread == std::this_thread::get_id()));
  auto r = out.get();
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == jobrt::errc::unknown_job_type);
}

BOOST_AUTO_TEST_CASE(malformed_json_text_is_refused_by_the_async_json_submit) {
  auto r = rt->submit_json_async("sum", "{\"n\": ").get();
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == jobrt::errc::malformed_json);
}

BOOST_AUTO_TEST_CASE(a_synchronous_call_inside_a_handler_is_refused_instead_of_deadlocking) {
  auto id = submit("sum", {{"n", 3}});
  handed_over<jobrt::job_record> inner;
  std::promise<void> outer_done;
  rt->get_async(id, [&](jobrt::result<jobrt::job_record>) {
    inner.handler()(rt->get(id)); // the synchronous form, on the runtime's thread
    outer_done.set_value();
  });
  auto r = inner.get();
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == jobrt::errc::invalid_argument);
  BOOST_TEST((outer_done.get_future().wait_for(10s) == std::future_status::ready));
}

BOOST_AUTO_TEST_CASE(an_asynchronous_call_inside_a_handler_is_answered) {
  auto id = submit("sum", {{"n", 3}});
  handed_over<jobrt::job_record> inner;
  rt->wait_async(id, [&](jobrt::result<jobrt::job_record>) { rt->get_async(id, inner.handler()); });
  auto r = inner.get();
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->status == job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_submit_without_a_handler_is_fire_and_forget) {
  rt->submit_async("sum", {{"n", 2}}, {}, nullptr);
  BOOST_TEST(events.wait_for([](const auto& evs) {
    for (const auto& e : evs)
      if (e.status == job_status::completed)
        return true;
    return false;
  }));
}

BOOST_AUTO_TEST_CASE(a_handler_that_throws_does_not_stop_the_runtime) {
  auto id = submit("sum", {{"n", 3}});
  rt->get_async(id, [](jobrt::result<jobrt::job_record>) { throw std::runtime_error("oops"); });
  auto r = rt->get(id);
  BOOST_TEST(r.ok());
}

BOOST_AUTO_TEST_CASE(control_calls_answer_through_their_handlers) {
  test_jobs::permits = 0;
  auto id = submit("gated", {{"n", 5}});
  BOOST_TEST(rt->pause_async(id).get().ok());
  BOOST_TEST(get(id).status == job_status::paused);
  BOOST_TEST(rt->resume_async(id).get().ok());
  BOOST_TEST(rt->cancel_async(id).get().ok());
  BOOST_TEST(get(id).status == job_status::cancelled);
  auto again = rt->cancel_async(id).get();
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST(again.error().code == jobrt::errc::illegal_transition);
  BOOST_TEST(rt->remove_async(id).get().ok());
  BOOST_TEST(rt->get_async(id).get().error().code == jobrt::errc::not_found);
}

BOOST_AUTO_TEST_CASE(reads_answer_through_their_handlers) {
  auto id = submit("sum", {{"n", 3}});
  auto done = rt->wait_async(id).get();
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done->status == job_status::completed);
  auto page = rt->list_async().get();
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(page->jobs.size() == 1u);
  auto st = rt->stats_async().get();
  BOOST_REQUIRE(st.ok());
  BOOST_TEST(st->submitted == 1u);
  auto n = rt->clear_async(job_status::completed).get();
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == 1u);
}

BOOST_AUTO_TEST_CASE(calls_in_flight_at_shutdown_are_each_answered_once) {
  constexpr int calls = 200;
  std::atomic<int> answered{0};
  std::atomic<int> twice{0};
  for (int i = 0; i < calls; ++i) {
    auto seen = std::make_shared<std::atomic<bool>>(false);
    rt->submit_async("sum", {{"n", 1}}, {}, [&, seen](jobrt::result<jobrt::submitted>) {
      if (seen->exchange(true))
        ++twice;
      ++answered;
    });
  }
  stop();
  BOOST_TEST(answered == calls);
  BOOST_TEST(twice == 0);
}

BOOST_AUTO_TEST_CASE(calls_racing_a_shutdown_are_each_answered_once) {
  std::atomic<bool> go{true};
  std::atomic<int> sent{0};
  std::atomic<int> answered{0};
  auto& runtime = *rt;
  std::thread caller{[&] {
    while (go.load()) {
      ++sent;
      runtime.get_async(1, [&](jobrt::result<jobrt::job_record>) { ++answered; });
    }
  }};
  std::this_thread::sleep_for(20ms);
  runtime.shutdown();
  go = false;
  caller.join();
  BOOST_TEST(answered.load() == sent.load());
}

BOOST_AUTO_TEST_CASE(a_call_after_shutdown_answers_shutting_down) {
  auto& runtime = *rt;
  runtime.shutdown();
  auto r = runtime.pause_async(1).get();
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == jobrt::errc::shutting_down);
}

BOOST_AUTO_TEST_SUITE_END()

// -- from an event loop and from an actor ---------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(hosts, runtime_fixture)

BOOST_AUTO_TEST_CASE(on_executor_runs_the_handler_on_the_event_loop_thread) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread loop{[&] { io.run(); }};
  handed_over<jobrt::submitted> out;
  boost::asio::post(io, [&] {
    rt->submit_async("sum", {{"n", 3}}, {},
                     jobrt::on_executor(io.get_executor(), out.handler()));
  });
  auto r = out.get();
  BOOST_TEST(r.ok());
  BOOST_TEST((out.thread == loop.get_id()));
  work.reset();
  loop.join();
}

BOOST_AUTO_TEST_CASE(an_actor_submits_without_blocking_and_gets_the_answer_as_a_message) {
  using answer_atom = caf::atom_constant<caf::atom("answer")>;
  std::promise<jobrt::job_id> got;
  auto& runtime = *rt;
  // The unused argument: CAF 0.17.6 dereferences a null pointer (UBSan says so)
  // when it spawns a function actor without arguments.
  auto submitter = rt->system().spawn([&](caf::event_based_actor* self, int) -> caf::behavior {
    caf::actor me = caf::actor_cast<caf::actor>(self);
    runtime.submit_async("sum", {{"n", 3}}, {}, [me](jobrt::result<jobrt::submitted> r) {
      caf::anon_send(me, answer_atom::value, r ? r->id : jobrt::job_id{0});
    });
    return {[&, self](answer_atom, jobrt::job_id id) {
      got.set_value(id);
      self->quit();
    }};
  }, 0);
  auto fut = got.get_future();
  BOOST_REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  auto id = fut.get();
  BOOST_TEST(id != 0u);
  BOOST_TEST(get(id).type == "sum");
}

BOOST_AUTO_TEST_SUITE_END()
