#include "server_process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

namespace http = boost::beast::http;

namespace test_support {

namespace {

using clock_type = std::chrono::steady_clock;

std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "jobrt-server-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error{"mkdtemp failed"};
  return tmpl;
}

/// fork + exec with stdout and stderr on pipes; returns the pid.
/// With `err_file` set, the child's stderr goes to that file and `err_fd` is -1.
pid_t spawn(const std::string& exe, const std::vector<std::string>& args, int& out_fd, int& err_fd,
            const std::string& err_file = {}) {
  int out[2], err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0)
    throw std::runtime_error{"pipe failed"};
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error{"fork failed"};
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    if (err_file.empty()) {
      ::dup2(err[1], STDERR_FILENO);
    } else {
      int fd = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, STDERR_FILENO);
    }
    ::close(out[0]);
    ::close(out[1]);
    ::close(err[0]);
    ::close(err[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    std::_Exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  out_fd = out[0];
  err_fd = err[0];
  if (!err_file.empty()) {
    ::close(err_fd);
    err_fd = -1;
  }
  return pid;
}

/// Waits for the child to exit; kills it at the deadline. Returns the exit code or -1.
int reap(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    int status = 0;
    auto r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0)
      return -1;
    if (clock_type::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

} // namespace

server_process::server_process(std::vector<std::string> extra_args) : data_dir_(make_temp_dir()) {
  std::vector<std::string> args{"--port", "0", "--data-dir", data_dir_ + "/data", "--no-fsync"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  int out_fd = -1, err_fd = -1;
  pid_ = spawn(JOBRT_SERVER_EXE, args, out_fd, err_fd, data_dir_ + "/server.log");
  // The first line on stdout is "listening on http://HOST:PORT"; with
  // --workers-port, the second is "workers on HOST:PORT".
  bool workers = std::find(args.begin(), args.end(), "--workers-port") != args.end();
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  std::string line;
  auto deadline = clock_type::now() + std::chrono::seconds{20};
  while (lines(line) < (workers ? 2 : 1) && clock_type::now() < deadline) {
    pollfd p{out_fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char buf[256];
    auto n = ::read(out_fd, buf, sizeof buf);
    if (n <= 0)
      break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out_fd);
  constexpr std::string_view prefix = "listening on ";
  if (line.compare(0, prefix.size(), prefix) != 0) {
    stop();
    throw std::runtime_error{"jobrt-server did not start: '" + line + "'"};
  }
  auto end = line.find('\n');
  url_ = line.substr(prefix.size(), end - prefix.size());
  if (!workers)
    return;
  auto second = line.substr(end + 1);
  constexpr std::string_view workers_prefix = "workers on ";
  auto colon = second.rfind(':');
  if (second.compare(0, workers_prefix.size(), workers_prefix) != 0 || colon == std::string::npos) {
    stop();
    throw std::runtime_error{"jobrt-server did not say where workers join: '" + second + "'"};
  }
  workers_port_ = static_cast<unsigned short>(std::stoul(second.substr(colon + 1)));
}

child_process::child_process(const std::string& exe, const std::vector<std::string>& args)
  : dir_(make_temp_dir()) {
  int err_fd = -1;
  pid_ = spawn(exe, args, out_fd_, err_fd, dir_ + "/stderr.log");
}

child_process::~child_process() {
  stop(SIGTERM);
  if (out_fd_ >= 0)
    ::close(out_fd_);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

int child_process::stop(int sig) {
  if (pid_ <= 0)
    return 0;
  ::kill(pid_, sig);
  auto code = reap(pid_, std::chrono::seconds{20});
  pid_ = -1;
  return code;
}

server_process::~server_process() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(data_dir_, ignored);
}

int server_process::stop() {
  if (pid_ <= 0)
    return 0;
  ::kill(pid_, SIGTERM);
  auto code = reap(pid_, std::chrono::seconds{20});
  pid_ = -1;
  return code;
}

jobrt_client::url server_process::address() const {
  return *jobrt_client::parse_url(url_);
}

jobrt_client::http_client server_process::client(const std::string& token) const {
  return jobrt_client::http_client{address(), token};
}

process_result run_process(const std::string& exe, const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout) {
  process_result r;
  int out_fd = -1, err_fd = -1;
  auto pid = spawn(exe, args, out_fd, err_fd);
  auto deadline = clock_type::now() + timeout;
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open = 2;
  while (open > 0 && clock_type::now() < deadline) {
    if (::poll(fds, 2, 100) <= 0)
      continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0)
        continue;
      char buf[4096];
      auto n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
        continue;
      }
      (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0)
      ::close(f.fd);
  r.exit_code = reap(pid, std::chrono::seconds{5});
  return r;
}

unsigned short unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (!done()) {
    if (clock_type::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return true;
}

boost::json::value body_of(const jobrt_client::reply& r) {
  boost::json::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  return ec ? boost::json::value{} : v;
}

bool wait_for_status(jobrt_client::http_client& c, std::uint64_t id, const std::string& status,
                     std::chrono::milliseconds timeout) {
  return poll_until(
    [&] {
      auto r = c.request(http::verb::get, "/api/jobs/" + std::to_string(id));
      auto doc = body_of(r);
      return r.status == 200 && doc.is_object() && doc.at("status") == status.c_str();
    },
    timeout);
}

} // namespace test_support
