#include <boost/test/unit_test.hpp>

#include <fstream>

#include <boost/json.hpp>

#include "bank_categorize.hpp"
#include "sample_data.hpp"
#include "test_support.hpp"

namespace json = boost::json;
using namespace jobrt_examples;
using test_support::event_log;
using test_support::temp_dir;

namespace {

/// The output bank_categorize should give for `rows`, computed from what the
/// generator meant, not from the job's own rules.
json::value expected_output(const std::vector<sample_transaction>& rows) {
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> sums;
  for (const auto& r : rows) {
    auto& s = sums[r.category];
    s.first += 1;
    s.second += r.amount_cents;
  }
  json::object categories;
  for (const auto& [name, s] : sums)
    categories[name] = json::object{{"count", s.first}, {"total_cents", s.second}};
  return json::object{{"rows", static_cast<std::int64_t>(rows.size())},
                      {"skipped", 0},
                      {"categories", std::move(categories)}};
}

jobrt::job_record run_to_end(jobrt::runtime& rt, event_log& log, jobrt::job_id id) {
  BOOST_REQUIRE(log.wait_until_finished(rt, id));
  auto rec = rt.get(id);
  BOOST_REQUIRE(rec.ok());
  return *rec;
}

bool at_least(const jobrt::job_event& e, double fraction) {
  return e.progress.fraction && *e.progress.fraction >= fraction;
}

} // namespace

BOOST_AUTO_TEST_CASE(bank_categorize_completes_with_the_totals_of_the_generated_rows) {
  temp_dir tmp;
  auto rows = write_sample_transactions(tmp / "t.csv", 1500, 42);
  auto rt = test_support::start_runtime(tmp / "store");
  event_log log{*rt};
  auto id = rt->submit("bank_categorize", {{"csv_path", tmp / "t.csv"}});
  BOOST_REQUIRE(id.ok());
  auto rec = run_to_end(*rt, log, *id);
  BOOST_TEST(jobrt::to_string(rec.status) == "completed");
  BOOST_TEST(rec.error == "");
  BOOST_TEST(rec.output == expected_output(rows), json::serialize(rec.output));
  BOOST_REQUIRE(rec.progress.fraction.has_value());
  BOOST_TEST(*rec.progress.fraction == 1.0);
}

BOOST_AUTO_TEST_CASE(bank_categorize_counts_malformed_rows_as_skipped) {
  temp_dir tmp;
  {
    std::ofstream f{tmp / "bad.csv", std::ios::binary};
    f << "date,description,amount\r\n"
         "2024-01-01,Uber Trip,-12.50\r\n"
         "2024-01-02,only two fields\n"
         "2024-01-03,Starbucks Coffee,abc\n"
         "2024-01-04,\"Joe's \"\"Famous\"\" Pizza, Brooklyn\",-20.00\n"
         "\n"
         "2024-01-05,\"a two-line\nCorner Cafe\",-3.00\n"
         "2024-01-06,ACME Corp Payroll,\"2,500.00\"\n"
         "2024-01-07,\"Spotify,-9.99\n"; // unterminated quote up to the end of the file
  }
  auto rt = test_support::start_runtime(tmp / "store");
  event_log log{*rt};
  auto id = rt->submit("bank_categorize", {{"csv_path", tmp / "bad.csv"}, {"batch_size", 2}});
  BOOST_REQUIRE(id.ok());
  auto rec = run_to_end(*rt, log, *id);
  BOOST_TEST(jobrt::to_string(rec.status) == "completed");
  json::value expected = json::object{
    {"rows", 4},
    {"skipped", 3},
    {"categories",
     json::object{{"dining", json::object{{"count", 2}, {"total_cents", -2300}}},
                  {"salary", json::object{{"count", 1}, {"total_cents", 250000}}},
                  {"transport", json::object{{"count", 1}, {"total_cents", -1250}}}}}};
  BOOST_TEST(rec.output == expected, json::serialize(rec.output));
}

BOOST_AUTO_TEST_CASE(bank_categorize_fails_with_a_clear_error_for_a_missing_file) {
  temp_dir tmp;
  auto rt = test_support::start_runtime(tmp / "store");
  event_log log{*rt};
  auto path = tmp / "no-such.csv";
  auto id = rt->submit("bank_categorize", {{"csv_path", path}});
  BOOST_REQUIRE(id.ok());
  auto rec = run_to_end(*rt, log, *id);
  BOOST_TEST(jobrt::to_string(rec.status) == "failed");
  BOOST_TEST(rec.error == "CSV file '" + path + "' does not exist");
}

BOOST_AUTO_TEST_CASE(bank_categorize_paused_and_resumed_gives_the_same_output_as_an_uninterrupted_run) {
  temp_dir tmp;
  auto rows = write_sample_transactions(tmp / "t.csv", 3000, 9);
  auto rt = test_support::start_runtime(tmp / "store");
  event_log log{*rt};
  auto plain = rt->submit("bank_categorize", {{"csv_path", tmp / "t.csv"}});
  auto paced = rt->submit("bank_categorize",
                          {{"csv_path", tmp / "t.csv"}, {"batch_size", 50}, {"pace_ms", 10}});
  BOOST_REQUIRE(plain.ok());
  BOOST_REQUIRE(paced.ok());
  BOOST_REQUIRE(log.wait_for(*paced, [](const jobrt::job_event& e) { return at_least(e, 0.3); }));
  auto paused = rt->pause(*paced);
  BOOST_REQUIRE_MESSAGE(paused.ok(), paused.error().message);
  auto mid = rt->get(*paced);
  BOOST_REQUIRE(mid.ok());
  BOOST_TEST(jobrt::to_string(mid->status) == "paused");
  BOOST_REQUIRE(mid->progress.fraction.has_value());
  BOOST_TEST(*mid->progress.fraction >= 0.3);
  BOOST_TEST(*mid->progress.fraction < 1.0);
  auto resumed = rt->resume(*paced);
  BOOST_REQUIRE_MESSAGE(resumed.ok(), resumed.error().message);
  auto a = run_to_end(*rt, log, *plain);
  auto b = run_to_end(*rt, log, *paced);
  BOOST_TEST(jobrt::to_string(b.status) == "completed");
  BOOST_TEST(b.output == a.output, json::serialize(b.output) << " vs " << json::serialize(a.output));
  BOOST_TEST(b.output == expected_output(rows));
}

BOOST_AUTO_TEST_CASE(bank_categorize_restarted_from_its_checkpoint_gives_the_same_output) {
  temp_dir tmp;
  auto rows = write_sample_transactions(tmp / "t.csv", 3000, 11);
  jobrt::job_id id = 0;
  {
    auto rt = test_support::start_runtime(tmp / "store");
    event_log log{*rt};
    auto r = rt->submit("bank_categorize",
                        {{"csv_path", tmp / "t.csv"}, {"batch_size", 50}, {"pace_ms", 10}});
    BOOST_REQUIRE(r.ok());
    id = *r;
    BOOST_REQUIRE(log.wait_for(id, [](const jobrt::job_event& e) { return at_least(e, 0.3); }));
    rt->shutdown(); // the job stops between two batches and stays unfinished
  }
  auto rt = test_support::start_runtime(tmp / "store");
  event_log log{*rt};
  auto stats = rt->stats();
  BOOST_REQUIRE(stats.ok());
  BOOST_TEST(stats->recovered == 1u);
  auto rec = run_to_end(*rt, log, id);
  BOOST_TEST(jobrt::to_string(rec.status) == "completed");
  BOOST_TEST(rec.output == expected_output(rows), json::serialize(rec.output));
}
