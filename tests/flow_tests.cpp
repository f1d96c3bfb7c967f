#define BOOST_TEST_MODULE flow_tests
#include <boost/test/unit_test.hpp>

#include "clock_fixture.hpp"

// Flows: jobs that spawn children and wait for them, jobs submitted after
// others, and steering a flow as a whole; across restarts too. On a manual
// clock (see clock_fixture.hpp), on both stores.

using namespace clock_tests;
using jobrt::job_status;

namespace {

struct fan_params {
  std::int64_t children = 3;
  std::optional<std::string> child_type; ///< "sum" if absent
  std::optional<std::int64_t> child_n;   ///< the first child's n (2 if absent), then n + 1, ...
  std::optional<bool> failing_children; ///< children of type "flaky" that fail at once
};
BOOST_DESCRIBE_STRUCT(fan_params, (), (children, child_type, child_n, failing_children))

struct fan_state {
  bool spawned = false;
};
BOOST_DESCRIBE_STRUCT(fan_state, (), (spawned))

/// Spawns its children and waits for them; then completes with what they say.
struct fan_job : jobrt::job<fan_params, fan_state> {
  static constexpr const char* name = "fan";
  static constexpr const char* description = "Fans out to children, then in";
  void step(jobrt::context& ctx) override {
    if (!state().spawned) {
      for (std::int64_t i = 0; i < params().children; ++i) {
        auto id = params().failing_children.value_or(false)
                    ? ctx.spawn_child("flaky", {{"fail_times", 1}, {"permanent", true}})
                    : ctx.spawn_child(params().child_type.value_or("sum"),
                                      {{"n", params().child_n.value_or(2) + i}});
        if (!id) {
          ctx.complete({{"spawn_error", jobrt::to_string(id.error().code)}});
          return;
        }
      }
      state().spawned = true;
      ctx.wait_for_children();
      return;
    }
    auto kids = ctx.children();
    if (!kids) {
      ctx.fail(kids.error().message);
      return;
    }
    std::int64_t total = 0;
    json::array statuses;
    for (const auto& k : *kids) {
      statuses.emplace_back(jobrt::to_string(k.status));
      if (k.status == job_status::completed && k.output.is_object()
          && k.output.as_object().contains("total"))
        total += k.output.as_object().at("total").as_int64();
    }
    ctx.complete({{"total", total},
                  {"children", static_cast<std::int64_t>(ctx.child_ids().size())},
                  {"statuses", statuses}});
  }
};

} // namespace

JOBRT_REGISTER_JOB(test_jobs::sum_job);
JOBRT_REGISTER_JOB(test_jobs::gated_job);
JOBRT_REGISTER_JOB(flaky_job);
JOBRT_REGISTER_JOB(fan_job);

namespace {

struct flow_fixture : clock_fixture {
  jobrt::submit_options after(std::vector<jobrt::job_id> ids,
                              jobrt::dependency_failure policy = jobrt::dependency_failure::fail) {
    jobrt::submit_options o;
    o.after = std::move(ids);
    o.on_dependency_failure = policy;
    return o;
  }

  /// The children of `parent`, once `n` of them are in the store.
  std::vector<jobrt::job_record> children_of(jobrt::job_id parent, std::size_t n) {
    std::vector<jobrt::job_record> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      out.clear();
      jobrt::list_query q;
      q.limit = 1000;
      auto page = rt->list(q);
      BOOST_REQUIRE(page.ok());
      for (auto& j : page->jobs)
        if (j.parent == parent)
          out.push_back(j);
      if (out.size() < n)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::reverse(out.begin(), out.end());
    return out;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(flows, flow_fixture)

// -- children -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_parent_runs_again_with_its_childrens_outputs_once_they_finish) {
  auto parent = submit("fan", {{"children", 4}});
  auto done = when(parent, job_status::completed);
  // sum of 1..n for n = 2, 3, 4, 5
  BOOST_TEST(done.output.as_object().at("total") == 3 + 6 + 10 + 15);
  BOOST_TEST(done.output.as_object().at("children") == 4);
  // Whether it was seen `waiting` is up to the threads: children that finish
  // before the parent's wait is handled let it run again at once. The wait
  // itself is shown with gated children below.
}

BOOST_AUTO_TEST_CASE(a_child_names_its_parent_and_takes_the_parents_owner) {
  jobrt::submit_options o;
  o.owner = "acme";
  auto parent = submit("fan", {{"children", 2}}, o);
  when(parent, job_status::completed);
  auto kids = children_of(parent, 2);
  BOOST_REQUIRE(kids.size() == 2u);
  for (const auto& k : kids) {
    BOOST_TEST(k.owner == "acme");
    BOOST_TEST(k.status == job_status::completed);
  }
  BOOST_TEST(get(parent).children == (std::vector<jobrt::job_id>{kids[0].id, kids[1].id}));
}

BOOST_AUTO_TEST_CASE(a_parent_waiting_for_its_children_holds_no_slot) {
  restart(1); // one slot: the children can run only if the parent gave it back
  auto parent = submit("fan", {{"children", 3}});
  BOOST_TEST(when(parent, job_status::completed).output.as_object().at("children") == 3);
}

BOOST_AUTO_TEST_CASE(a_parent_hears_of_a_child_that_failed) {
  auto parent = submit("fan", {{"children", 2}, {"failing_children", true}});
  auto done = when(parent, job_status::completed);
  BOOST_TEST(done.output.as_object().at("children") == 2);
  BOOST_TEST(done.output.as_object().at("statuses") == (json::array{"failed", "failed"}));
}

BOOST_AUTO_TEST_CASE(a_child_of_an_unknown_type_is_refused_to_the_parent) {
  auto parent = submit("fan", {{"children", 1}, {"child_type", "no-such-type"}});
  auto done = when(parent, job_status::completed);
  BOOST_TEST(done.output.as_object().at("spawn_error") == "unknown_job_type");
}

BOOST_AUTO_TEST_CASE(a_parent_waiting_for_its_children_goes_on_after_a_restart,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  auto parent = submit("fan", {{"children", 2}, {"child_type", "gated"}, {"child_n", 1}});
  when(parent, job_status::waiting);
  BOOST_REQUIRE(children_of(parent, 2).size() == 2u);
  restart(2);
  BOOST_TEST(get(parent).status == job_status::waiting);
  BOOST_TEST(get(parent).waiting_for == "children");
  test_jobs::permits += 1 + 2; // the children take 1 and 2 steps
  poll_until([&] { return get(parent).status == job_status::completed; });
  BOOST_TEST(get(parent).output.as_object().at("children") == 2);
}

BOOST_AUTO_TEST_CASE(a_waiting_parents_progress_counts_its_finished_children) {
  auto parent = submit("fan", {{"children", 2}, {"child_type", "gated"}, {"child_n", 1}});
  when(parent, job_status::waiting);
  auto kids = children_of(parent, 2);
  BOOST_REQUIRE(kids.size() == 2u);
  BOOST_TEST(get(parent).progress.message == "0 of 2 children finished");
  test_jobs::permits += 2; // enough for one child (they take 1 and 2 steps), not both
  poll_until([&] { return get(parent).progress.fraction.value_or(0) == 0.5; });
  auto half = get(parent).progress;
  BOOST_TEST(half.fraction.value_or(0) == 0.5);
  BOOST_TEST(half.stage == "children");
}

BOOST_AUTO_TEST_CASE(a_parent_restarted_before_its_wait_was_stored_waits_for_its_children,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  // What a kill leaves between the checkpoint that holds the children and the
  // parent's `waiting` record: the parent running, its children queued.
  {
    auto store = stop_and_open_store();
    jobrt::storage::write_batch b;
    jobrt::job_record parent;
    parent.id = 1;
    parent.type = "fan";
    parent.params = {{"children", 2}, {"child_type", "gated"}, {"child_n", 1}};
    parent.status = job_status::running;
    parent.attempts = 1;
    b.put_record(parent);
    for (jobrt::job_id id : {2, 3}) {
      jobrt::job_record child;
      child.id = id;
      child.type = "gated";
      child.params = {{"n", 1}};
      child.parent = 1;
      b.put_record(child);
    }
    jobrt::checkpoint cp;
    cp.state = {{"spawned", true}};
    cp.children = {2, 3};
    cp.awaiting_children = true;
    b.put_checkpoint(1, cp);
    BOOST_REQUIRE(store->commit(b).ok());
  }
  start(2);
  poll_until([&] { return get(1).status == job_status::waiting; });
  BOOST_TEST(get(1).waiting_for == "children");
  test_jobs::permits += 2;
  poll_until([&] { return get(1).status == job_status::completed; });
  BOOST_TEST(get(1).output.as_object().at("statuses") == (json::array{"completed", "completed"}));
}

// -- steering a flow ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(pausing_a_parent_pauses_its_children_and_resuming_resumes_them) {
  auto parent = submit("fan", {{"children", 2}, {"child_type", "gated"}, {"child_n", 1}});
  when(parent, job_status::waiting);
  auto kids = children_of(parent, 2);
  BOOST_REQUIRE(kids.size() == 2u);
  BOOST_REQUIRE(rt->pause(parent).ok());
  BOOST_TEST(get(parent).status == job_status::paused);
  for (const auto& k : kids)
    BOOST_TEST(when(k.id, job_status::paused).status == job_status::paused);
  BOOST_REQUIRE(rt->resume(parent).ok());
  BOOST_TEST(get(parent).status == job_status::waiting); // its children are unfinished
  test_jobs::permits += 1 + 2;
  poll_until([&] { return get(parent).status == job_status::completed; });
  for (const auto& k : kids)
    BOOST_TEST(get(k.id).status == job_status::completed);
}

BOOST_AUTO_TEST_CASE(cancelling_a_parent_cancels_its_children) {
  auto parent = submit("fan", {{"children", 3}, {"child_type", "gated"}, {"child_n", 1}});
  when(parent, job_status::waiting);
  auto kids = children_of(parent, 3);
  BOOST_REQUIRE(kids.size() == 3u);
  BOOST_REQUIRE(rt->cancel(parent).ok());
  BOOST_TEST(get(parent).status == job_status::cancelled);
  for (const auto& k : kids)
    BOOST_TEST(when(k.id, job_status::cancelled).status == job_status::cancelled);
}

// -- after ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_job_after_another_waits_until_that_one_completed) {
  auto first = submit("gated", {{"n", 1}});
  auto second = submit("sum", {{"n", 4}}, after({first}));
  BOOST_TEST(get(second).status == job_status::waiting);
  BOOST_TEST(get(second).waiting_for == "dependencies");
  BOOST_TEST(get(second).after == std::vector<jobrt::job_id>{first});
  test_jobs::permits += 1;
  BOOST_TEST(when_polled(second, job_status::completed).output.as_object().at("total") == 10);
  BOOST_TEST(get(first).status == job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_job_after_finished_jobs_runs_at_once) {
  auto first = submit("sum", {{"n", 1}});
  when(first, job_status::completed);
  auto second = submit("sum", {{"n", 2}}, after({first}));
  when(second, job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_job_after_a_failed_one_fails_by_default) {
  auto bad = submit("flaky", {{"fail_times", 1}, {"permanent", true}});
  auto next = submit("sum", {{"n", 1}}, after({bad}));
  auto failed = when(next, job_status::failed);
  BOOST_TEST(failed.error.find(std::to_string(bad)) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_job_after_a_failed_one_is_cancelled_when_told_to) {
  auto bad = submit("flaky", {{"fail_times", 1}, {"permanent", true}});
  auto next = submit("sum", {{"n", 1}}, after({bad}, jobrt::dependency_failure::cancel));
  when(next, job_status::cancelled);
}

BOOST_AUTO_TEST_CASE(a_job_after_a_failed_one_runs_anyway_when_told_to) {
  auto bad = submit("flaky", {{"fail_times", 1}, {"permanent", true}});
  auto next = submit("sum", {{"n", 1}}, after({bad}, jobrt::dependency_failure::run));
  when(next, job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_job_after_a_cancelled_one_fails_by_default) {
  auto first = submit("gated", {{"n", 1}});
  auto next = submit("sum", {{"n", 1}}, after({first}));
  BOOST_REQUIRE(rt->cancel(first).ok());
  when(next, job_status::failed);
}

BOOST_AUTO_TEST_CASE(a_job_after_several_waits_for_the_last_of_them) {
  auto a = submit("gated", {{"n", 1}});
  auto b = submit("gated", {{"n", 1}});
  auto next = submit("sum", {{"n", 1}}, after({a, b, a}));
  test_jobs::permits += 1;
  poll_until([&] {
    return get(a).status == job_status::completed || get(b).status == job_status::completed;
  });
  BOOST_TEST(get(next).status == job_status::waiting);
  test_jobs::permits += 1;
  when_polled(next, job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_paused_dependent_waits_again_when_resumed_before_its_dependency_ends) {
  auto first = submit("gated", {{"n", 1}});
  auto next = submit("sum", {{"n", 1}}, after({first}));
  BOOST_REQUIRE(rt->pause(next).ok());
  BOOST_REQUIRE(rt->resume(next).ok());
  BOOST_TEST(get(next).status == job_status::waiting);
  test_jobs::permits += 1;
  when_polled(next, job_status::completed);
}

BOOST_AUTO_TEST_CASE(a_dependent_keeps_waiting_across_a_restart,
                     *boost::unit_test::precondition(test_jobs::store_outlives_the_runtime)) {
  auto first = submit("gated", {{"n", 1}});
  auto next = submit("sum", {{"n", 1}}, after({first}));
  restart(2);
  BOOST_TEST(get(next).status == job_status::waiting);
  test_jobs::permits += 1;
  poll_until([&] { return get(next).status == job_status::completed; });
}

BOOST_AUTO_TEST_CASE(after_an_unknown_job_is_refused) {
  auto r = rt->submit("sum", {{"n", 1}}, after({987654}));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == jobrt::errc::not_found);
}

BOOST_AUTO_TEST_CASE(after_with_a_start_time_or_job_zero_is_refused) {
  auto o = after({0});
  BOOST_TEST(rt->submit("sum", {{"n", 1}}, o).error().code == jobrt::errc::invalid_argument);
  auto first = submit("sum", {{"n", 1}});
  auto timed = after({first});
  timed.run_at = clock->now() + 1000;
  BOOST_TEST(rt->submit("sum", {{"n", 1}}, timed).error().code
             == jobrt::errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
