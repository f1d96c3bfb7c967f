#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "sample_data.hpp"
#include "test_support.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using namespace jobrt_examples;
using jobrt::job_status;
using test_support::event_log;
using test_support::temp_dir;

namespace {

/// The message of a failed result (Boost.Test evaluates a message even when the check passes).
template <class T>
std::string error_of(const jobrt::result<T>& r) {
  return r.ok() ? std::string{} : r.error().message;
}

jobrt::job_record finished(jobrt::runtime& rt, jobrt::job_id id) {
  auto rec = rt.wait(id, 60s);
  BOOST_REQUIRE_MESSAGE(rec.ok(), error_of(rec));
  return *rec;
}

jobrt::job_record submit_and_wait(jobrt::runtime& rt, const json::value& params) {
  auto id = rt.submit("bank_statement", params);
  BOOST_REQUIRE_MESSAGE(id.ok(), error_of(id));
  return finished(rt, *id);
}

/// The totals a statement should show, summed from its children's own records.
json::object sum_of_children(jobrt::runtime& rt, const jobrt::job_record& statement) {
  std::int64_t rows = 0, skipped = 0, net = 0;
  json::object categories;
  for (auto child : statement.children) {
    auto rec = rt.get(child);
    BOOST_REQUIRE(rec.ok());
    BOOST_TEST(jobrt::to_string(rec->status) == "completed");
    const auto& out = rec->output.as_object();
    rows += out.at("rows").as_int64();
    skipped += out.at("skipped").as_int64();
    for (const auto& [name, total] : out.at("categories").as_object()) {
      net += total.at("total_cents").as_int64();
      auto& sum = categories[name];
      if (sum.is_null())
        sum = json::object{{"count", 0}, {"total_cents", 0}};
      sum.at("count") = sum.at("count").as_int64() + total.at("count").as_int64();
      sum.at("total_cents") = sum.at("total_cents").as_int64() + total.at("total_cents").as_int64();
    }
  }
  auto n = static_cast<std::int64_t>(statement.children.size());
  return {{"accounts", n},   {"completed", n},    {"rows", rows},
          {"skipped", skipped}, {"net_cents", net}, {"categories", std::move(categories)}};
}

void check_three_completed_accounts_and_their_sum(jobrt::runtime& rt,
                                                  const jobrt::job_record& rec) {
  BOOST_TEST(jobrt::to_string(rec.status) == "completed", rec.error);
  const auto& out = rec.output.as_object();
  BOOST_TEST(out.at("month") == "2024-03");
  const auto& accounts = out.at("accounts").as_array();
  BOOST_REQUIRE_EQUAL(accounts.size(), 3u);
  for (const auto& a : accounts) {
    BOOST_TEST(a.at("status") == "completed", json::serialize(a));
    BOOST_TEST(a.at("rows").as_int64() > 0);
  }
  BOOST_TEST(out.at("failed").as_array().empty());
  BOOST_REQUIRE_EQUAL(rec.children.size(), 3u);
  BOOST_TEST(out.at("totals") == sum_of_children(rt, rec), json::serialize(out.at("totals")));
  BOOST_TEST(out.at("totals").at("rows").as_int64() == 3 * 400);
}

const json::value three_sample_accounts = {
  {"month", "2024-03"}, {"sample_accounts", 3}, {"sample_rows", 400}};

bool at_least(const jobrt::job_event& e, double fraction) {
  return e.progress.fraction && *e.progress.fraction >= fraction;
}

} // namespace

BOOST_AUTO_TEST_CASE(bank_statement_in_memory_completes_with_every_account_and_the_sum_of_their_totals) {
  auto rt = test_support::start_memory_runtime();
  check_three_completed_accounts_and_their_sum(*rt, submit_and_wait(*rt, three_sample_accounts));
}

BOOST_AUTO_TEST_CASE(bank_statement_in_the_lmdb_store_completes_with_every_account_and_the_sum_of_their_totals) {
  temp_dir tmp;
  auto rt = test_support::start_runtime(tmp / "store");
  check_three_completed_accounts_and_their_sum(*rt, submit_and_wait(*rt, three_sample_accounts));
}

BOOST_AUTO_TEST_CASE(every_child_of_a_bank_statement_names_it_as_its_parent) {
  auto rt = test_support::start_memory_runtime();
  auto rec = submit_and_wait(*rt, three_sample_accounts);
  BOOST_REQUIRE_EQUAL(rec.children.size(), 3u);
  for (auto child : rec.children) {
    auto c = rt->get(child);
    BOOST_REQUIRE(c.ok());
    BOOST_TEST(c->parent == rec.id);
    BOOST_TEST(c->type == "bank_categorize");
  }
}

BOOST_AUTO_TEST_CASE(bank_statement_reports_a_failed_child_and_still_completes) {
  temp_dir tmp;
  auto rows = write_sample_transactions(tmp / "good.csv", 300, 5);
  auto missing = tmp / "missing.csv";
  auto rt = test_support::start_memory_runtime();
  auto rec = submit_and_wait(
    *rt, {{"month", "2024-04"},
          {"accounts", {{"good", tmp / "good.csv"}, {"missing", missing}}}});
  BOOST_TEST(jobrt::to_string(rec.status) == "completed", rec.error);
  const auto& out = rec.output.as_object();
  BOOST_TEST(out.at("failed") == json::value(json::array{"missing"}), json::serialize(out));
  const auto& accounts = out.at("accounts").as_array();
  BOOST_REQUIRE_EQUAL(accounts.size(), 2u);
  BOOST_TEST(accounts[0].at("account") == "good");
  BOOST_TEST(accounts[0].at("status") == "completed");
  BOOST_TEST(accounts[1].at("account") == "missing");
  BOOST_TEST(accounts[1].at("status") == "failed");
  BOOST_TEST(accounts[1].at("error").as_string() == "CSV file '" + missing + "' does not exist");
  BOOST_TEST(out.at("totals").at("accounts").as_int64() == 2);
  BOOST_TEST(out.at("totals").at("completed").as_int64() == 1);
  BOOST_TEST(out.at("totals").at("rows").as_int64() == static_cast<std::int64_t>(rows.size()));
}

BOOST_AUTO_TEST_CASE(pausing_a_bank_statement_pauses_its_children_and_resuming_it_completes_it) {
  auto rt = test_support::start_memory_runtime();
  event_log log{*rt};
  auto id = rt->submit("bank_statement", {{"month", "2024-03"},
                                          {"sample_accounts", 3},
                                          {"sample_rows", 3000},
                                          {"pace_ms", 20}});
  BOOST_REQUIRE(id.ok());
  BOOST_REQUIRE(log.wait_for_status(*id, job_status::waiting));
  auto waiting = rt->get(*id);
  BOOST_REQUIRE(waiting.ok());
  BOOST_TEST(waiting->waiting_for == "children");
  auto children = waiting->children;
  BOOST_REQUIRE_EQUAL(children.size(), 3u);
  for (auto child : children) // each is running, well before its end
    BOOST_REQUIRE(log.wait_for(child, [](const jobrt::job_event& e) { return at_least(e, 0.1); }));

  auto paused = rt->pause(*id);
  BOOST_REQUIRE_MESSAGE(paused.ok(), paused.error().message);
  BOOST_TEST(jobrt::to_string(rt->get(*id)->status) == "paused");
  for (auto child : children) {
    BOOST_TEST(log.wait_for_status(child, job_status::paused, 10s), "child " << child);
    auto c = rt->get(child);
    BOOST_REQUIRE(c.ok());
    BOOST_TEST(jobrt::to_string(c->status) == "paused");
    BOOST_TEST(c->progress.fraction.value_or(0) < 1.0);
  }

  auto resumed = rt->resume(*id);
  BOOST_REQUIRE_MESSAGE(resumed.ok(), resumed.error().message);
  auto rec = finished(*rt, *id);
  BOOST_TEST(jobrt::to_string(rec.status) == "completed", rec.error);
  const auto& accounts = rec.output.at("accounts").as_array();
  BOOST_REQUIRE_EQUAL(accounts.size(), 3u);
  for (const auto& a : accounts)
    BOOST_TEST(a.at("status") == "completed", json::serialize(a));
  BOOST_TEST(rec.output.at("totals") == sum_of_children(*rt, rec));
}
