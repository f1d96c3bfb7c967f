#define BOOST_TEST_MODULE state_machine_tests
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>
#include <utility>

#include "actors/lifecycle.hpp"
#include "jobrt/status.hpp"

#include <boost/json/serialize.hpp>

using jobrt::job_status;

namespace {

/// The diagram in DESIGN.md, written out independently of the code's table.
const std::set<std::pair<job_status, job_status>> allowed{
  {job_status::queued, job_status::running},   {job_status::queued, job_status::paused},
  {job_status::queued, job_status::cancelled}, {job_status::queued, job_status::waiting},
  {job_status::queued, job_status::failed},    {job_status::running, job_status::completed},
  {job_status::running, job_status::failed},   {job_status::running, job_status::waiting},
  {job_status::running, job_status::cancelled}, {job_status::running, job_status::paused},
  {job_status::running, job_status::queued},   {job_status::waiting, job_status::queued},
  {job_status::waiting, job_status::paused},   {job_status::waiting, job_status::cancelled},
  {job_status::waiting, job_status::failed},   {job_status::paused, job_status::queued},
  {job_status::paused, job_status::cancelled}, {job_status::failed, job_status::queued},
};

} // namespace

BOOST_AUTO_TEST_CASE(every_allowed_transition_is_accepted) {
  for (auto [from, to] : allowed)
    BOOST_TEST(jobrt::check_transition(from, to).ok(),
               jobrt::to_string(from) << " -> " << jobrt::to_string(to));
}

BOOST_AUTO_TEST_CASE(every_other_transition_is_refused_with_an_illegal_transition_error) {
  for (auto from : jobrt::all_statuses) {
    for (auto to : jobrt::all_statuses) {
      if (allowed.count({from, to}) != 0)
        continue;
      auto r = jobrt::check_transition(from, to);
      BOOST_TEST(!r.ok(), jobrt::to_string(from) << " -> " << jobrt::to_string(to));
      if (!r.ok()) {
        BOOST_TEST(r.error().code == jobrt::errc::illegal_transition);
        BOOST_TEST(r.error().message.find(jobrt::to_string(from)) != std::string::npos);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(the_code_table_and_the_design_diagram_have_the_same_size) {
  BOOST_TEST(jobrt::transitions.size() == allowed.size());
}

BOOST_AUTO_TEST_CASE(completed_and_cancelled_are_terminal_and_failed_only_retries) {
  for (auto to : jobrt::all_statuses) {
    BOOST_TEST(!jobrt::can_transition(job_status::completed, to));
    BOOST_TEST(!jobrt::can_transition(job_status::cancelled, to));
    BOOST_TEST(jobrt::can_transition(job_status::failed, to) == (to == job_status::queued));
  }
}

BOOST_AUTO_TEST_CASE(status_names_round_trip) {
  for (auto s : jobrt::all_statuses)
    BOOST_TEST(jobrt::parse_status(jobrt::to_string(s)).value() == s);
  BOOST_TEST(!jobrt::parse_status("done").has_value());
}

BOOST_AUTO_TEST_CASE(an_error_message_names_the_verb_and_both_statuses) {
  auto r = jobrt::check_transition(job_status::completed, job_status::paused);
  BOOST_TEST(r.error().message
             == "cannot pause a completed job (completed -> paused is not an allowed transition)");
}

// -- the named transitions of a record (actors/lifecycle.hpp) ---------------------------

namespace lifecycle = jobrt::lifecycle;
using jobrt::job_event_kind;

BOOST_AUTO_TEST_CASE(each_named_transition_moves_only_along_its_edges_of_the_table) {
  const job_event_kind kinds[] = {
    job_event_kind::start, job_event_kind::complete, job_event_kind::fail,
    job_event_kind::wait,  job_event_kind::wake,     job_event_kind::pause,
    job_event_kind::resume, job_event_kind::cancel,  job_event_kind::retry,
    job_event_kind::requeue};
  std::size_t accepted = 0;
  for (auto from : jobrt::all_statuses)
    for (auto kind : kinds) {
      auto to = lifecycle::target_of(kind);
      bool in_table = std::any_of(jobrt::transitions.begin(), jobrt::transitions.end(),
                                  [&](const jobrt::transition& t) {
                                    return t.from == from && t.to == to && t.event == kind;
                                  });
      BOOST_TEST(lifecycle::check(from, kind).ok() == in_table,
                 jobrt::to_string(kind) << " from " << from);
      accepted += in_table ? 1 : 0;
    }
  BOOST_TEST(accepted == jobrt::transitions.size()); // every edge has its named move
}

BOOST_AUTO_TEST_CASE(a_refused_transition_leaves_the_record_as_it_was) {
  jobrt::job_record r;
  r.status = job_status::paused;
  r.output = {{"kept", true}};
  auto done = lifecycle::complete(r, {{"new", true}}, 1000);
  BOOST_REQUIRE(!done.ok());
  BOOST_TEST(done.error().code == jobrt::errc::illegal_transition);
  BOOST_TEST(done.error().message
             == "cannot complete a paused job (paused -> completed is not an allowed transition)");
  BOOST_TEST(r.status == job_status::paused);
  BOOST_TEST(r.finished_at == 0);
  BOOST_TEST(boost::json::serialize(r.output) == R"({"kept":true})");
}

BOOST_AUTO_TEST_CASE(a_start_counts_an_attempt_and_a_resumed_run_does_not) {
  jobrt::job_record r;
  r.wake_at = 5;
  r.waiting_for = "rate_limit";
  BOOST_REQUIRE(lifecycle::start(r, 1000).ok());
  BOOST_TEST(r.status == job_status::running);
  BOOST_TEST(r.attempts == 1u);
  BOOST_TEST(r.started_at == 1000);
  BOOST_TEST(r.wake_at == 0);
  BOOST_TEST(r.waiting_for.empty());
  BOOST_REQUIRE(lifecycle::pause(r).ok());
  BOOST_REQUIRE(lifecycle::resume(r).ok());
  BOOST_REQUIRE(lifecycle::resume_run(r).ok());
  BOOST_TEST(r.attempts == 1u);
}

BOOST_AUTO_TEST_CASE(a_completion_keeps_the_output_and_ends_progress_at_one) {
  jobrt::job_record r;
  r.status = job_status::running;
  r.progress.fraction = 0.4;
  r.error = "an earlier try";
  BOOST_REQUIRE(lifecycle::complete(r, {{"total", 6}}, 2000).ok());
  BOOST_TEST(r.status == job_status::completed);
  BOOST_TEST(boost::json::serialize(r.output) == R"({"total":6})");
  BOOST_TEST(r.error.empty());
  BOOST_TEST(r.finished_at == 2000);
  BOOST_TEST(r.progress.fraction.value_or(0) == 1.0);
}

BOOST_AUTO_TEST_CASE(a_wait_names_its_reason_and_a_wake_clears_it) {
  jobrt::job_record r;
  r.status = job_status::running;
  BOOST_REQUIRE(lifecycle::wait(r, 5000, lifecycle::wait_reason::rate_limit).ok());
  BOOST_TEST(r.status == job_status::waiting);
  BOOST_TEST(r.wake_at == 5000);
  BOOST_TEST(r.waiting_for == "rate_limit");
  BOOST_REQUIRE(lifecycle::wake(r).ok());
  BOOST_TEST(r.status == job_status::queued);
  BOOST_TEST(r.wake_at == 0);
  BOOST_TEST(r.waiting_for.empty());
}

BOOST_AUTO_TEST_CASE(a_retry_of_a_job_that_used_every_attempt_grants_one_more_run) {
  jobrt::job_record r;
  r.status = job_status::failed;
  r.attempts = 3;
  r.max_attempts = 3;
  r.finished_at = 77;
  BOOST_REQUIRE(lifecycle::retry(r).ok());
  BOOST_TEST(r.status == job_status::queued);
  BOOST_TEST(r.max_attempts == 4u);
  BOOST_TEST(r.finished_at == 0);
}
