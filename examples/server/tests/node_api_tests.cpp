/// Worker nodes through the HTTP service: the real jobrt-server started with
/// --workers-port 0, and the real jobrt-worker binary joining it.

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <string>

#include <boost/json.hpp>

#include "server_process.hpp"

namespace json = boost::json;
namespace http = boost::beast::http;
using namespace test_support;

namespace {

constexpr const char* secret = "node-secret";

/// A coordinator that runs no job itself (so a job that runs, runs on a node).
/// A silent node is lost after `node_timeout_ms` (the default 3 s leaves room
/// for late heartbeats on a busy machine).
struct node_fixture {
  explicit node_fixture(const std::string& node_timeout_ms = "3000")
    : server{{"--workers-port", "0", "--workers-secret", secret, "--node-timeout-ms", node_timeout_ms,
              "--no-local-jobs"}} {}

  server_process server;
  jobrt_client::http_client api = server.client();

  json::value get(const std::string& target) {
    auto r = api.request(http::verb::get, target);
    BOOST_REQUIRE_MESSAGE(r.status == 200, target << ": " << r.status << " " << r.body);
    return body_of(r);
  }

  json::array nodes() { return get("/api/nodes").at("nodes").as_array(); }

  std::uint64_t counter(const char* name) {
    return get("/api/nodes").at("counters").at(name).to_number<std::uint64_t>();
  }

  /// A jobrt-worker process joining this server.
  child_process worker(const std::string& name, const std::string& slots = "2",
                       const std::string& with_secret = secret) {
    return child_process{JOBRT_WORKER_EXE,
                         {"--coordinator", "127.0.0.1:" + std::to_string(server.workers_port()), "--secret",
                          with_secret, "--slots", slots, "--name", name, "--threads", "2"}};
  }

  /// Waits until a node called `name` is listed, and returns it (null at the deadline).
  json::value wait_for_node(const std::string& name) {
    json::value found;
    poll_until([&] {
      for (const auto& n : nodes())
        if (n.at("name") == name.c_str())
          found = n;
      return !found.is_null();
    });
    return found;
  }

  std::uint64_t submit(const std::string& body) {
    auto r = api.request(http::verb::post, "/api/jobs", body);
    BOOST_REQUIRE_MESSAGE(r.status == 202, r.body);
    return body_of(r).at("id").to_number<std::uint64_t>();
  }
};

/// A node that goes silent is lost after 1 s.
struct fast_loss_fixture : node_fixture {
  fast_loss_fixture() : node_fixture("1000") {}
};

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(node_api, node_fixture)

BOOST_AUTO_TEST_CASE(the_server_prints_where_worker_nodes_join) {
  BOOST_TEST(server.workers_port() > 0);
  auto doc = get("/api/nodes");
  BOOST_TEST(doc.at("accepting") == true);
  BOOST_TEST(doc.at("port") == server.workers_port());
  BOOST_TEST(doc.at("run_locally") == false);
  BOOST_TEST(doc.at("nodes").as_array().empty());
}

BOOST_AUTO_TEST_CASE(a_worker_that_joins_is_listed_with_its_name_and_slots) {
  auto w = worker("alpha", "3");
  auto n = wait_for_node("alpha");
  BOOST_REQUIRE_MESSAGE(!n.is_null(), "the worker never appeared in /api/nodes");
  BOOST_TEST(n.at("slots") == 3);
  BOOST_TEST(n.at("running") == 0);
  BOOST_TEST(n.at("id").to_number<std::uint64_t>() > 0);
  BOOST_TEST(has(std::string{n.at("address").as_string()}, "127.0.0.1"), n);
  BOOST_TEST(n.at("types").as_object().contains("countdown"));
  BOOST_TEST(n.at("joined_at").to_number<std::int64_t>() > 0);
  BOOST_TEST(n.at("last_heartbeat").to_number<std::int64_t>() >= n.at("joined_at").to_number<std::int64_t>());
  BOOST_TEST(counter("nodes_joined") >= 1u);
}

BOOST_AUTO_TEST_CASE(a_job_runs_on_the_worker_and_its_record_names_the_node) {
  auto w = worker("runner");
  BOOST_REQUIRE(!wait_for_node("runner").is_null());
  auto id = submit(R"({"type":"countdown","params":{"n":30,"pace_ms":100}})");
  auto target = "/api/jobs/" + std::to_string(id);
  bool seen = poll_until([&] {
    auto rec = get(target).as_object();
    return rec.at("status") == "running" && rec.contains("node") && rec.at("node") == "runner";
  });
  BOOST_TEST(seen, "the running job never named its node: " << get(target));
  auto n = wait_for_node("runner");
  BOOST_TEST(n.at("dispatched").to_number<std::uint64_t>() >= 1u);
  BOOST_REQUIRE(wait_for_status(api, id, "completed", std::chrono::seconds{30}));
  auto done = get(target).as_object();
  BOOST_TEST(done.at("output") == json::parse(R"({"counted":30})"));
  BOOST_TEST(!done.contains("node")); // a finished job runs nowhere
}

BOOST_AUTO_TEST_CASE(a_worker_with_a_wrong_secret_is_refused_and_never_listed) {
  auto w = worker("intruder", "2", "not-the-secret");
  bool refused = poll_until([&] { return counter("nodes_refused") >= 1; });
  BOOST_TEST(refused, "nodes_refused stayed 0");
  BOOST_TEST(nodes().empty(), get("/api/nodes"));
  BOOST_TEST(counter("nodes_joined") == 0u);
}

BOOST_AUTO_TEST_CASE(the_metrics_have_a_gauge_per_node_with_its_name_escaped) {
  auto w = worker(R"(we"ird\node)", "4");
  BOOST_REQUIRE(!wait_for_node(R"(we"ird\node)").is_null());
  auto r = api.request(http::verb::get, "/metrics");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  const auto& m = r.body;
  BOOST_TEST(has(m, "\njobrt_nodes 1\n"), m);
  BOOST_TEST(has(m, "\njobrt_node_slots{node=\"we\\\"ird\\\\node\"} 4\n"), m);
  BOOST_TEST(has(m, "\njobrt_node_running{node=\"we\\\"ird\\\\node\"} 0\n"), m);
  BOOST_TEST(has(m, "\njobrt_node_last_heartbeat_seconds{node=\"we\\\"ird\\\\node\"} "), m);
  BOOST_TEST(!has(m, "e+"), "a number in exponent notation");
  BOOST_TEST(has(m, "\njobrt_nodes_joined_total 1\n"), m);
  BOOST_TEST(has(m, "\njobrt_nodes_lost_total 0\n"), m);
  BOOST_TEST(has(m, "\njobrt_nodes_refused_total 0\n"), m);
  BOOST_TEST(has(m, "\njobrt_node_runs_taken_back_total 0\n"), m);
  BOOST_TEST(has(m, "\njobrt_node_messages_dropped_total "), m);
  BOOST_TEST(has(m, "\njobrt_node_messages_total{direction=\"in\"} "), m);
  BOOST_TEST(has(m, "\njobrt_node_messages_total{direction=\"out\"} "), m);
  BOOST_TEST(has(m, "\njobrt_node_payload_bytes_total{direction=\"in\"} "), m);
  BOOST_TEST(has(m, "# TYPE jobrt_node_running gauge"), m);
  BOOST_TEST(has(m, "# TYPE jobrt_nodes_lost_total counter"), m);
}

BOOST_FIXTURE_TEST_CASE(a_killed_worker_disappears_from_the_list_within_a_few_seconds, fast_loss_fixture) {
  auto w = worker("doomed");
  BOOST_REQUIRE(!wait_for_node("doomed").is_null());
  w.stop(SIGKILL);
  bool gone = poll_until([&] { return nodes().empty(); }, std::chrono::seconds{5});
  BOOST_TEST(gone, "still listed: " << get("/api/nodes"));
  BOOST_TEST(counter("nodes_lost") >= 1u);
}

BOOST_FIXTURE_TEST_CASE(the_job_of_a_killed_worker_finishes_on_another_one, fast_loss_fixture) {
  auto first = worker("first", "1");
  BOOST_REQUIRE(!wait_for_node("first").is_null());
  auto id = submit(R"({"type":"countdown","params":{"n":40,"pace_ms":100}})");
  auto target = "/api/jobs/" + std::to_string(id);
  BOOST_REQUIRE(poll_until([&] {
    auto rec = get(target).as_object();
    return rec.contains("node") && rec.at("node") == "first";
  }));
  first.stop(SIGKILL);
  auto second = worker("second", "1");
  BOOST_REQUIRE_MESSAGE(wait_for_status(api, id, "completed", std::chrono::seconds{30}),
                        "the job: " << get(target) << "\nthe nodes: " << get("/api/nodes"));
  BOOST_TEST(get(target).at("output") == json::parse(R"({"counted":40})"));
  BOOST_TEST(counter("runs_taken_back") >= 1u);
}

BOOST_AUTO_TEST_CASE(an_owner_token_may_not_read_the_nodes) {
  server_process scoped{{"--token", "admin", "--owner-token", "acme-token=acme", "--workers-port", "0",
                         "--workers-secret", secret}};
  auto as_owner = scoped.client("acme-token").request(http::verb::get, "/api/nodes");
  BOOST_TEST(as_owner.status == 403);
  auto anonymous = scoped.client().request(http::verb::get, "/api/nodes");
  BOOST_TEST(anonymous.status == 401);
  auto as_admin = scoped.client("admin").request(http::verb::get, "/api/nodes");
  BOOST_TEST(as_admin.status == 200);
  auto wrong_method = scoped.client("admin").request(http::verb::post, "/api/nodes");
  BOOST_TEST(wrong_method.status == 405);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(node_options)

BOOST_AUTO_TEST_CASE(a_server_without_a_workers_port_accepts_no_nodes) {
  server_process plain;
  auto doc = body_of(plain.client().request(http::verb::get, "/api/nodes"));
  BOOST_TEST(doc.at("accepting") == false);
  BOOST_TEST(doc.at("port").is_null());
  BOOST_TEST(doc.at("run_locally") == true);
  BOOST_TEST(doc.at("nodes").as_array().empty());
  BOOST_TEST(doc.at("counters").at("nodes_joined") == 0);
}

BOOST_AUTO_TEST_CASE(the_workers_secret_may_come_from_the_environment) {
  ::setenv("JOBRT_WORKERS_SECRET", "from-env", 1);
  server_process server{{"--workers-port", "0"}};
  ::unsetenv("JOBRT_WORKERS_SECRET");
  child_process w{JOBRT_WORKER_EXE,
                  {"--coordinator", "127.0.0.1:" + std::to_string(server.workers_port()), "--secret",
                   "from-env", "--name", "env", "--threads", "2"}};
  auto api = server.client();
  bool listed = poll_until([&] {
    auto doc = body_of(api.request(http::verb::get, "/api/nodes"));
    return doc.is_object() && doc.at("nodes").as_array().size() == 1;
  });
  BOOST_TEST(listed);
}

BOOST_AUTO_TEST_CASE(bad_worker_flags_are_refused_with_a_usage_error) {
  struct refused {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<refused> cases{
    {{"--workers-port", "70000", "--workers-secret", "s"}, "--workers-port must be a number"},
    {{"--workers-port", "-1", "--workers-secret", "s"}, "--workers-port must be a number"},
    {{"--workers-port", "0", "--workers-secret", "s", "--node-timeout-ms", "99"}, "--node-timeout-ms"},
    {{"--workers-port", "0", "--workers-secret", "s", "--node-timeout-ms", "3600001"}, "--node-timeout-ms"},
    {{"--workers-port", "0", "--workers-secret", "s", "--node-timeout-ms", "1e3"}, "--node-timeout-ms"},
    {{"--workers-port", "0", "--workers-secret", ""}, "--workers-secret must not be empty"},
    {{"--workers-port", "0", "--workers-host", ""}, "--workers-host needs an address"},
    {{"--workers-port", "0"}, "--workers-port needs --workers-secret"},
    {{"--workers-port", "0", "--workers-tls-cert", "c.pem"}, "all three or none"},
    {{"--workers-secret", "s"}, "--workers-secret needs --workers-port"},
    {{"--no-local-jobs"}, "--no-local-jobs needs --workers-port"},
    {{"--node-timeout-ms", "1000"}, "--node-timeout-ms needs --workers-port"},
  };
  for (const auto& c : cases) {
    auto args = c.args;
    args.insert(args.end(), {"--port", "0", "--data-dir", "/nonexistent/never-created"});
    auto r = run_process(JOBRT_SERVER_EXE, args);
    BOOST_TEST(r.exit_code == 2, c.args.front() << ": " << r.err);
    BOOST_TEST(has(r.err, c.says), "'" << c.says << "' not in: " << r.err);
    BOOST_TEST(has(r.err, "Usage: jobrt-server"), r.err);
  }
}

BOOST_AUTO_TEST_SUITE_END()
