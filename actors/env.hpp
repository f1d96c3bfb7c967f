#pragma once

/// What every actor of one runtime shares: the store (read-only for all but the
/// persistence actor), the job types, the clock, the options, and a log.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "caf/actor.hpp"

#include "jobrt/clock.hpp"
#include "jobrt/registry.hpp"
#include "jobrt/options.hpp"
#include "jobrt/stats.hpp"

#include "actors/log.hpp"
#include "actors/protocol.hpp"
#include "storage/job_store.hpp"

namespace jobrt {

/// Counts latencies into fixed buckets; any thread may record.
class latency_recorder {
public:
  static constexpr std::array<double, 12> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void record(std::chrono::nanoseconds d) {
    auto s = std::chrono::duration<double>(d).count();
    std::size_t b = 0;
    while (b < bounds.size() && s > bounds[b])
      ++b;
    ++buckets_[b];
    sum_ns_ += static_cast<std::uint64_t>(d.count());
  }
  latency_histogram snapshot() const {
    latency_histogram h;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < bounds.size(); ++b) {
      cumulative += buckets_[b].load();
      h.bounds_seconds.push_back(bounds[b]);
      h.counts.push_back(cumulative);
    }
    h.count = cumulative + buckets_[bounds.size()].load();
    h.sum_seconds = static_cast<double>(sum_ns_.load()) / 1e9;
    return h;
  }

private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

/// What a coordinator counts of its worker nodes' traffic: the gate and the
/// remote runs count, any thread may read (`runtime_stats::node_counters`).
struct node_counters {
  std::atomic<std::uint64_t> nodes_joined{0};
  std::atomic<std::uint64_t> nodes_lost{0};
  std::atomic<std::uint64_t> nodes_refused{0};
  std::atomic<std::uint64_t> runs_taken_back{0};
  std::atomic<std::uint64_t> messages_dropped{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> messages_out{0};
  std::atomic<std::uint64_t> payload_bytes_in{0};
  std::atomic<std::uint64_t> payload_bytes_out{0};

  void sent(std::size_t payload) {
    ++messages_out;
    payload_bytes_out += payload;
  }
  void received(std::size_t payload) {
    ++messages_in;
    payload_bytes_in += payload;
  }
  node_traffic snapshot() const {
    node_traffic t;
    t.nodes_joined = nodes_joined.load();
    t.nodes_lost = nodes_lost.load();
    t.nodes_refused = nodes_refused.load();
    t.runs_taken_back = runs_taken_back.load();
    t.messages_dropped = messages_dropped.load();
    t.messages_in = messages_in.load();
    t.messages_out = messages_out.load();
    t.payload_bytes_in = payload_bytes_in.load();
    t.payload_bytes_out = payload_bytes_out.load();
    return t;
  }
};

/// Where the actors' commits run, chosen once by the facade for its store. The
/// stores keep one contract; what differs is what a commit costs. A durable
/// commit waits for the disk, so the persistence actor makes it, on a thread of
/// its own, gathering what arrives meanwhile into one transaction. An in-memory
/// commit is a few map updates, cheaper than the hop to another actor and back
/// (that hop halved jobrt-bench's no-op drain and cost a quarter of its
/// checkpoints), so the actor that writes commits itself.
enum class commit_site : std::uint8_t {
  persistence_actor,
  in_place,
};

struct actor_env {
  storage::job_store* store = nullptr;
  const registry* types = nullptr;
  std::shared_ptr<jobrt::clock> clock;
  runtime_options opts;
  proto::persistence_actor persistence;
  commit_site commits = commit_site::persistence_actor;
  proto::fanout_actor events;
  std::shared_ptr<latency_recorder> checkpoint_latency = std::make_shared<latency_recorder>();
  /// Live subscriptions. With none, the scheduler builds and sends no events:
  /// three messages per job saved. Counted up before `subscribe` returns, so an
  /// event of any change that starts after it is sent.
  std::shared_ptr<std::atomic<std::size_t>> subscribers =
    std::make_shared<std::atomic<std::size_t>>(0);
  /// The nice value a thread is set to the first time it runs job code (if it
  /// is not already that low); none: threads are left as they are.
  std::optional<int> job_thread_nice;
  /// The highest job id given out: the scheduler takes ids for submits, and
  /// job actors for the children they spawn (`context::spawn_child`).
  std::shared_ptr<std::atomic<job_id>> last_id = std::make_shared<std::atomic<job_id>>(0);

  /// The coordinator's counts of its worker nodes' traffic.
  std::shared_ptr<node_counters> node_traffic = std::make_shared<node_counters>();

  job_id next_id() const { return last_id->fetch_add(1, std::memory_order_relaxed) + 1; }
};

using env_ptr = std::shared_ptr<const actor_env>;

} // namespace jobrt
