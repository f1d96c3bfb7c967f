/// Requests that wait for the runtime at the same time: the server routes them
/// on its I/O threads with the runtime's asynchronous calls, so none waits for
/// another's commit, and a client that leaves before its answer only loses it.

#include <boost/test/unit_test.hpp>

#include <future>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "server_process.hpp"

namespace http = boost::beast::http;
namespace net = boost::asio;
using namespace test_support;

namespace {

constexpr const char* countdown = R"({"type":"countdown","params":{"n":1}})";

/// What one submit got: the status and the id (0 without one).
struct submit_answer {
  int status = 0;
  std::uint64_t id = 0;
};

/// Sends `request` on a fresh connection and closes it at once, without
/// reading: the client leaves before its answer.
void send_and_leave(const jobrt_client::url& u, const std::string& request) {
  net::io_context ioc;
  net::ip::tcp::socket socket{ioc};
  net::ip::tcp::resolver resolver{ioc};
  net::connect(socket, resolver.resolve(u.host, u.port));
  net::write(socket, net::buffer(request));
  boost::system::error_code ignored;
  socket.close(ignored);
}

std::string post_request(const std::string& target, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

} // namespace

BOOST_AUTO_TEST_SUITE(concurrency)

BOOST_AUTO_TEST_CASE(sixty_four_submits_at_once_all_answer_202_with_distinct_ids_of_jobs_that_exist) {
  server_process server;
  constexpr int clients = 64;
  std::promise<void> go;
  auto start = go.get_future().share();
  std::vector<std::future<submit_answer>> answers;
  for (int i = 0; i < clients; ++i)
    answers.push_back(std::async(std::launch::async, [&server, start] {
      auto c = server.client();
      start.wait();
      auto r = c.request(http::verb::post, "/api/jobs", countdown);
      submit_answer a{r.status, 0};
      if (auto doc = body_of(r); doc.is_object() && doc.as_object().contains("id"))
        a.id = doc.at("id").to_number<std::uint64_t>();
      return a;
    }));
  go.set_value();
  std::set<std::uint64_t> ids;
  for (auto& f : answers) {
    auto a = f.get();
    BOOST_TEST(a.status == 202);
    BOOST_TEST(a.id != 0u);
    ids.insert(a.id);
  }
  BOOST_TEST(ids.size() == static_cast<std::size_t>(clients));
  auto c = server.client();
  for (auto id : ids)
    BOOST_TEST(c.request(http::verb::get, "/api/jobs/" + std::to_string(id)).status == 200, id);
}

BOOST_AUTO_TEST_CASE(a_submit_whose_client_left_before_the_answer_still_creates_the_job) {
  server_process server;
  for (int i = 0; i < 16; ++i)
    send_and_leave(server.address(), post_request("/api/jobs", countdown));
  auto c = server.client();
  BOOST_TEST(poll_until([&] {
    auto page = body_of(c.request(http::verb::get, "/api/jobs?limit=100"));
    return page.is_object() && page.at("jobs").as_array().size() == 16;
  }));
  BOOST_TEST(c.request(http::verb::get, "/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(a_long_poll_whose_client_left_ends_without_disturbing_other_requests) {
  server_process server;
  auto c = server.client();
  auto r = c.request(http::verb::post, "/api/jobs", R"({"type":"approval","params":{}})");
  BOOST_REQUIRE_EQUAL(r.status, 202);
  auto id = std::to_string(body_of(r).at("id").to_number<std::uint64_t>());
  for (int i = 0; i < 8; ++i)
    send_and_leave(server.address(),
                   "GET /api/jobs/" + id + "?wait=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 8; ++i)
    BOOST_TEST(c.request(http::verb::get, "/api/jobs/" + id).status == 200);
  // After the polls' second, their answers meet closed sockets; the server goes on.
  std::this_thread::sleep_for(std::chrono::milliseconds{1500});
  BOOST_TEST(c.request(http::verb::post, "/api/jobs/" + id + "/cancel").status == 200);
  BOOST_TEST(c.request(http::verb::get, "/healthz").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
