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

BOOST_AUTO_TEST_CASE(jobctl_signals_a_job_and_waits_for_it) {
  server_process server{{"--token", "right"}};
  std::vector<std::string> base{"--url", server.base_url(), "--token", "right"};
  auto with = [&](std::vector<std::string> more) {
    auto args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  auto api = server.client("right");
  auto sub = api.request(boost::beast::http::verb::post, "/api/jobs",
                         R"({"type":"approval","params":{}})");
  BOOST_REQUIRE_EQUAL(sub.status, 202);
  auto id = std::to_string(body_of(sub).at("id").to_number<std::uint64_t>());
  BOOST_REQUIRE(wait_for_status(api, std::stoull(id), "waiting"));
  // The job waits for its signal: a wait with a timeout ends with 7.
  auto early = run_process(JOBCTL_EXE, with({"wait", id, "--timeout", "1"}));
  BOOST_TEST(early.exit_code == 7, early.err);
  BOOST_TEST(early.err.find("did not finish") != std::string::npos, early.err);
  BOOST_TEST(run_process(JOBCTL_EXE, with({"signal", id, "approve", "{nope"})).exit_code == 2);
  BOOST_TEST(run_process(JOBCTL_EXE, with({"wait", id, "--timeout", "-1"})).exit_code == 2);
  BOOST_TEST(run_process(JOBCTL_EXE, with({"signal", "999999", "approve"})).exit_code == 1);
  auto sig = run_process(JOBCTL_EXE, with({"--json", "signal", id, "approve", R"({"by":"cli"})"}));
  BOOST_REQUIRE_EQUAL(sig.exit_code, 0);
  BOOST_TEST(json::parse(sig.out).at("signal") == "approve");
  auto done = run_process(JOBCTL_EXE, with({"--json", "wait", id}));
  BOOST_REQUIRE_EQUAL(done.exit_code, 0);
  auto rec = json::parse(done.out);
  BOOST_TEST(rec.at("status") == "completed");
  BOOST_TEST(rec.at("output").at("approved_by") == "cli");
  auto text = run_process(JOBCTL_EXE, with({"wait", id, "--timeout", "0"}));
  BOOST_TEST(text.exit_code == 0);
  BOOST_TEST(text.out.find("completed") != std::string::npos, text.out);
  // A finished job takes no signal (409: exit 1).
  auto late = run_process(JOBCTL_EXE, with({"signal", id, "approve"}));
  BOOST_TEST(late.exit_code == 1);
  BOOST_TEST(late.err.find("illegal_transition") != std::string::npos, late.err);
}

BOOST_AUTO_TEST_CASE(jobctl_wait_exits_5_for_a_failed_and_6_for_a_cancelled_job) {
  server_process server;
  std::vector<std::string> base{"--url", server.base_url()};
  auto api = server.client();
  auto submit = [&](const std::string& body) {
    auto r = api.request(boost::beast::http::verb::post, "/api/jobs", body);
    BOOST_REQUIRE_EQUAL(r.status, 202);
    return std::to_string(body_of(r).at("id").to_number<std::uint64_t>());
  };
  auto failing = submit(R"({"type":"countdown","params":{"n":-1}})");
  auto failed = run_process(JOBCTL_EXE, {"--url", server.base_url(), "wait", failing});
  BOOST_TEST(failed.exit_code == 5, failed.out << failed.err);
  BOOST_TEST(failed.out.find("failed") != std::string::npos, failed.out);
  auto waiting = submit(R"({"type":"approval","params":{}})");
  BOOST_REQUIRE(wait_for_status(api, std::stoull(waiting), "waiting"));
  BOOST_TEST(run_process(JOBCTL_EXE, {"--url", server.base_url(), "cancel", waiting}).exit_code == 0);
  auto cancelled = run_process(JOBCTL_EXE, {"--url", server.base_url(), "wait", waiting, "--timeout", "30"});
  BOOST_TEST(cancelled.exit_code == 6, cancelled.out << cancelled.err);
  BOOST_TEST(run_process(JOBCTL_EXE, {"--url", server.base_url(), "wait", "999999"}).exit_code == 1);
}

BOOST_AUTO_TEST_CASE(jobctl_adds_lists_pauses_resumes_and_removes_a_schedule) {
  server_process server;
  auto run = [&](std::vector<std::string> more) {
    std::vector<std::string> args{"--url", server.base_url()};
    args.insert(args.end(), more.begin(), more.end());
    return run_process(JOBCTL_EXE, args);
  };
  auto add = run({"schedule", "add", "berlin-hourly", "0 * * * *", "countdown", "--params",
                  R"({"n":2})", "--tz", "Europe/Berlin", "--on-missed", "skip", "--on-overlap",
                  "queue"});
  BOOST_REQUIRE_MESSAGE(add.exit_code == 0, add.err);
  BOOST_TEST(add.out.find("next run") != std::string::npos, add.out);
  BOOST_TEST(add.out.find(" UTC") != std::string::npos, add.out);
  auto paused = run({"--json", "schedule", "add", "later", "@every 1h", "countdown", "--params",
                     R"({"n":1})", "--paused"});
  BOOST_REQUIRE_MESSAGE(paused.exit_code == 0, paused.err);
  auto doc = json::parse(paused.out);
  BOOST_TEST(doc.at("paused") == true);
  BOOST_TEST(doc.at("spec") == "@every 1h");

  auto list = run({"schedule", "list"});
  BOOST_REQUIRE_EQUAL(list.exit_code, 0);
  for (const char* text : {"NAME", "NEXT RUN", "berlin-hourly", "0 * * * *", "Europe/Berlin",
                           "countdown", "later"})
    BOOST_TEST(list.out.find(text) != std::string::npos, text << " in:\n" << list.out);
  auto json_list = json::parse(run({"--json", "schedule", "list"}).out);
  BOOST_TEST(json_list.at("schedules").as_array().size() == 2u);

  BOOST_TEST(run({"schedule", "pause", "berlin-hourly"}).exit_code == 0);
  BOOST_TEST(run({"schedule", "resume", "later"}).exit_code == 0);
  json_list = json::parse(run({"--json", "schedule", "list"}).out);
  for (const auto& s : json_list.at("schedules").as_array())
    BOOST_TEST(s.at("paused") == (s.at("name") == "berlin-hourly"));
  auto rm = run({"schedule", "rm", "later"});
  BOOST_TEST(rm.exit_code == 0);
  BOOST_TEST(rm.out.find("deleted") != std::string::npos, rm.out);

  auto again = run({"schedule", "rm", "later"});
  BOOST_TEST(again.exit_code == 1); // 404
  BOOST_TEST(again.err.find("not_found") != std::string::npos, again.err);
  auto bad_spec = run({"schedule", "add", "x", "61 * * * *", "countdown", "--params", R"({"n":1})"});
  BOOST_TEST(bad_spec.exit_code == 1);
  BOOST_TEST(bad_spec.err.find("minute") != std::string::npos, bad_spec.err);
  BOOST_TEST(run({"schedule", "add", "x", "@daily"}).exit_code == 2);
  BOOST_TEST(run({"schedule", "add", "x", "@daily", "countdown", "--params", "{nope"}).exit_code == 2);
  BOOST_TEST(run({"schedule", "frobnicate"}).exit_code == 2);
  BOOST_TEST(run({"schedule"}).exit_code == 2);
}

BOOST_AUTO_TEST_CASE(jobctl_submits_a_job_after_another_and_shows_what_it_waits_for) {
  server_process server;
  std::vector<std::string> base{"--url", server.base_url()};
  auto with = [&](std::vector<std::string> more) {
    auto args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  // The approval job waits for its signal, so the job after it waits too.
  auto first = run_process(JOBCTL_EXE, with({"--json", "submit", "approval", "{}"}));
  BOOST_REQUIRE_EQUAL(first.exit_code, 0);
  auto a = std::to_string(json::parse(first.out).at("id").to_number<std::uint64_t>());
  auto second = run_process(JOBCTL_EXE, with({"--json", "submit", "countdown", R"({"n":1})", "--after", a,
                                              "--on-dependency-failure", "cancel"}));
  BOOST_REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  auto b = std::to_string(json::parse(second.out).at("id").to_number<std::uint64_t>());
  auto show = run_process(JOBCTL_EXE, with({"show", b}));
  BOOST_REQUIRE_EQUAL(show.exit_code, 0);
  BOOST_TEST(show.out.find("after:       " + a + " (if one failed or was cancelled: cancel)")
               != std::string::npos, show.out);
  BOOST_TEST(show.out.find("waiting") != std::string::npos, show.out);
  BOOST_TEST(show.out.find("parent:") == std::string::npos, show.out); // shown only when there is one
  BOOST_TEST(show.out.find("wakes:") == std::string::npos, show.out);  // no timer while it waits for a job
  // Bad lists and policies are usage errors; an unknown id is the API's 404.
  BOOST_TEST(run_process(JOBCTL_EXE, with({"submit", "countdown", "{}", "--after", "1,x"})).exit_code == 2);
  BOOST_TEST(run_process(JOBCTL_EXE, with({"submit", "countdown", "{}", "--after", "0"})).exit_code == 2);
  BOOST_TEST(run_process(JOBCTL_EXE, with({"submit", "countdown", "{}", "--after", a + ","})).exit_code == 2);
  BOOST_TEST(run_process(JOBCTL_EXE, with({"submit", "countdown", "{}", "--after", a,
                                           "--on-dependency-failure", "ignore"})).exit_code == 2);
  auto unknown = run_process(JOBCTL_EXE, with({"submit", "countdown", R"({"n":1})", "--after", "999999"}));
  BOOST_TEST(unknown.exit_code == 1);
  BOOST_TEST(unknown.err.find("not_found") != std::string::npos, unknown.err);
  // Rejecting the first job cancels the second (its policy).
  auto reject = run_process(JOBCTL_EXE, with({"signal", a, "reject"}));
  BOOST_TEST(reject.exit_code == 0, reject.err);
  auto wait = run_process(JOBCTL_EXE, with({"wait", b, "--timeout", "20"}));
  BOOST_TEST(wait.exit_code == 6, wait.out + wait.err); // cancelled
}

BOOST_AUTO_TEST_CASE(jobctl_nodes_lists_a_worker_node_as_a_table_and_as_json) {
  server_process server{{"--workers-port", "0", "--workers-secret", "cli-secret"}};
  child_process worker{JOBRT_WORKER_EXE,
                       {"--coordinator", "127.0.0.1:" + std::to_string(server.workers_port()), "--secret",
                        "cli-secret", "--slots", "3", "--name", "cli-node", "--threads", "2"}};
  auto api = server.client();
  BOOST_REQUIRE(poll_until([&] {
    auto doc = body_of(api.request(boost::beast::http::verb::get, "/api/nodes"));
    return doc.is_object() && doc.at("nodes").as_array().size() == 1;
  }));
  auto table = run_process(JOBCTL_EXE, {"--url", server.base_url(), "nodes"});
  BOOST_REQUIRE_MESSAGE(table.exit_code == 0, table.err);
  for (const char* text : {"NAME", "ADDRESS", "RUNNING", "cli-node", "0/3", "s ago", "countdown", "1 joined"})
    BOOST_TEST(table.out.find(text) != std::string::npos, text << " not in:\n" << table.out);
  auto as_json = run_process(JOBCTL_EXE, {"--url", server.base_url(), "--json", "nodes"});
  BOOST_REQUIRE_EQUAL(as_json.exit_code, 0);
  auto doc = json::parse(as_json.out);
  BOOST_TEST(doc.at("nodes").at(0).at("name") == "cli-node");
  BOOST_TEST(doc.at("port") == server.workers_port());
}

BOOST_AUTO_TEST_CASE(jobctl_nodes_says_when_the_server_takes_no_worker_nodes) {
  server_process server;
  auto r = run_process(JOBCTL_EXE, {"--url", server.base_url(), "nodes"});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out.find("takes no worker nodes") != std::string::npos, r.out);
  BOOST_TEST(run_process(JOBCTL_EXE, {"--url", server.base_url(), "nodes", "extra"}).exit_code == 2);
}
