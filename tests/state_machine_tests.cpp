#define BOOST_TEST_MODULE state_machine_tests
#include <boost/test/unit_test.hpp>

#include <set>
#include <utility>

#include "jobrt/status.hpp"

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
