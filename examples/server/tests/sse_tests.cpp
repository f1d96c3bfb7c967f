/// GET /api/events: the events of one job arrive complete and in order, even
/// while another client stalls; filters and tokens apply to streams too; a
/// thousand streams cost the server sockets and memory, not threads.

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

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

/// Raises this process's soft limit on open files to at least `wanted` (at most
/// the hard limit); returns the soft limit. A server started afterwards inherits it.
rlim_t raise_open_files(rlim_t wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return 0;
  if (lim.rlim_cur < wanted) {
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, lim.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

/// The pid of this process's jobrt-server child (the test starts only one), or -1.
pid_t server_child() {
  auto me = ::getpid();
  for (const auto& entry : std::filesystem::directory_iterator{"/proc"}) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream in{entry.path() / "stat"};
    std::string stat;
    std::getline(in, stat);
    // "PID (COMM) STATE PPID ...": COMM may hold spaces, so split at the last ')'.
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos)
      continue;
    auto comm = stat.substr(open + 1, close - open - 1);
    char state = 0;
    long ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %ld", &state, &ppid) != 2)
      continue;
    if (ppid == me && comm == "jobrt-server" && state != 'Z')
      return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}

/// Threads of process `pid` (its entries in /proc/PID/task).
std::size_t thread_count(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator i{"/proc/" + std::to_string(pid) + "/task", ec}, end;
       !ec && i != end; i.increment(ec))
    ++n;
  return n;
}

/// An event stream on a plain non-blocking socket: the request is sent at
/// once, and everything that arrives is kept.
struct raw_stream {
  int fd = -1;
  std::string got;
  bool ended = false; ///< the server closed the connection

  raw_stream(const jobrt_client::url& u, const std::string& target) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      throw std::runtime_error{std::string{"socket: "} + std::strerror(errno)};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(u.port)));
    ::inet_pton(AF_INET, u.host.c_str(), &addr.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error{std::string{"connect: "} + std::strerror(errno)};
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      throw std::runtime_error{"cannot send the request"};
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  raw_stream(raw_stream&& o) noexcept : fd(o.fd), got(std::move(o.got)), ended(o.ended) { o.fd = -1; }
  raw_stream(const raw_stream&) = delete;
  ~raw_stream() {
    if (fd >= 0)
      ::close(fd);
  }

  /// Reads what is there without waiting.
  void drain() {
    char buf[16384];
    for (;;) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        ended = true;
      return;
    }
  }

  bool header_seen() const { return got.find(": jobrt event stream\n\n") != std::string::npos; }

  /// The events received so far, parsed.
  std::vector<received> events() const {
    std::vector<received> out;
    auto body = got.find("\r\n\r\n");
    if (body == std::string::npos)
      return out;
    std::string_view rest{got};
    rest.remove_prefix(body + 4);
    for (auto end = rest.find("\n\n"); end != std::string_view::npos; end = rest.find("\n\n")) {
      auto frame = rest.substr(0, end);
      rest.remove_prefix(end + 2);
      constexpr std::string_view ev = "event: ", data = "\ndata: ";
      auto d = frame.find(data);
      if (frame.substr(0, ev.size()) != ev || d == std::string_view::npos)
        continue; // a comment (heartbeat) or the retry line
      auto doc = json::parse(frame.substr(d + data.size()));
      out.push_back({std::string{frame.substr(ev.size(), d - ev.size())},
                     std::string{doc.at("status").as_string()},
                     doc.at("id").to_number<std::uint64_t>()});
    }
    return out;
  }
};

/// Reads every stream until `done(stream)` holds for all or `timeout` passes.
bool read_until(std::vector<raw_stream>& streams, const std::function<bool(const raw_stream&)>& done,
                std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    std::vector<std::size_t> waiting;
    for (std::size_t i = 0; i < streams.size(); ++i) {
      if (done(streams[i]))
        continue;
      if (streams[i].ended)
        return false; // closed before it got what it waits for
      waiting.push_back(i);
      fds.push_back({streams[i].fd, POLLIN, 0});
    }
    if (waiting.empty())
      return true;
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    if (::poll(fds.data(), fds.size(), 100) <= 0)
      continue;
    for (std::size_t k = 0; k < fds.size(); ++k)
      if (fds[k].revents != 0)
        streams[waiting[k]].drain();
  }
}

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

BOOST_AUTO_TEST_CASE(sse_a_thousand_streams_cost_no_thread_each) {
  constexpr std::size_t streams_wanted = 1000;
  // This process holds one socket per stream as well; the server raises its own limit.
  auto limit = raise_open_files(4 * streams_wanted);
  BOOST_REQUIRE_MESSAGE(limit >= streams_wanted + 100,
                        "the open file limit (" << limit << ") is too low for " << streams_wanted
                                                << " streams");
  server_process server;
  auto api = server.client();
  auto pid = server_child();
  BOOST_REQUIRE(pid > 0);
  auto threads_before = thread_count(pid);
  BOOST_TEST_MESSAGE("server threads with no stream: " << threads_before);

  // A job of another owner that waits (scheduled in 2100) until it is cancelled.
  auto a = api.request(http::verb::post, "/api/jobs",
                       R"({"type":"countdown","params":{"n":1},"owner":"other","run_at":4102444800000})");
  BOOST_REQUIRE_EQUAL(a.status, 202);
  auto a_id = body_of(a).at("id").to_number<std::uint64_t>();

  // Four kinds of filter, so that each of the hub's indexes serves streams.
  const std::vector<std::string> targets{"/api/events", "/api/events?owner=many",
                                         "/api/events?owner=many&progress=false",
                                         "/api/events?progress=false&job=" + std::to_string(a_id)};
  std::vector<raw_stream> streams;
  streams.reserve(streams_wanted);
  for (std::size_t i = 0; i < streams_wanted; ++i)
    streams.emplace_back(server.address(), targets[i % targets.size()]);
  BOOST_REQUIRE(read_until(streams, [](const raw_stream& s) { return s.header_seen(); },
                           std::chrono::seconds{60}));
  for (const auto& s : streams)
    BOOST_REQUIRE(s.got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);

  auto threads_open = thread_count(pid);
  BOOST_TEST_MESSAGE("server threads with " << streams_wanted << " streams: " << threads_open);
  BOOST_TEST(threads_open < 64u);
  auto metrics = api.request(http::verb::get, "/metrics");
  BOOST_TEST(metrics.body.find("jobrt_sse_clients " + std::to_string(streams_wanted) + "\n")
             != std::string::npos);

  auto b = api.request(http::verb::post, "/api/jobs",
                       R"({"type":"countdown","params":{"n":3,"pace_ms":1},"owner":"many"})");
  BOOST_REQUIRE_EQUAL(b.status, 202);
  auto b_id = body_of(b).at("id").to_number<std::uint64_t>();
  BOOST_REQUIRE(wait_for_status(api, b_id, "completed"));
  BOOST_REQUIRE_EQUAL(api.request(http::verb::post, "/api/jobs/" + std::to_string(a_id) + "/cancel").status,
                      200);

  auto finished = [](const std::vector<received>& evs, std::uint64_t id, const char* status) {
    for (const auto& e : evs)
      if (e.kind == "status" && e.id == id && e.status == status)
        return true;
    return false;
  };
  // Every stream waits for the last event it is owed: the whole-stream and
  // owner streams B's completion, the job streams A's cancellation, and the
  // whole-stream ones A's cancellation too.
  auto owed = [&](std::size_t kind, const std::vector<received>& evs) {
    if (kind == 3)
      return finished(evs, a_id, "cancelled");
    if (kind == 0)
      return finished(evs, b_id, "completed") && finished(evs, a_id, "cancelled");
    return finished(evs, b_id, "completed");
  };
  auto index_of = [&](const raw_stream& s) { return static_cast<std::size_t>(&s - streams.data()); };
  BOOST_REQUIRE(read_until(
    streams, [&](const raw_stream& s) { return owed(index_of(s) % targets.size(), s.events()); },
    std::chrono::seconds{60}));

  for (std::size_t i = 0; i < streams.size(); ++i) {
    auto kind = i % targets.size();
    std::vector<std::string> b_statuses;
    for (const auto& e : streams[i].events()) {
      if (kind == 3)
        BOOST_TEST(e.id == a_id); // job filter
      if (kind == 1 || kind == 2)
        BOOST_TEST(e.id == b_id); // owner filter
      if (kind == 2 || kind == 3)
        BOOST_TEST(e.kind == "status"); // progress=false
      if (e.id == b_id && e.kind == "status")
        b_statuses.push_back(e.status);
    }
    if (kind != 3) {
      std::vector<std::string> expected{"queued", "running", "completed"};
      BOOST_TEST(b_statuses == expected, boost::test_tools::per_element());
    }
  }
  auto threads_after = thread_count(pid);
  BOOST_TEST_MESSAGE("server threads after the events: " << threads_after);
  BOOST_TEST(threads_after < 64u);

  // SIGTERM ends every stream and the process (stop() answers -1 if it had to kill).
  BOOST_TEST(server.stop() == 0);
  BOOST_TEST(read_until(streams, [](const raw_stream& s) { return s.ended; }, std::chrono::seconds{30}));
}
