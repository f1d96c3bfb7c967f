/// HTTP integration tests of flows through the API: a job submitted `after`
/// others (and its policy for a dependency that failed), and the flow fields
/// of the job JSON (`parent`, `after`, `on_dependency_failure`, `children`).
///
/// No example job type spawns children (`context::spawn_child`), so the
/// parent/children pair is only checked to be present and empty here.

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>

#include <boost/json.hpp>

#include "server_process.hpp"

namespace json = boost::json;
namespace http = boost::beast::http;
using namespace test_support;

namespace {

constexpr const char* admin = "admin-secret";
constexpr const char* acme = "acme-secret";
constexpr const char* globex = "globex-secret";

/// One server per test case, with an admin token and owner tokens for acme and globex.
struct flow_fixture {
  server_process server{{"--token", admin, "--owner-token", std::string{acme} + "=acme",
                         "--owner-token", std::string{globex} + "=globex"}};
  jobrt_client::http_client api = server.client(admin);

  jobrt_client::reply get(const std::string& target) { return api.request(http::verb::get, target); }
  jobrt_client::reply post(const std::string& target, const std::string& body = {}) {
    return api.request(http::verb::post, target, body);
  }

  /// Submits `body` (202 required) and returns the new job's id.
  std::uint64_t submit(const std::string& body, jobrt_client::http_client* as = nullptr) {
    auto r = (as ? *as : api).request(http::verb::post, "/api/jobs", body);
    BOOST_REQUIRE_MESSAGE(r.status == 202, r.body);
    return body_of(r).at("id").to_number<std::uint64_t>();
  }

  /// An approval job: it waits for a signal, so jobs after it wait too.
  std::uint64_t held_back(jobrt_client::http_client* as = nullptr) {
    auto id = submit(R"({"type":"approval","params":{}})", as);
    BOOST_REQUIRE(wait_for_status(api, id, "waiting"));
    return id;
  }

  json::value job(std::uint64_t id) {
    auto r = get("/api/jobs/" + std::to_string(id));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return body_of(r);
  }

  /// The job `id` as `GET /api/jobs` lists it (null if it is not on the first page).
  json::value listed(std::uint64_t id) {
    auto r = get("/api/jobs?limit=1000");
    BOOST_REQUIRE_EQUAL(r.status, 200);
    auto doc = body_of(r);
    for (const auto& j : doc.at("jobs").as_array())
      if (j.at("id").to_number<std::uint64_t>() == id)
        return j;
    return nullptr;
  }

  /// `{"type":"countdown","params":{"n":1}` plus `extra` fields, closed.
  static std::string countdown(const std::string& extra) {
    return R"({"type":"countdown","params":{"n":1})" + extra + "}";
  }
};

std::string error_code(const jobrt_client::reply& r) {
  auto doc = body_of(r);
  if (!doc.is_object() || !doc.as_object().contains("error"))
    return "<no error field: " + r.body + ">";
  return std::string{doc.at("error").as_string()};
}

std::string message(const jobrt_client::reply& r) {
  auto doc = body_of(r);
  if (!doc.is_object() || !doc.as_object().contains("message"))
    return "<no message field: " + r.body + ">";
  return std::string{doc.at("message").as_string()};
}

bool mentions(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

json::array ids(std::initializer_list<std::uint64_t> list) {
  json::array out;
  for (auto id : list)
    out.push_back(id);
  return out;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(flow_api, flow_fixture)

BOOST_AUTO_TEST_CASE(a_job_after_an_unfinished_one_waits_for_it_and_runs_once_it_completed) {
  auto a = held_back();
  auto b = submit(countdown(",\"after\":[" + std::to_string(a) + "]"));
  BOOST_REQUIRE(wait_for_status(api, b, "waiting"));
  auto rec = job(b);
  BOOST_TEST(rec.at("after") == ids({a}));
  BOOST_TEST(rec.at("on_dependency_failure") == "fail"); // the default
  BOOST_TEST(rec.at("waiting_for") == "dependencies");
  BOOST_TEST(rec.at("parent") == 0);
  BOOST_TEST(rec.at("children") == json::array{});
  // The list carries the same fields.
  auto row = listed(b);
  BOOST_REQUIRE(row.is_object());
  BOOST_TEST(row.at("after") == ids({a}));
  BOOST_TEST(row.at("waiting_for") == "dependencies");

  BOOST_REQUIRE_EQUAL(post("/api/jobs/" + std::to_string(a) + "/signals/approve", R"({"by":"t"})").status, 202);
  BOOST_TEST(wait_for_status(api, a, "completed"));
  BOOST_TEST(wait_for_status(api, b, "completed"));
  BOOST_TEST(job(b).at("after") == ids({a})); // kept after it ran
}

BOOST_AUTO_TEST_CASE(a_job_after_a_completed_one_runs_at_once) {
  auto a = submit(countdown(""));
  BOOST_REQUIRE(wait_for_status(api, a, "completed"));
  auto b = submit(countdown(",\"after\":[" + std::to_string(a) + "],\"on_dependency_failure\":\"run\""));
  BOOST_TEST(wait_for_status(api, b, "completed"));
  auto rec = job(b);
  BOOST_TEST(rec.at("after") == ids({a}));
  BOOST_TEST(rec.at("on_dependency_failure") == "run");
}

BOOST_AUTO_TEST_CASE(the_policy_cancel_cancels_the_job_when_its_dependency_failed) {
  auto a = held_back();
  auto b = submit(countdown(",\"after\":[" + std::to_string(a) + "],\"on_dependency_failure\":\"cancel\""));
  BOOST_TEST(job(b).at("on_dependency_failure") == "cancel");
  BOOST_REQUIRE_EQUAL(post("/api/jobs/" + std::to_string(a) + "/signals/reject").status, 202);
  BOOST_TEST(wait_for_status(api, a, "failed"));
  BOOST_TEST(wait_for_status(api, b, "cancelled"));
}

BOOST_AUTO_TEST_CASE(an_empty_or_null_after_and_a_null_policy_take_their_defaults) {
  auto a = submit(countdown(R"(,"after":[],"on_dependency_failure":null)"));
  auto b = submit(countdown(R"(,"after":null)"));
  for (auto id : {a, b}) {
    BOOST_TEST(wait_for_status(api, id, "completed"));
    BOOST_TEST(job(id).at("after") == json::array{});
    BOOST_TEST(job(id).at("on_dependency_failure") == "fail");
  }
}

BOOST_AUTO_TEST_CASE(an_after_id_that_does_not_exist_answers_404_not_found) {
  auto a = held_back();
  auto r = post("/api/jobs", countdown(",\"after\":[" + std::to_string(a) + ",999999]"));
  BOOST_TEST(r.status == 404);
  BOOST_TEST(error_code(r) == "not_found");
  BOOST_TEST(mentions(message(r), "999999"), message(r));
}

BOOST_AUTO_TEST_CASE(a_wrong_after_answers_400_naming_the_field) {
  for (const char* bad : {R"("3")", R"(["3"])", "3", "[0]", "[-1]", "[1.5]", "[null]", "[true]", "{}",
                          "[18446744073709551616]"}) {
    auto r = post("/api/jobs", countdown(std::string{",\"after\":"} + bad));
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(error_code(r) == "invalid_request", bad);
    BOOST_TEST(mentions(message(r), "'after'"), message(r));
  }
}

BOOST_AUTO_TEST_CASE(more_than_1000_after_ids_answer_400) {
  auto a = submit(countdown(""));
  std::string list;
  for (int i = 0; i < 1001; ++i)
    list += (i ? "," : "") + std::to_string(a);
  auto r = post("/api/jobs", countdown(",\"after\":[" + list + "]"));
  BOOST_TEST(r.status == 400);
  BOOST_TEST(mentions(message(r), "1000"), message(r));
}

BOOST_AUTO_TEST_CASE(an_unknown_policy_answers_400_naming_the_field) {
  auto a = submit(countdown(""));
  for (const char* bad : {R"("ignore")", R"("FAIL")", R"("")", "1", "true"}) {
    auto r = post("/api/jobs", countdown(",\"after\":[" + std::to_string(a)
                                         + "],\"on_dependency_failure\":" + bad));
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(error_code(r) == "invalid_request", bad);
    BOOST_TEST(mentions(message(r), "'on_dependency_failure'"), message(r));
  }
}

BOOST_AUTO_TEST_CASE(after_together_with_run_at_answers_400) {
  auto a = submit(countdown(""));
  auto r = post("/api/jobs", countdown(",\"after\":[" + std::to_string(a) + "],\"run_at\":4102444800000"));
  BOOST_TEST(r.status == 400);
  BOOST_TEST(mentions(message(r), "'after'"), message(r));
  BOOST_TEST(mentions(message(r), "'run_at'"), message(r));
}

BOOST_AUTO_TEST_CASE(an_owner_token_may_only_wait_on_its_own_jobs) {
  auto as_acme = server.client(acme);
  auto as_globex = server.client(globex);
  auto mine = held_back(&as_acme);
  auto theirs = held_back(&as_globex);
  auto r = as_acme.request(http::verb::post, "/api/jobs", countdown(",\"after\":[" + std::to_string(theirs) + "]"));
  BOOST_TEST(r.status == 403, r.body);
  r = as_acme.request(http::verb::post, "/api/jobs", countdown(",\"after\":[" + std::to_string(mine) + ",999999]"));
  BOOST_TEST(r.status == 404, r.body);
  auto b = submit(countdown(",\"after\":[" + std::to_string(mine) + "]"), &as_acme);
  BOOST_TEST(job(b).at("owner") == "acme");
  BOOST_TEST(job(b).at("after") == ids({mine}));
  // The admin token may wait on anyone's job.
  auto c = submit(countdown(",\"after\":[" + std::to_string(theirs) + "]"));
  BOOST_TEST(job(c).at("after") == ids({theirs}));
}

BOOST_AUTO_TEST_CASE(cancelling_a_job_that_others_wait_for_applies_their_policy) {
  auto a = held_back();
  auto fails = submit(countdown(",\"after\":[" + std::to_string(a) + "]"));
  auto runs = submit(countdown(",\"after\":[" + std::to_string(a) + "],\"on_dependency_failure\":\"run\""));
  BOOST_REQUIRE_EQUAL(post("/api/jobs/" + std::to_string(a) + "/cancel").status, 200);
  BOOST_TEST(wait_for_status(api, fails, "failed"));
  BOOST_TEST(mentions(std::string{job(fails).at("error").as_string()}, std::to_string(a)),
             json::serialize(job(fails)));
  BOOST_TEST(wait_for_status(api, runs, "completed"));
}

BOOST_AUTO_TEST_SUITE_END()
