/// HTTP integration tests of /api/schedules: the real jobrt-server, started as
/// a child process on a free port (see http_api_tests.cpp for the rest of the API).

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include <boost/json.hpp>

#include "server_process.hpp"

namespace json = boost::json;
namespace http = boost::beast::http;
using namespace test_support;

namespace {

constexpr const char* admin = "admin-secret";
constexpr const char* acme = "acme-secret";

/// One server per test case, with an admin token and an owner token for acme.
struct schedule_fixture {
  server_process server{{"--token", admin, "--owner-token", std::string{acme} + "=acme"}};
  jobrt_client::http_client api = server.client(admin);

  jobrt_client::reply get(const std::string& target) { return api.request(http::verb::get, target); }
  jobrt_client::reply post(const std::string& target, const std::string& body = {}) {
    return api.request(http::verb::post, target, body);
  }
  jobrt_client::reply del(const std::string& target) { return api.request(http::verb::delete_, target); }

  /// A schedule body: a countdown every hour, with `extra` fields (",\"k\":v...").
  static std::string body(const std::string& name, const std::string& spec = "0 * * * *",
                          const std::string& extra = {}) {
    return R"({"name":")" + name + R"(","spec":")" + spec
           + R"(","type":"countdown","params":{"n":1})" + extra + "}";
  }

  /// Creates a schedule (201 required) and returns its JSON.
  json::value create(const std::string& name, const std::string& spec = "0 * * * *",
                     const std::string& extra = {}) {
    auto r = post("/api/schedules", body(name, spec, extra));
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return body_of(r);
  }

  /// The schedule `name` as GET /api/schedules lists it (null if it is not there).
  json::value listed(const std::string& name, jobrt_client::http_client* as = nullptr) {
    auto r = (as ? *as : api).request(http::verb::get, "/api/schedules");
    BOOST_REQUIRE_EQUAL(r.status, 200);
    auto doc = body_of(r);
    for (const auto& s : doc.at("schedules").as_array())
      if (s.at("name") == name.c_str())
        return s;
    return nullptr;
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

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(schedule_api, schedule_fixture)

BOOST_AUTO_TEST_CASE(creating_a_schedule_answers_201_with_its_fields_and_next_tick) {
  auto before = now_ms();
  auto s = create("hourly", "0 * * * *",
                  R"(,"time_zone":"Europe/Berlin","on_missed":"run_each","max_catch_up":5,)"
                  R"("on_overlap":"queue","grace_ms":1000,"priority":3,"max_attempts":2,"timeout_ms":500)");
  BOOST_TEST(s.at("name") == "hourly");
  BOOST_TEST(s.at("spec") == "0 * * * *");
  BOOST_TEST(s.at("type") == "countdown");
  BOOST_TEST(s.at("params") == json::parse(R"({"n":1})"));
  BOOST_TEST(s.at("time_zone") == "Europe/Berlin");
  BOOST_TEST(s.at("on_missed") == "run_each");
  BOOST_TEST(s.at("max_catch_up") == 5);
  BOOST_TEST(s.at("on_overlap") == "queue");
  BOOST_TEST(s.at("grace_ms") == 1000);
  BOOST_TEST(s.at("priority") == 3);
  BOOST_TEST(s.at("max_attempts") == 2);
  BOOST_TEST(s.at("timeout_ms") == 500);
  BOOST_TEST(s.at("paused") == false);
  BOOST_TEST(s.at("fired") == 0);
  auto next = s.at("next_tick").to_number<std::int64_t>();
  BOOST_TEST(next > before);
  BOOST_TEST(next <= before + 3'600'000 + 60'000); // the next whole hour
  BOOST_TEST(next % 3'600'000 == 0);               // Berlin's hours are UTC's hours
}

BOOST_AUTO_TEST_CASE(only_name_spec_and_type_are_required_and_the_rest_take_their_defaults) {
  // approval has no required parameter: the default params {} are enough.
  auto r = post("/api/schedules", R"({"name":"bare","spec":"@daily","type":"approval"})");
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  auto s = body_of(r);
  BOOST_TEST(s.at("params") == json::object{});
  BOOST_TEST(s.at("time_zone") == "UTC");
  BOOST_TEST(s.at("on_missed") == "run_once");
  BOOST_TEST(s.at("on_overlap") == "skip");
  BOOST_TEST(s.at("max_catch_up") == 100);
  BOOST_TEST(s.at("grace_ms") == 60000);
}

BOOST_AUTO_TEST_CASE(a_created_schedule_is_listed_with_its_next_tick) {
  create("listed-one", "*/5 * * * *");
  auto s = listed("listed-one");
  BOOST_REQUIRE(s.is_object());
  BOOST_TEST(s.at("spec") == "*/5 * * * *");
  BOOST_TEST(s.at("next_tick").to_number<std::int64_t>() > now_ms() - 1000);
}

BOOST_AUTO_TEST_CASE(pausing_and_resuming_a_schedule_answer_204_and_the_list_follows) {
  create("nightly", "@daily");
  auto paused = post("/api/schedules/nightly/pause");
  BOOST_TEST(paused.status == 204);
  BOOST_TEST(paused.body.empty());
  BOOST_TEST(listed("nightly").at("paused") == true);
  BOOST_TEST(listed("nightly").at("next_tick") == 0);
  BOOST_TEST(post("/api/schedules/nightly/resume").status == 204);
  BOOST_TEST(listed("nightly").at("paused") == false);
  BOOST_TEST(listed("nightly").at("next_tick").to_number<std::int64_t>() > 0);
}

BOOST_AUTO_TEST_CASE(a_schedule_can_be_created_paused) {
  auto s = create("dormant", "@hourly", R"(,"paused":true)");
  BOOST_TEST(s.at("paused") == true);
}

BOOST_AUTO_TEST_CASE(deleting_a_schedule_answers_204_and_a_second_delete_404) {
  create("doomed");
  BOOST_TEST(del("/api/schedules/doomed").status == 204);
  BOOST_TEST(listed("doomed").is_null());
  auto again = del("/api/schedules/doomed");
  BOOST_TEST(again.status == 404);
  BOOST_TEST(error_code(again) == "not_found");
}

BOOST_AUTO_TEST_CASE(pausing_or_resuming_an_unknown_schedule_answers_404) {
  BOOST_TEST(post("/api/schedules/nobody/pause").status == 404);
  BOOST_TEST(post("/api/schedules/nobody/resume").status == 404);
}

BOOST_AUTO_TEST_CASE(posting_a_schedule_again_replaces_it) {
  create("again", "@hourly");
  auto s = create("again", "@daily", R"(,"priority":7)");
  BOOST_TEST(s.at("spec") == "@daily");
  auto r = get("/api/schedules");
  BOOST_TEST(body_of(r).at("schedules").as_array().size() == 1u);
  BOOST_TEST(listed("again").at("priority") == 7);
}

BOOST_AUTO_TEST_CASE(malformed_json_answers_400_malformed_json) {
  auto r = post("/api/schedules", R"({"name":"x","spec":)");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(error_code(r) == "malformed_json");
  BOOST_TEST(post("/api/schedules", "[1,2]").status == 400);
}

BOOST_AUTO_TEST_CASE(a_body_without_a_spec_answers_400_naming_spec) {
  auto r = post("/api/schedules", R"({"name":"x","type":"countdown"})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(mentions(message(r), "'spec'"), message(r));
}

BOOST_AUTO_TEST_CASE(a_cron_minute_out_of_range_answers_400_naming_the_minute_field) {
  auto r = post("/api/schedules", body("bad-minute", "61 * * * *"));
  BOOST_TEST(r.status == 400);
  BOOST_TEST(error_code(r) == "invalid_argument");
  BOOST_TEST(mentions(message(r), "minute"), message(r));
  BOOST_TEST(listed("bad-minute").is_null());
}

BOOST_AUTO_TEST_CASE(an_unknown_time_zone_answers_400_naming_the_zone) {
  auto r = post("/api/schedules", body("mars", "0 * * * *", R"(,"time_zone":"Mars/Base")"));
  BOOST_TEST(r.status == 400);
  BOOST_TEST(mentions(message(r), "Mars/Base"), message(r));
}

BOOST_AUTO_TEST_CASE(an_unknown_job_type_answers_400_unknown_job_type) {
  auto r = post("/api/schedules", R"({"name":"x","spec":"@daily","type":"no_such_type"})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(error_code(r) == "unknown_job_type");
}

BOOST_AUTO_TEST_CASE(params_the_job_type_refuses_answer_400_invalid_params) {
  auto r = post("/api/schedules", R"({"name":"x","spec":"@daily","type":"countdown","params":{}})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(error_code(r) == "invalid_params");
}

BOOST_AUTO_TEST_CASE(an_unknown_policy_name_answers_400_naming_the_field) {
  auto missed = post("/api/schedules", body("p", "@daily", R"(,"on_missed":"sometimes")"));
  BOOST_TEST(missed.status == 400);
  BOOST_TEST(mentions(message(missed), "'on_missed'"), message(missed));
  auto overlap = post("/api/schedules", body("p", "@daily", R"(,"on_overlap":"run_once")"));
  BOOST_TEST(overlap.status == 400);
  BOOST_TEST(mentions(message(overlap), "'on_overlap'"), message(overlap));
}

BOOST_AUTO_TEST_CASE(fields_of_the_wrong_type_or_range_answer_400_naming_the_field) {
  struct bad {
    const char* field;
    const char* extra;
  };
  for (auto [field, extra] : {bad{"grace_ms", R"(,"grace_ms":-1)"},
                              bad{"timeout_ms", R"(,"timeout_ms":-5)"},
                              bad{"max_attempts", R"(,"max_attempts":-1)"},
                              bad{"max_catch_up", R"(,"max_catch_up":0)"},
                              bad{"max_catch_up", R"(,"max_catch_up":10001)"},
                              bad{"priority", R"(,"priority":"high")"},
                              bad{"priority", R"(,"priority":1.5)"},
                              bad{"paused", R"(,"paused":"yes")"},
                              bad{"time_zone", R"(,"time_zone":7)"},
                              bad{"owner", R"(,"owner":["a"])"},
                              bad{"colour", R"(,"colour":"blue")"}}) {
    auto r = post("/api/schedules", body("typed", "@daily", extra));
    BOOST_TEST(r.status == 400, extra);
    BOOST_TEST(mentions(message(r), std::string{"'"} + field + "'"), extra << ": " << message(r));
  }
  for (const char* doc : {R"({"name":7,"spec":"@daily","type":"countdown"})",
                          R"({"name":"x","spec":["@daily"],"type":"countdown"})",
                          R"({"name":"x","spec":"@daily","type":""})"}) {
    auto r = post("/api/schedules", doc);
    BOOST_TEST(r.status == 400, doc);
  }
  BOOST_TEST(listed("typed").is_null());
}

BOOST_AUTO_TEST_CASE(a_bad_schedule_name_answers_400_in_the_body_and_in_the_path) {
  auto in_body = post("/api/schedules", body("no spaces allowed"));
  BOOST_TEST(in_body.status == 400);
  BOOST_TEST(mentions(message(in_body), "'name'"), message(in_body));
  struct bad {
    http::verb method;
    const char* target;
  };
  for (auto [method, target] : {bad{http::verb::delete_, "/api/schedules/a%20b"},
                                bad{http::verb::post, "/api/schedules/a%2Fb/pause"},
                                bad{http::verb::post, "/api/schedules/%C3%A9t%C3%A9/resume"},
                                bad{http::verb::delete_, "/api/schedules/%zz"},
                                bad{http::verb::delete_, "/api/schedules/"}}) {
    auto r = api.request(method, target);
    BOOST_TEST(r.status == 400, target << ": " << r.body);
  }
  BOOST_TEST(del("/api/schedules/" + std::string(201, 'a')).status == 400);
}

BOOST_AUTO_TEST_CASE(unknown_schedule_routes_and_wrong_methods_answer_404_and_405) {
  create("routed");
  BOOST_TEST(post("/api/schedules/routed/frobnicate").status == 404);
  BOOST_TEST(get("/api/schedules/routed/pause/again").status == 404);
  BOOST_TEST(get("/api/schedules/routed/pause").status == 405);
  BOOST_TEST(post("/api/schedules/routed").status == 405);
  BOOST_TEST(del("/api/schedules").status == 405);
}

BOOST_AUTO_TEST_CASE(schedules_need_a_token) {
  BOOST_TEST(server.client().request(http::verb::get, "/api/schedules").status == 401);
  BOOST_TEST(server.client("wrong").request(http::verb::post, "/api/schedules", body("x")).status
             == 401);
}

BOOST_AUTO_TEST_CASE(an_owner_token_sees_and_steers_only_its_owners_schedules) {
  create("admins", "@daily", R"(,"owner":"globex")");
  auto owner = server.client(acme);
  auto mine = owner.request(http::verb::post, "/api/schedules", body("acmes"));
  BOOST_REQUIRE_MESSAGE(mine.status == 201, mine.body);
  BOOST_TEST(body_of(mine).at("owner") == "acme"); // made as its owner
  auto list = body_of(owner.request(http::verb::get, "/api/schedules")).at("schedules").as_array();
  BOOST_REQUIRE_EQUAL(list.size(), 1u);
  BOOST_TEST(list[0].at("name") == "acmes");
  BOOST_TEST(owner.request(http::verb::post, "/api/schedules/admins/pause").status == 403);
  BOOST_TEST(owner.request(http::verb::delete_, "/api/schedules/admins").status == 403);
  BOOST_TEST(owner.request(http::verb::post, "/api/schedules", body("admins")).status == 403);
  BOOST_TEST(owner.request(http::verb::post, "/api/schedules",
                           body("other", "@daily", R"(,"owner":"globex")")).status == 403);
  BOOST_TEST(owner.request(http::verb::delete_, "/api/schedules/nobody").status == 404);
  BOOST_TEST(listed("admins").at("paused") == false);
  BOOST_TEST(owner.request(http::verb::delete_, "/api/schedules/acmes").status == 204);
}

BOOST_AUTO_TEST_CASE(a_schedule_every_second_submits_jobs_within_a_few_seconds) {
  create("ticker", "@every 1s");
  json::array jobs;
  BOOST_TEST(poll_until(
    [&] {
      auto r = get("/api/jobs?type=countdown");
      if (r.status != 200)
        return false;
      jobs = body_of(r).at("jobs").as_array();
      return !jobs.empty();
    },
    std::chrono::seconds{10}));
  BOOST_REQUIRE(!jobs.empty());
  BOOST_TEST(jobs[0].at("params") == json::parse(R"({"n":1})"));
  BOOST_TEST(poll_until([&] { return listed("ticker").at("fired").to_number<std::uint64_t>() >= 1; },
                        std::chrono::seconds{10}));
  BOOST_TEST(listed("ticker").at("last_job").to_number<std::uint64_t>() > 0);
}

BOOST_AUTO_TEST_CASE(metrics_count_schedules_and_their_ticks) {
  create("metered-a");
  create("metered-b", "@daily");
  auto text = get("/metrics").body;
  BOOST_TEST(mentions(text, "\njobrt_schedules 2\n"), text);
  BOOST_TEST(mentions(text, "\njobrt_schedule_ticks_fired_total "), text);
  BOOST_TEST(mentions(text, "\njobrt_schedule_ticks_skipped_total "), text);
  BOOST_TEST(mentions(text, "# TYPE jobrt_schedule_ticks_fired_total counter"), text);
}

BOOST_AUTO_TEST_SUITE_END()
