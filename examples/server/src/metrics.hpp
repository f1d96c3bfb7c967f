#pragma once

/// Prometheus metrics for GET /metrics. Counts and gauges come from the
/// runtime's stats (the router asks with `stats_async`); the job duration histogram is built here from status
/// events (the time from a job's last `running` to `completed`, `failed` or
/// `cancelled`), since the runtime keeps no durations itself.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "jobrt/runtime.hpp"

namespace jobrt_server {

class metrics {
public:
  /// Subscribes to status events of `rt`, which must outlive this object.
  explicit metrics(jobrt::runtime& rt);
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// Stops watching events (before the runtime shuts down).
  void stop();

  void count_request(unsigned status);
  void sse_opened() { ++sse_clients_; }
  void sse_closed() { --sse_clients_; }

  /// The exposition text, with the counts and gauges of `st` (`jobrt_up 0`
  /// and none of them when the runtime did not answer). Never blocks.
  std::string render(const jobrt::result<jobrt::runtime_stats>& st);

private:
  /// Upper bounds in seconds; the last bucket is +Inf.
  static constexpr std::array<double, 11> bounds{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};

  struct histogram {
    std::array<std::uint64_t, bounds.size() + 1> buckets{}; ///< not cumulative
    double sum = 0;
    std::uint64_t count = 0;
  };

  void on_event(const jobrt::job_event& e);
  void render_histograms(std::string& out);
  void render_requests(std::string& out);

  jobrt::runtime& rt_;
  std::mutex mtx_;
  std::unordered_map<jobrt::job_id, jobrt::millis> running_since_;
  std::map<std::string, histogram> durations_; ///< by job type
  std::map<unsigned, std::uint64_t> requests_; ///< by HTTP status
  std::atomic<long> sse_clients_{0};
  jobrt::subscription sub_;
};

} // namespace jobrt_server
