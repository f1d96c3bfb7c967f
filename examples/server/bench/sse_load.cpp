/// jobrt-sse-bench: what open event streams cost jobrt-server.
///
/// Starts jobrt-server on loopback (a temporary data directory, no fsync),
/// then measures the latency of POST /api/jobs (one keep-alive connection,
/// paced, a bounded number of requests) with no event stream open and with
/// `--streams` streams open, each following every event as the dashboard does
/// (a reader thread drains them all). Then opens streams up to `--many` and
/// reports the server's threads and resident memory, submits a few more jobs to
/// see the events still arrive, and stops the server with SIGTERM.
///
///   jobrt-sse-bench [--server PATH] [--requests 400] [--rate 50]
///                   [--streams 1000] [--many 10000] [--data-dir DIR]
///
/// Not a test: it prints figures and asserts nothing about them.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

struct settings {
  std::string server = JOBRT_SERVER_EXE;
  std::string data_dir;
  std::size_t requests = 400;
  double rate = 50; ///< submits per second
  std::size_t streams = 1000;
  std::size_t many = 10000;
};

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error{what + (errno != 0 ? std::string{": "} + std::strerror(errno) : "")};
}

// -- the server process ------------------------------------------------------------

struct server {
  pid_t pid = -1;
  unsigned short port = 0;
};

/// Kills the server if the bench ends early (an exception), so that it never outlives us.
struct server_guard {
  pid_t& pid;
  ~server_guard() {
    if (pid <= 0)
      return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

server start_server(const settings& s, const std::string& data_dir) {
  int out[2];
  if (::pipe(out) != 0)
    fail("pipe");
  pid_t pid = ::fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    std::string dir = data_dir + "/data";
    ::execl(s.server.c_str(), s.server.c_str(), "--host", "127.0.0.1", "--port", "0", "--data-dir",
            dir.c_str(), "--no-fsync", static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(out[1]);
  std::string line;
  auto deadline = clock_type::now() + std::chrono::seconds{30};
  while (line.find('\n') == std::string::npos && clock_type::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char buf[256];
    auto n = ::read(out[0], buf, sizeof buf);
    if (n <= 0)
      break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  auto colon = line.rfind(':');
  if (line.rfind("listening on http://127.0.0.1:", 0) != 0 || colon == std::string::npos)
    throw std::runtime_error{"jobrt-server did not start: '" + line + "'"};
  return {pid, static_cast<unsigned short>(std::stoi(line.substr(colon + 1)))};
}

/// SIGTERM; returns how long the process took to exit (killed after 60 s).
double stop_server(server& srv, int& exit_code) {
  auto t0 = clock_type::now();
  ::kill(srv.pid, SIGTERM);
  for (;;) {
    int status = 0;
    if (::waitpid(srv.pid, &status, WNOHANG) == srv.pid) {
      exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (clock_type::now() - t0 > std::chrono::seconds{60}) {
      ::kill(srv.pid, SIGKILL);
      ::waitpid(srv.pid, &status, 0);
      exit_code = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  srv.pid = -1;
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Threads and resident memory (KiB) of a process, from /proc/PID/status.
std::pair<long, long> threads_and_rss(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  long threads = -1, rss = -1;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0)
      threads = std::stol(line.substr(8));
    else if (line.rfind("VmRSS:", 0) == 0)
      rss = std::stol(line.substr(6));
  }
  return {threads, rss};
}

/// CPU time (user + system, seconds) a process has used, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat;
  std::getline(in, stat);
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields{stat.substr(close + 2)};
  std::string skip;
  for (int i = 3; i < 14; ++i) // fields 3..13: state .. cmajflt
    fields >> skip;
  unsigned long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int connect_loopback(unsigned short port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail("connect");
  return fd;
}

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      fail("send");
    sent += static_cast<std::size_t>(n);
  }
}

// -- submits ------------------------------------------------------------------------

/// POST /api/jobs on one keep-alive connection; returns each request's latency in ms.
std::vector<double> submit_latencies(unsigned short port, std::size_t count, double rate,
                                     pid_t server_pid = -1) {
  int fd = connect_loopback(port);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::string body = R"({"type":"countdown","params":{"n":1},"owner":"bench"})";
  const std::string req = "POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                          "application/json\r\nContent-Length: "
                          + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::vector<double> ms;
  ms.reserve(count);
  auto period = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(1.0 / rate));
  auto next = clock_type::now();
  const auto started = next;
  const double cpu0 = server_pid > 0 ? cpu_seconds(server_pid) : 0;
  std::string in;
  for (std::size_t i = 0; i < count; ++i) {
    std::this_thread::sleep_until(next);
    next += period;
    auto t0 = clock_type::now();
    send_all(fd, req);
    // Read one answer: the header, then Content-Length bytes.
    in.clear();
    std::size_t need = std::string::npos;
    for (;;) {
      auto head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos && need == std::string::npos) {
        auto cl = in.find("Content-Length: ");
        if (cl == std::string::npos || cl > head_end)
          throw std::runtime_error{"an answer without Content-Length"};
        need = head_end + 4 + std::stoul(in.substr(cl + 16));
      }
      if (need != std::string::npos && in.size() >= need)
        break;
      char buf[4096];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        fail("the server closed the submit connection");
      in.append(buf, static_cast<std::size_t>(n));
    }
    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    if (in.compare(0, 12, "HTTP/1.1 202") != 0)
      throw std::runtime_error{"submit answered: " + in.substr(0, in.find("\r\n"))};
  }
  ::close(fd);
  if (server_pid > 0) {
    auto secs = std::chrono::duration<double>(clock_type::now() - started).count();
    std::printf("%-28s server CPU %.2f s in %.1f s (%.0f%% of one core)\n", "", cpu_seconds(server_pid) - cpu0,
                secs, 100 * (cpu_seconds(server_pid) - cpu0) / secs);
  }
  return ms;
}

struct summary {
  double p50 = 0, p95 = 0, max = 0;
};

summary summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * ms.size()))]; };
  return {at(0.50), at(0.95), ms.back()};
}

// -- event streams ------------------------------------------------------------------

/// Open streams, drained by one thread with epoll; counts what arrives.
class stream_pool {
public:
  explicit stream_pool(unsigned short port) : port_(port), ep_(::epoll_create1(0)) {
    if (ep_ < 0)
      fail("epoll_create1");
    reader_ = std::thread{[this] { read_loop(); }};
  }
  ~stream_pool() {
    stop_ = true;
    reader_.join();
    for (int fd : fds_)
      ::close(fd);
    ::close(ep_);
  }

  /// Opens streams until `total` are open; returns once every header arrived.
  void grow_to(std::size_t total) {
    const std::string req = "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    while (fds_.size() < total) {
      int fd = connect_loopback(port_);
      send_all(fd, req);
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0)
        fail("epoll_ctl");
      fds_.push_back(fd);
    }
    auto deadline = clock_type::now() + std::chrono::seconds{120};
    while (headers_.load() < total && clock_type::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    if (headers_.load() < total)
      throw std::runtime_error{"only " + std::to_string(headers_.load()) + " of "
                               + std::to_string(total) + " streams opened"};
  }

  std::size_t open() const { return fds_.size(); }
  std::uint64_t events() const { return events_.load(); }
  std::size_t ended() const { return ended_.load(); }

private:
  void read_loop() {
    std::vector<epoll_event> ready(256);
    char buf[65536];
    while (!stop_) {
      int n = ::epoll_wait(ep_, ready.data(), static_cast<int>(ready.size()), 50);
      for (int i = 0; i < n; ++i) {
        int fd = ready[static_cast<std::size_t>(i)].data.fd;
        for (;;) {
          auto got = ::recv(fd, buf, sizeof buf, 0);
          if (got > 0) {
            count(std::string_view{buf, static_cast<std::size_t>(got)});
            continue;
          }
          if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
            ++ended_;
          }
          break;
        }
      }
    }
  }

  /// Counts headers and events; a marker split across two reads is missed,
  /// which is fine for a count of thousands.
  void count(std::string_view data) {
    for (auto p = data.find(": jobrt event stream"); p != std::string_view::npos;
         p = data.find(": jobrt event stream", p + 1))
      ++headers_;
    for (auto p = data.find("event: "); p != std::string_view::npos; p = data.find("event: ", p + 1))
      ++events_;
  }

  unsigned short port_;
  int ep_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> headers_{0};
  std::atomic<std::uint64_t> events_{0};
  std::atomic<std::size_t> ended_{0};
  std::thread reader_;
};

void raise_open_files() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return;
  lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

settings parse(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::runtime_error{a + " needs a value"};
      return argv[++i];
    };
    if (a == "--server")
      s.server = value();
    else if (a == "--data-dir")
      s.data_dir = value();
    else if (a == "--requests")
      s.requests = std::stoul(value());
    else if (a == "--rate")
      s.rate = std::stod(value());
    else if (a == "--streams")
      s.streams = std::stoul(value());
    else if (a == "--many")
      s.many = std::stoul(value());
    else
      throw std::runtime_error{"unknown option " + a};
  }
  if (s.requests == 0 || s.rate <= 0 || s.many < s.streams)
    throw std::runtime_error{"need --requests > 0, --rate > 0 and --many >= --streams"};
  return s;
}

void print_latency(const char* what, const summary& x) {
  std::printf("%-28s p50 %7.3f ms   p95 %7.3f ms   max %7.3f ms\n", what, x.p50, x.p95, x.max);
}

void print_process(const char* what, pid_t pid) {
  auto [threads, rss] = threads_and_rss(pid);
  std::printf("%-28s %ld threads, RSS %.1f MiB\n", what, threads, rss / 1024.0);
}

} // namespace

int main(int argc, char** argv) try {
  auto s = parse(argc, argv);
  raise_open_files();
  ::signal(SIGPIPE, SIG_IGN);
  std::string dir = s.data_dir;
  bool own_dir = dir.empty();
  if (own_dir) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "jobrt-sse-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      fail("mkdtemp");
    dir = tmpl;
  }
  auto srv = start_server(s, dir);
  server_guard guard{srv.pid};
  std::printf("jobrt-server pid %d on 127.0.0.1:%u; %zu submits at %.0f/s per phase\n", srv.pid,
              srv.port, s.requests, s.rate);
  print_process("idle:", srv.pid);

  submit_latencies(srv.port, std::min<std::size_t>(s.requests, 50), s.rate); // warm-up
  auto none = summarize(submit_latencies(srv.port, s.requests, s.rate, srv.pid));
  print_latency("submit, 0 streams:", none);

  {
    stream_pool pool{srv.port};
    pool.grow_to(s.streams);
    print_process(("open, " + std::to_string(s.streams) + " streams:").c_str(), srv.pid);
    auto before = pool.events();
    auto some = summarize(submit_latencies(srv.port, s.requests, s.rate, srv.pid));
    print_latency(("submit, " + std::to_string(s.streams) + " streams:").c_str(), some);
    std::printf("%-28s %llu events received, %zu streams closed by the server\n", "",
                static_cast<unsigned long long>(pool.events() - before), pool.ended());
    std::printf("%-28s p50 %.2fx   p95 %.2fx   max %.2fx\n", "ratio to 0 streams:",
                some.p50 / none.p50, some.p95 / none.p95, some.max / none.max);
    print_process("after the submits:", srv.pid);

    pool.grow_to(s.many);
    print_process(("open, " + std::to_string(s.many) + " streams:").c_str(), srv.pid);
    before = pool.events();
    auto lots = summarize(
      submit_latencies(srv.port, std::min<std::size_t>(s.requests, 100), s.rate, srv.pid));
    print_latency(("submit, " + std::to_string(s.many) + " streams:").c_str(), lots);
    // Each submit causes at least three status events (queued, running, completed).
    auto deadline = clock_type::now() + std::chrono::seconds{30};
    auto owed = static_cast<std::uint64_t>(3) * std::min<std::size_t>(s.requests, 100) * s.many;
    while (pool.events() - before < owed && clock_type::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    std::printf("%-28s %llu events received (at least %llu owed), %zu streams closed by the server\n",
                "", static_cast<unsigned long long>(pool.events() - before),
                static_cast<unsigned long long>(owed), pool.ended());
    print_process("after the submits:", srv.pid);

    int code = 0;
    auto took = stop_server(srv, code);
    auto until = clock_type::now() + std::chrono::seconds{10};
    while (pool.ended() < pool.open() && clock_type::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    std::printf("%-28s exit code %d after %.3f s; %zu of %zu streams ended\n", "SIGTERM:", code, took,
                pool.ended(), pool.open());
  }
  if (own_dir) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "jobrt-sse-bench: %s\n", e.what());
  return 1;
}
