#pragma once

/// Test support: runs the real jobrt-server as a child process on a free port
/// with a temporary data directory, runs jobctl, and waits with deadlines.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <boost/json/value.hpp>

#include "http_client.hpp"

namespace test_support {

/// A jobrt-server child process; stopped with SIGTERM (and reaped) on destruction.
class server_process {
public:
  explicit server_process(std::vector<std::string> extra_args = {});
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  const std::string& base_url() const { return url_; }
  /// The port of the "workers on HOST:PORT" line (0 without --workers-port).
  unsigned short workers_port() const { return workers_port_; }
  jobrt_client::url address() const;
  jobrt_client::http_client client(const std::string& token = {}) const;
  /// Sends SIGTERM and returns the exit status (-1 if it had to be killed).
  int stop();

private:
  pid_t pid_ = -1;
  std::string data_dir_;
  std::string url_;
  unsigned short workers_port_ = 0;
};

/// Another child process (a jobrt-worker, say): stdout kept on a pipe nobody
/// reads (a few lines fit), stderr to a file. SIGTERM and reaped on destruction.
class child_process {
public:
  child_process(const std::string& exe, const std::vector<std::string>& args);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Sends `sig` (SIGKILL: dies at once) and reaps it; returns the exit code or -1.
  int stop(int sig);
  bool running() const { return pid_ > 0; }

private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string dir_;
};

struct process_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `exe args...` to the end (killed after `timeout`), capturing its output.
process_result run_process(const std::string& exe, const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = std::chrono::seconds{30});

/// A port nothing listens on (bound, read and released).
unsigned short unused_port();

/// Polls `done` every 20 ms until it returns true or `timeout` passes.
bool poll_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds{15});

/// The JSON body of a reply (null when it does not parse).
boost::json::value body_of(const jobrt_client::reply& r);

/// GETs the job until its status is `status`; false at the deadline.
bool wait_for_status(jobrt_client::http_client& c, std::uint64_t id, const std::string& status,
                     std::chrono::milliseconds timeout = std::chrono::seconds{15});

} // namespace test_support
