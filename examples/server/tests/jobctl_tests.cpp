/// jobctl against a real server: exit codes and messages.

#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "server_process.hpp"

namespace json = boost::json;
using namespace test_support;

BOOST_AUTO_TEST_CASE(jobctl_exits_3_with_a_clear_message_when_the_server_is_down) {
  auto url = "http://127.0.0.1:" + std::to_string(unused_port());
  auto r = run_process(JOBCTL_EXE, {"--url", url, "list"});
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.err.find("cannot reach the jobrt server") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(jobctl_exits_4_on_a_wrong_or_missing_token) {
  server_process server{{"--token", "right"}};
  auto wrong = run_process(JOBCTL_EXE, {"--url", server.base_url(), "--token", "wrong", "list"});
  BOOST_TEST(wrong.exit_code == 4);
  BOOST_TEST(wrong.err.find("not authorized") != std::string::npos, wrong.err);
  auto missing = run_process(JOBCTL_EXE, {"--url", server.base_url(), "list"});
  BOOST_TEST(missing.exit_code == 4);
}

BOOST_AUTO_TEST_CASE(jobctl_submits_watches_and_shows_a_job) {
  server_process server{{"--token", "right"}};
  std::vector<std::string> base{"--url", server.base_url(), "--token", "right", "--json"};
  auto with = [&](std::vector<std::string> more) {
    auto args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  auto sub = run_process(JOBCTL_EXE, with({"submit", "countdown", R"({"n":20,"pace_ms":5})",
                                           "--priority", "3", "--owner", "cli"}));
  BOOST_REQUIRE_EQUAL(sub.exit_code, 0);
  auto id = std::to_string(json::parse(sub.out).at("id").to_number<std::uint64_t>());
  auto watch = run_process(JOBCTL_EXE, with({"watch", id}));
  BOOST_TEST(watch.exit_code == 0, watch.err);
  auto show = run_process(JOBCTL_EXE, with({"show", id}));
  BOOST_REQUIRE_EQUAL(show.exit_code, 0);
  auto rec = json::parse(show.out);
  BOOST_TEST(rec.at("status") == "completed");
  BOOST_TEST(rec.at("priority") == 3);
  BOOST_TEST(rec.at("owner") == "cli");
  auto list = run_process(JOBCTL_EXE, with({"list", "--owner", "cli", "--status", "completed"}));
  BOOST_TEST(list.exit_code == 0);
  BOOST_TEST(json::parse(list.out).at("jobs").as_array().size() == 1u);
  auto pause = run_process(JOBCTL_EXE, with({"pause", id}));
  BOOST_TEST(pause.exit_code == 1); // completed jobs cannot be paused (409)
  BOOST_TEST(pause.err.find("illegal_transition") != std::string::npos, pause.err);
  auto usage = run_process(JOBCTL_EXE, {"frobnicate"});
  BOOST_TEST(usage.exit_code == 2);
  auto bad_json = run_process(JOBCTL_EXE, with({"submit", "countdown", "{nope"}));
  BOOST_TEST(bad_json.exit_code == 2);
}
