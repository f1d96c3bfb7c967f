/// GET /api/events: the events of one job arrive complete and in order, even
/// while another client stalls; filters and tokens apply to streams too.

#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "server_process.hpp"

namespace json = boost::json;
namespace http = boost::beast::http;
using namespace test_support;

namespace {

struct received {
  std::string kind;   ///< "status" or "progress"
  std::string status;
  std::uint64_t id = 0;
  double fraction = -1;
};

/// Streams `target` on a thread until a finished status arrives; `opened`
/// becomes ready once the stream's header arrived.
std::future<std::vector<received>> follow(jobrt_client::http_client c, std::string target,
                                          std::promise<void>& opened) {
  return std::async(std::launch::async, [c, target, &opened]() mutable {
    std::vector<received> got;
    c.stream_events(
      target,
      [&](const jobrt_client::sse_event& ev) {
        auto doc = json::parse(ev.data);
        received r{ev.event, std::string{doc.at("status").as_string()},
                   doc.at("id").to_number<std::uint64_t>()};
        const auto& f = doc.at("progress").at("fraction");
        if (f.is_number())
          r.fraction = f.to_number<double>();
        got.push_back(r);
        return !(ev.event == "status"
                 && (r.status == "completed" || r.status == "failed" || r.status == "cancelled"));
      },
      std::chrono::seconds{30}, [&] {
        opened.set_value();
        return true;
      });
    return got;
  });
}

/// A client that asks for the stream and then never reads from its socket.
struct stalled_client {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket{ioc};

  stalled_client(const jobrt_client::url& u, const std::string& token) {
    boost::asio::ip::tcp::resolver resolver{ioc};
    socket.set_option(boost::asio::socket_base::receive_buffer_size(1024), ignored_);
    boost::asio::connect(socket, resolver.resolve(u.host, u.port));
    std::string req = "GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
                      + "\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(req));
  }
  boost::system::error_code ignored_;
};

} // namespace

BOOST_AUTO_TEST_CASE(sse_delivers_one_jobs_events_in_order_from_submit_to_completion) {
  server_process server{{"--token", "t"}};
  auto api = server.client("t");
  stalled_client slow{server.address(), "t"}; // must not hold anyone up

  std::promise<void> opened;
  auto events = follow(server.client("t"), "/api/events?owner=sse-order", opened);
  BOOST_REQUIRE(opened.get_future().wait_for(std::chrono::seconds{10}) == std::future_status::ready);

  auto r = api.request(http::verb::post, "/api/jobs",
                       R"({"type":"countdown","params":{"n":30,"pace_ms":5},"owner":"sse-order"})");
  BOOST_REQUIRE_EQUAL(r.status, 202);
  auto id = body_of(r).at("id").to_number<std::uint64_t>();

  BOOST_REQUIRE(events.wait_for(std::chrono::seconds{30}) == std::future_status::ready);
  auto got = events.get();
  std::vector<std::string> statuses;
  double last_fraction = -1;
  bool progress_while_running = false;
  for (const auto& e : got) {
    BOOST_TEST(e.id == id);
    if (e.kind == "status") {
      statuses.push_back(e.status);
      continue;
    }
    BOOST_TEST(e.kind == "progress");
    BOOST_TEST(e.status == "running");
    BOOST_TEST(e.fraction >= last_fraction); // progress never goes back
    last_fraction = e.fraction;
    progress_while_running = !statuses.empty() && statuses.back() == "running";
  }
  std::vector<std::string> expected{"queued", "running", "completed"};
  BOOST_TEST(statuses == expected, boost::test_tools::per_element());
  BOOST_TEST(progress_while_running);
  BOOST_TEST(last_fraction > 0.5);
}

BOOST_AUTO_TEST_CASE(sse_follows_a_pause_and_resume_of_one_job) {
  server_process server;
  auto api = server.client();
  auto r = api.request(http::verb::post, "/api/jobs",
                       R"({"type":"countdown","params":{"n":100000,"pace_ms":10}})");
  auto id = body_of(r).at("id").to_number<std::uint64_t>();
  BOOST_REQUIRE(wait_for_status(api, id, "running"));
  std::promise<void> opened;
  auto events = follow(server.client(), "/api/events?progress=false&job=" + std::to_string(id), opened);
  BOOST_REQUIRE(opened.get_future().wait_for(std::chrono::seconds{10}) == std::future_status::ready);
  auto path = "/api/jobs/" + std::to_string(id);
  BOOST_REQUIRE_EQUAL(api.request(http::verb::post, path + "/pause").status, 200);
  BOOST_REQUIRE_EQUAL(api.request(http::verb::post, path + "/resume").status, 200);
  BOOST_REQUIRE(wait_for_status(api, id, "running"));
  BOOST_REQUIRE_EQUAL(api.request(http::verb::post, path + "/cancel").status, 200);
  BOOST_REQUIRE(events.wait_for(std::chrono::seconds{30}) == std::future_status::ready);
  std::vector<std::string> statuses;
  for (const auto& e : events.get()) {
    BOOST_TEST(e.kind == "status"); // progress=false
    statuses.push_back(e.status);
  }
  std::vector<std::string> expected{"paused", "queued", "running", "cancelled"};
  BOOST_TEST(statuses == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sse_checks_tokens_and_owners) {
  server_process server{{"--token", "admin", "--owner-token", "a=acme", "--owner-token", "g=globex"}};
  auto admin = server.client("admin");
  auto r = admin.request(http::verb::post, "/api/jobs",
                         R"({"type":"countdown","params":{"n":1},"owner":"acme"})");
  auto id = std::to_string(body_of(r).at("id").to_number<std::uint64_t>());
  auto never = [](const jobrt_client::sse_event&) { return false; };
  auto status_of = [&](jobrt_client::http_client c, const std::string& target) {
    return c.stream_events(target, never, std::chrono::seconds{5}, [] { return false; }).status;
  };
  BOOST_TEST(status_of(server.client(), "/api/events") == 401);
  BOOST_TEST(status_of(server.client("wrong"), "/api/events") == 401);
  BOOST_TEST(status_of(server.client(), "/api/events?access_token=admin") == 200);
  BOOST_TEST(status_of(server.client(), "/api/events?access_token=g&job=" + id) == 403);
  BOOST_TEST(status_of(server.client(), "/api/events?access_token=g&owner=acme") == 403);
  BOOST_TEST(status_of(server.client("a"), "/api/events?job=" + id) == 200);
  BOOST_TEST(status_of(server.client("admin"), "/api/events?job=999999") == 404);
}
