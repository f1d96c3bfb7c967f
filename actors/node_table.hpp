#pragma once

/// The worker nodes a scheduler dispatches to: each one's slots, the types it
/// runs with their caps, and the runs it holds. A plain class, no actor: the
/// scheduler owns one, and its tests drive it directly.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "caf/actor.hpp"

#include "jobrt/nodes.hpp"

#include "actors/protocol.hpp"

namespace jobrt {

class node_table {
public:
  struct node {
    node_stats info; ///< what stats() reports (running and dispatched kept here)
    caf::actor agent;
    std::map<std::string, std::size_t> running_by_type;
    std::set<job_id> jobs; ///< the runs it holds, paused ones too
    /// Stand-ins (actors/remote_run.hpp) whose runs ended, kept for the next ones.
    std::vector<caf::actor> idle;
  };

  /// Takes in a node that proved itself.
  void join(proto::node_joined j);
  /// Forgets a node; returns it (with the runs it held), if it was known.
  std::optional<node> leave(std::uint64_t id);
  /// Notes that the node was heard from at `at`.
  void heard(std::uint64_t id, millis at);

  /// The node with a free slot for a job of `type` (and the type's cap not
  /// reached), the least busy first; 0 if none.
  std::uint64_t pick(const std::string& type) const;
  /// Counts run `job` of `type` on node `id`; and lets go of it.
  void take(std::uint64_t id, const std::string& type, job_id job);
  void release(std::uint64_t id, const std::string& type, job_id job);

  /// Keeps stand-in `a` of node `id` (its run ended) for the node's next run;
  /// false if the node is gone or keeps one per slot already.
  bool keep_idle(std::uint64_t id, const caf::actor& a);
  /// A kept stand-in of node `id`; null if none.
  caf::actor take_idle(std::uint64_t id);
  /// Calls `f(actor)` for each kept stand-in.
  template <class F>
  void for_each_idle(F f) const {
    for (const auto& [id, n] : nodes_)
      for (const auto& a : n.idle)
        f(a);
  }

  const node* find(std::uint64_t id) const;
  bool empty() const { return nodes_.empty(); }
  std::vector<node_stats> stats() const;

private:
  std::map<std::uint64_t, node> nodes_;
};

} // namespace jobrt
