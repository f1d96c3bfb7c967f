#pragma once

/// A child process for the tests that run one and kill it (tests/crash, the crash
/// loops and the fault tests under tests/reliability): starting it with its
/// stdout in a pipe, reading and splitting what it writes until a deadline or
/// its end, killing it with SIGKILL and reaping it. Include after
/// <boost/test/unit_test.hpp> (and BOOST_TEST_MODULE).

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

namespace crash_support {

// -- the child process ------------------------------------------------------------------

/// A child process whose stdout the parent reads from `out`.
struct child_process {
  pid_t pid = -1;
  int out = -1;

  void kill() const { ::kill(pid, SIGKILL); }
  /// Waits for it to end; returns its wait status.
  int wait() const {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
  }
};

/// Starts `exe args...` with its stdout into a pipe.
inline child_process spawn_child(const std::string& exe, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

/// Whether a wait status is that of a process killed with SIGKILL.
inline bool sigkilled(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

/// Requires that the child died of the kill, not before it.
inline void require_sigkilled(int status) {
  BOOST_REQUIRE_MESSAGE(sigkilled(status),
                        "the child ended before it was killed (status " << status << ")");
}

// -- what the child writes --------------------------------------------------------------

using clock_point = std::chrono::steady_clock::time_point;

namespace detail {
template <class OnRead>
bool read_child(int fd, std::string& pending, const clock_point* deadline, OnRead& on_read) {
  char buf[65536];
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return true;
      wait_ms = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, wait_ms);
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0)
      return true;
    auto got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    pending.append(buf, static_cast<std::size_t>(got));
    on_read();
  }
}
} // namespace detail

/// Reads what the child writes to `fd` onto `pending` until `deadline`, calling
/// `on_read()` after every read; the deadline is looked at again before every
/// wait, so `on_read` may move it. Returns false at the end of the output.
template <class OnRead>
bool read_child_until(int fd, std::string& pending, const clock_point& deadline,
                      OnRead&& on_read) {
  return detail::read_child(fd, pending, &deadline, on_read);
}

/// Reads the rest of what the child wrote, to the end of its output.
template <class OnRead>
void read_child_to_end(int fd, std::string& pending, OnRead&& on_read) {
  detail::read_child(fd, pending, nullptr, on_read);
}

/// Calls `apply(line)` on every whole line of `pending` and removes them from it.
template <class Apply>
void take_lines(std::string& pending, Apply&& apply) {
  std::size_t start = 0;
  for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
    apply(pending.substr(start, nl - start));
    start = nl + 1;
  }
  pending.erase(0, start);
}

/// Where the first line of `text` that begins with `prefix` begins (npos: none).
inline std::size_t line_starting(const std::string& text, const std::string& prefix) {
  if (text.rfind(prefix, 0) == 0)
    return 0;
  auto at = text.find("\n" + prefix);
  return at == std::string::npos ? at : at + 1;
}

/// Notes when a child first wrote its "up" line: the first time `pending`
/// holds it, sets `up_after` (negative until then) to the time since `started`
/// and returns true.
inline bool saw_up(const std::string& pending, clock_point started,
                   std::chrono::milliseconds& up_after) {
  if (up_after.count() >= 0 || line_starting(pending, "up\n") == std::string::npos)
    return false;
  up_after = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - started);
  return true;
}

} // namespace crash_support
