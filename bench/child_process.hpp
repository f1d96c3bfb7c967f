#pragma once

/// A child process of a scenario (jobrt-server, a worker node, a bare CAF
/// peer): started with its stdin from /dev/null and its stdout and stderr in
/// files, stopped (SIGTERM, then SIGKILL after 10 s) and reaped when destroyed.

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace bench {

inline std::string read_all(const std::string& path) {
  std::ifstream f{path};
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// The path of the running executable (for a scenario that runs it again).
inline std::string this_executable() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw std::runtime_error("cannot find this executable: " + ec.message());
  return self.string();
}

class child_process {
public:
  /// Runs `exe args...`; its output goes to DIR/NAME.out and DIR/NAME.err.
  child_process(const std::string& exe, const std::vector<std::string>& args,
                const std::string& dir, const std::string& name) {
    std::filesystem::create_directories(dir);
    out_ = dir + "/" + name + ".out";
    err_ = dir + "/" + name + ".err";
    std::vector<std::string> all{exe};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    // Files, not pipes: a pipe nobody drains could fill and stall the child.
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = posix_spawn(&pid_, exe.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
      throw std::runtime_error("cannot start " + exe + ": " + std::strerror(rc));
  }
  ~child_process() { stop(); }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  std::string out() const { return read_all(out_); }
  std::string err() const { return read_all(err_); }

  /// Throws with its stderr if it has exited.
  void check_alive(const std::string& what) {
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      auto code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      throw std::runtime_error(what + " exited (status " + std::to_string(code)
                               + "): " + err().substr(0, 500));
    }
  }

  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    pid_ = -1;
  }

private:
  pid_t pid_ = -1;
  std::string out_, err_;
};

} // namespace bench
