#pragma once

/// A node_child process (node_child.cpp) as the worker-node tests drive it:
/// its stdin and stdout in pipes, its lines read with deadlines, a command
/// answered by one `ok`/`err` line, and at the end a clean stop (the end of its
/// stdin) with SIGKILL as the fallback. Reading and splitting lines comes from
/// reliability/child_process.hpp. Include after <boost/test/unit_test.hpp>.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "reliability/child_process.hpp"

namespace node_test {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

class node_process {
public:
  /// Starts `exe args...`; `label` names it in failure messages.
  node_process(const std::string& exe, const std::vector<std::string>& args, std::string label)
    : label_(std::move(label)) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // Close-on-exec: no other child inherits these ends, so closing `in_` is
    // the end of this child's stdin.
    int to_child[2];
    int from_child[2];
    BOOST_REQUIRE(::pipe2(to_child, O_CLOEXEC) == 0);
    BOOST_REQUIRE(::pipe2(from_child, O_CLOEXEC) == 0);
    pid_ = ::fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(to_child[0], STDIN_FILENO);
      ::dup2(from_child[1], STDOUT_FILENO);
      ::execv(exe.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    in_ = to_child[1];
    out_ = from_child[0];
  }

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  ~node_process() {
    if (pid_ > 0 && !reaped_) {
      if (!stop(5s))
        BOOST_ERROR(label_ << " did not stop within 5 s of the end of its stdin; killed");
    }
    if (out_ >= 0)
      ::close(out_);
  }

  const std::string& label() const { return label_; }

  /// Writes one line to its stdin.
  void send(const std::string& line) {
    auto text = line + "\n";
    const char* p = text.data();
    auto left = text.size();
    while (left > 0) {
      auto n = ::write(in_, p, left);
      BOOST_REQUIRE_MESSAGE(n > 0, label_ << ": cannot write to its stdin");
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }

  /// The first line not yet taken for which `match` holds, waiting for it
  /// until `limit`; none if it did not come (or the child's output ended).
  std::optional<std::string> take(const std::function<bool(const std::string&)>& match,
                                  std::chrono::milliseconds limit) {
    auto deadline = steady::now() + limit;
    for (;;) {
      for (auto i = unread_.begin(); i != unread_.end(); ++i)
        if (match(*i)) {
          auto line = *i;
          unread_.erase(i);
          return line;
        }
      if (eof_ || steady::now() >= deadline)
        return std::nullopt;
      // Read until the deadline, or until a line that matches arrives.
      auto until = deadline;
      bool more = crash_support::read_child_until(out_, pending_, until, [&] {
        crash_support::take_lines(pending_, [&](const std::string& l) {
          unread_.push_back(l);
          seen_.push_back(l);
          if (match(l))
            until = steady::now();
        });
      });
      if (!more)
        eof_ = true;
    }
  }

  /// The rest of the first line that begins with `word` and a space (or is
  /// `word`), waiting until `limit`.
  std::optional<std::string> expect(const std::string& word, std::chrono::milliseconds limit) {
    auto line = take([&](const std::string& l) { return starts_with_word(l, word); }, limit);
    if (!line)
      return std::nullopt;
    return line->size() > word.size() ? line->substr(word.size() + 1) : std::string{};
  }

  /// Sends a command and returns its answer line (`ok ...` or `err ...`).
  std::string call(const std::string& command, std::chrono::milliseconds limit = 10s) {
    send(command);
    auto line = take(
      [](const std::string& l) { return starts_with_word(l, "ok") || starts_with_word(l, "err"); },
      limit);
    BOOST_REQUIRE_MESSAGE(line, label_ << " did not answer '" << command.substr(0, 80) << "' within "
                                       << limit.count() << " ms; it wrote: " << transcript());
    return *line;
  }

  /// Whether it has not ended (and reaps it if it has).
  bool running() {
    if (reaped_)
      return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      status_ = status;
      return false;
    }
    return true;
  }

  /// Ends its stdin and waits until `limit` for it to end; kills it if it did
  /// not. Returns whether it ended on its own.
  bool stop(std::chrono::milliseconds limit) {
    if (in_ >= 0) {
      ::close(in_);
      in_ = -1;
    }
    auto deadline = steady::now() + limit;
    while (running()) {
      if (steady::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        reaped_ = true;
        status_ = status;
        return false;
      }
      ::usleep(5000);
    }
    return true;
  }

  int exit_status() const { return status_; }

  /// Every line it wrote so far, for failure messages.
  std::string transcript() const {
    std::string all;
    for (const auto& l : seen_)
      all += "\n  | " + l.substr(0, 300);
    return all.empty() ? std::string{"(nothing)"} : all;
  }

  static bool starts_with_word(const std::string& line, const std::string& word) {
    return line.rfind(word, 0) == 0 && (line.size() == word.size() || line[word.size()] == ' ');
  }

private:
  std::string label_;
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  int status_ = 0;
  std::string pending_;
  std::deque<std::string> unread_;
  std::vector<std::string> seen_;
};

} // namespace node_test
