// jobrt-bench scenario 9 (http): submits through jobrt-server over loopback, next to
// submits in the bench's own process at the same concurrency.
//
// The server is started once per run (fresh data directory, --port 0) and stopped
// with SIGTERM after it. The client is Boost.Beast on one io_context run by the
// bench thread: C keep-alive connections, each sending POST /api/jobs back to back.

#include "scenarios.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "bench.hpp"
#include "child_process.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"

extern char** environ;

namespace bench {

namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

/// The server's cheapest job type: `countdown` with n = 0 completes in its first
/// step (one progress event, no checkpoint). The server has no no-op type.
constexpr const char* http_body = R"({"type":"countdown","params":{"n":0}})";
constexpr auto io_timeout = std::chrono::seconds{30};

/// --server, or the jobrt-server of the same build tree; empty if there is none.
std::string find_server(const config& c, std::string& tried) {
  std::error_code ec;
  fs::path p = c.server;
  if (p.empty()) {
    auto self = fs::read_symlink("/proc/self/exe", ec);
    if (ec)
      return {};
    p = self.parent_path() / ".." / "examples" / "server" / "jobrt-server";
  }
  tried = p.lexically_normal().string();
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0 ? tried : std::string{};
}

/// A jobrt-server child process; stopped (SIGTERM, then SIGKILL after 10 s) when destroyed.
class server_process {
public:
  server_process(const std::string& exe, const std::string& dir, bool durable, std::size_t cap)
      : proc_{exe, server_args(dir, durable, cap), dir, "server"} {
    port_ = wait_for_port();
  }

  unsigned short port() const { return port_; }
  void stop() { proc_.stop(); }

private:
  static std::vector<std::string> server_args(const std::string& dir, bool durable,
                                              std::size_t cap) {
    std::vector<std::string> args{"--data-dir", dir + "/data", "--host",        "127.0.0.1",
                                  "--port",     "0",           "--max-running", std::to_string(cap)};
    if (!durable)
      args.emplace_back("--no-fsync");
    return args;
  }

  /// Reads the port from the server's "listening on http://HOST:PORT" line.
  unsigned short wait_for_port() {
    const std::string marker = "listening on http://";
    auto deadline = now_ns() + 20'000'000'000LL;
    for (;;) {
      auto text = proc_.out();
      if (auto at = text.find(marker); at != std::string::npos) {
        auto eol = text.find('\n', at);
        if (eol != std::string::npos) {
          auto addr = text.substr(at + marker.size(), eol - at - marker.size());
          auto colon = addr.rfind(':');
          auto port =
            colon == std::string::npos ? 0UL : std::strtoul(addr.c_str() + colon + 1, nullptr, 10);
          if (port == 0 || port > 65535)
            throw std::runtime_error("jobrt-server: cannot read the port from '" + addr + "'");
          return static_cast<unsigned short>(port);
        }
      }
      proc_.check_alive("jobrt-server at start");
      if (now_ns() > deadline)
        throw std::runtime_error("jobrt-server did not say where it listens within 20 s");
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
  }

  child_process proc_;
  unsigned short port_ = 0;
};

/// `n` events in `ns` nanoseconds, as a rate (a clock that did not move counts as 1 ns).
double per_second(std::size_t n, std::int64_t ns) {
  return static_cast<double>(n) / (static_cast<double>(std::max<std::int64_t>(ns, 1)) / 1e9);
}

struct load_result {
  double rate = 0;        ///< answers per second, first request to last answer
  std::vector<double> us; ///< each request, sent to answered
  double client_cpu_us = 0; ///< HTTP: CPU time of the client thread per request
};

/// CPU time (user + system) of the calling thread, in microseconds.
double thread_cpu_us() {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);
  auto us = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
  };
  return us(u.ru_utime) + us(u.ru_stime);
}

// -- the HTTP client ----------------------------------------------------------------------

/// What the connections of one run share (all on the one io_context thread).
struct http_run {
  std::size_t n = 0, issued = 0, answered = 0, connected = 0, conns = 0;
  std::int64_t t0 = 0, t1 = 0;
  std::vector<double> us;
  std::string error;
  std::function<void()> start;
};

class client_conn : public std::enable_shared_from_this<client_conn> {
public:
  client_conn(asio::io_context& ioc, http_run& run, unsigned short port)
      : stream_(ioc), run_(run) {
    req_.method(http::verb::post);
    req_.target("/api/jobs");
    req_.version(11);
    req_.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    req_.set(http::field::content_type, "application/json");
    req_.body() = http_body;
    req_.prepare_payload();
  }

  void connect(const tcp::endpoint& ep) {
    stream_.expires_after(io_timeout);
    stream_.async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->fail("connect: " + ec.message());
      self->stream_.socket().set_option(tcp::no_delay(true), ec);
      if (++self->run_.connected == self->run_.conns)
        self->run_.start();
    });
  }

  /// Sends the next request, or closes once all are sent (or one failed).
  void next() {
    if (!run_.error.empty() || run_.issued >= run_.n)
      return close();
    ++run_.issued;
    sent_ns_ = now_ns();
    stream_.expires_after(io_timeout);
    auto self = shared_from_this();
    http::async_write(stream_, req_, [self](beast::error_code ec, std::size_t) {
      if (ec)
        return self->fail("write: " + ec.message());
      self->res_ = {};
      http::async_read(self->stream_, self->buf_, self->res_,
                       [self](beast::error_code ec2, std::size_t) { self->on_answer(ec2); });
    });
  }

private:
  void on_answer(beast::error_code ec) {
    if (ec)
      return fail("read: " + ec.message());
    auto t = now_ns();
    run_.us.push_back(static_cast<double>(t - sent_ns_) / 1e3);
    if (res_.result() != http::status::accepted)
      return fail("POST /api/jobs answered " + std::to_string(res_.result_int()) + ": "
                  + res_.body().substr(0, 300));
    if (!res_.keep_alive())
      return fail("the server closed a keep-alive connection");
    if (++run_.answered == run_.n)
      run_.t1 = t;
    next();
  }
  void fail(const std::string& what) {
    if (run_.error.empty())
      run_.error = what;
    close();
  }
  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  http_run& run_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  std::int64_t sent_ns_ = 0;
};

/// `n` POST /api/jobs over `conns` keep-alive connections, one request in flight each.
load_result http_load(unsigned short port, std::size_t conns, std::size_t n) {
  asio::io_context ioc{1};
  http_run run;
  run.n = n;
  run.conns = conns;
  run.us.reserve(n);
  std::vector<std::shared_ptr<client_conn>> cs;
  for (std::size_t i = 0; i < conns; ++i)
    cs.push_back(std::make_shared<client_conn>(ioc, run, port));
  // The clock starts once every connection is open.
  run.start = [&] {
    run.t0 = now_ns();
    for (auto& conn : cs)
      conn->next();
  };
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port};
  auto cpu0 = thread_cpu_us();
  for (auto& conn : cs)
    conn->connect(ep);
  ioc.run();
  // The client shares the machine's cores with the server: say what it took.
  auto cpu = thread_cpu_us() - cpu0;
  if (!run.error.empty())
    throw std::runtime_error("http: " + run.error);
  if (run.answered < n)
    throw std::runtime_error("http: only " + std::to_string(run.answered) + " answers");
  load_result out;
  out.rate = per_second(n, run.t1 - run.t0);
  out.client_cpu_us = cpu / static_cast<double>(std::max<std::size_t>(n, 1));
  out.us = std::move(run.us);
  return out;
}

// -- the same submits in process -------------------------------------------------------------

/// `n` submits with `conc` in flight, in process (see `run_async_submits`).
load_result inproc_load(const config& c, store_mode mode, std::size_t conc, std::size_t n) {
  auto r = run_async_submits(c, mode, conc, n);
  load_result out;
  out.rate = r.rate;
  out.us = std::move(r.us);
  return out;
}

std::string lat_text(const latency& l) {
  return "mean " + fmt_value(l.mean_us, "us") + ", p99 " + fmt_value(l.p99_us, "us");
}

} // namespace

void scenario_http(const config& c) {
  const std::string sc = "9 http";
  std::string tried;
  auto exe = find_server(c, tried);
  if (exe.empty()) {
    row r;
    r.scenario = sc;
    r.policy = "-";
    r.metric = "HTTP submits to jobrt-server";
    r.text = "skipped: no jobrt-server at " + tried
             + " (build with JOBRT_BUILD_EXAMPLES=ON, or pass --server PATH)";
    if (!c.quiet)
      std::cerr << "[jobrt-bench] http " << r.text << "\n";
    add(r);
    return;
  }
  auto n = c.n.value_or(c.sz.http_n);
  for (auto mode : {store_mode::durable, store_mode::lmdb}) {
    const bool durable = mode == store_mode::durable;
    const auto policy = policy_for(c, "", mode);
    for (std::size_t conns : {1, 16, 256}) {
      // One durable connection waits for an fsync per request: fewer are enough.
      // Many connections get at least 24 requests each (unless --n or --smoke), so
      // that a run is more than a few rounds.
      auto runs = durable && conns == 1 ? std::min(n, c.sz.http_n1) : n;
      if (!c.n && !c.smoke)
        runs = std::max(runs, 24 * conns);
      auto label = name_of(mode) + ", " + std::to_string(conns) + " conn";
      // The in-process rate takes half its submits before the HTTP run and half
      // after (pooled), as the machine's speed drifts within seconds.
      progress.begin(sc + " [" + policy + "] " + label + ", in process");
      auto half = std::max<std::size_t>(runs / 2, 1);
      auto p = inproc_load(c, mode, conns, half);
      progress.begin(sc + " [" + policy + "] " + label + ", HTTP");
      load_result h;
      {
        auto dir = scratch(c, "http-server");
        server_process server{exe, dir, durable, c.cap};
        h = http_load(server.port(), conns, runs);
        server.stop();
        fs::remove_all(dir);
      }
      progress.begin(sc + " [" + policy + "] " + label + ", in process");
      auto p2 = inproc_load(c, mode, conns, half);
      progress.finish();
      p.rate = 2.0 / (1.0 / p.rate + 1.0 / p2.rate);
      p.us.insert(p.us.end(), p2.us.begin(), p2.us.end());
      auto hl = summarize(std::move(h.us));
      auto pl = summarize(std::move(p.us));
      const auto base = "in-process submit_async, " + std::to_string(conns) + " in flight";
      const bool target = durable && conns == 256;
      add({sc, policy,
           "HTTP submits, " + label + " (N=" + std::to_string(runs) + ")", h.rate, "req/s", {},
           p.rate, base, nan_v, target ? ">= 0.7x in-process" : "",
           target ? pass(h.rate >= 0.7 * p.rate) : "",
           "HTTP " + lat_text(hl) + "; in process " + lat_text(pl) + "; the HTTP client thread took "
             + fmt_value(h.client_cpu_us, "us") + " of CPU per request"});
      add({sc, policy, "HTTP submit p99, " + label, hl.p99_us, "us", {}, pl.p99_us, base, nan_v,
           {}, {}, "sent to answered; mean " + fmt_value(hl.mean_us, "us")});
    }
  }
}

} // namespace bench
