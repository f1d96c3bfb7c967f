#pragma once

// Helpers shared by the example tests: a fresh temporary directory per test, a
// runtime on it, and waiting for job events (no sleeps).

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "jobrt/jobrt.hpp"

namespace test_support {

/// A fresh directory under $TMPDIR (or /tmp), removed at the end of the test.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    auto base = std::filesystem::temp_directory_path() / "jobrt-example-XXXXXX";
    std::string tmpl = base.string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline std::unique_ptr<jobrt::runtime> start_runtime(const std::string& data_dir) {
  jobrt::runtime_options opts;
  opts.data_dir = data_dir;
  opts.durable = false; // survives a killed process, which is all these tests need
  opts.progress_interval = std::chrono::milliseconds{10};
  auto rt = jobrt::runtime::start(opts);
  if (!rt)
    throw std::runtime_error("runtime::start failed: " + rt.error().message);
  return std::move(*rt);
}

/// A runtime that keeps its jobs in memory.
inline std::unique_ptr<jobrt::runtime> start_memory_runtime() {
  jobrt::runtime_options opts;
  opts.storage = jobrt::storage_kind::memory;
  opts.progress_interval = std::chrono::milliseconds{10};
  auto rt = jobrt::runtime::start(opts);
  if (!rt)
    throw std::runtime_error("runtime::start failed: " + rt.error().message);
  return std::move(*rt);
}

/// Records the latest event of every job, and lets a test wait for a condition
/// on them. Subscribe before acting, so that no event is missed.
class event_log {
public:
  explicit event_log(jobrt::runtime& rt) {
    sub_ = rt.subscribe([this](const jobrt::job_event& e) {
      {
        std::lock_guard guard{mtx_};
        auto& last = latest_[e.id];
        last = e;
      }
      cv_.notify_all();
    });
  }

  /// Waits until `pred(latest event of id)` holds; false after `timeout`.
  bool wait_for(jobrt::job_id id, const std::function<bool(const jobrt::job_event&)>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds{60}) {
    std::unique_lock lock{mtx_};
    return cv_.wait_for(lock, timeout, [&] {
      auto i = latest_.find(id);
      return i != latest_.end() && pred(i->second);
    });
  }

  bool wait_for_status(jobrt::job_id id, jobrt::job_status s,
                       std::chrono::milliseconds timeout = std::chrono::seconds{60}) {
    return wait_for(id, [s](const jobrt::job_event& e) { return e.status == s; }, timeout);
  }

  /// Waits until the job is completed, failed or cancelled. `rt` is asked once
  /// after subscribing too, for a job that finished before the first event.
  bool wait_until_finished(jobrt::runtime& rt, jobrt::job_id id,
                           std::chrono::milliseconds timeout = std::chrono::seconds{60}) {
    if (auto rec = rt.get(id); rec && jobrt::is_finished(rec->status))
      return true;
    return wait_for(id, [](const jobrt::job_event& e) { return jobrt::is_finished(e.status); },
                    timeout);
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<jobrt::job_id, jobrt::job_event> latest_;
  jobrt::subscription sub_; // last: unsubscribes before the members above go away
};

} // namespace test_support
