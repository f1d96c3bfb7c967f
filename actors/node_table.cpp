#include "actors/node_table.hpp"

namespace jobrt {

void node_table::join(proto::node_joined j) {
  node n;
  n.info.id = j.id;
  n.info.name = std::move(j.name);
  n.info.address = std::move(j.address);
  n.info.slots = j.slots;
  n.info.types = std::move(j.types);
  n.info.joined_at = j.joined_at;
  n.info.last_heartbeat = j.joined_at;
  n.agent = std::move(j.agent);
  nodes_[j.id] = std::move(n);
}

std::optional<node_table::node> node_table::leave(std::uint64_t id) {
  auto i = nodes_.find(id);
  if (i == nodes_.end())
    return std::nullopt;
  auto n = std::move(i->second);
  nodes_.erase(i);
  return n;
}

void node_table::heard(std::uint64_t id, millis at) {
  if (auto i = nodes_.find(id); i != nodes_.end())
    i->second.info.last_heartbeat = std::max(i->second.info.last_heartbeat, at);
}

std::uint64_t node_table::pick(const std::string& type) const {
  std::uint64_t best = 0;
  double best_load = 2.0;
  for (const auto& [id, n] : nodes_) {
    auto t = n.info.types.find(type);
    if (t == n.info.types.end() || n.info.running >= n.info.slots)
      continue;
    if (t->second != 0) {
      auto r = n.running_by_type.find(type);
      if (r != n.running_by_type.end() && r->second >= t->second)
        continue;
    }
    double load = static_cast<double>(n.info.running) / static_cast<double>(n.info.slots);
    if (load < best_load) {
      best_load = load;
      best = id;
    }
  }
  return best;
}

void node_table::take(std::uint64_t id, const std::string& type, job_id job) {
  auto i = nodes_.find(id);
  if (i == nodes_.end() || !i->second.jobs.insert(job).second)
    return;
  ++i->second.info.running;
  ++i->second.info.dispatched;
  ++i->second.running_by_type[type];
}

void node_table::release(std::uint64_t id, const std::string& type, job_id job) {
  auto i = nodes_.find(id);
  if (i == nodes_.end() || i->second.jobs.erase(job) == 0)
    return;
  --i->second.info.running;
  auto r = i->second.running_by_type.find(type);
  if (r != i->second.running_by_type.end() && r->second > 0)
    --r->second;
}

bool node_table::keep_idle(std::uint64_t id, const caf::actor& a) {
  auto i = nodes_.find(id);
  if (i == nodes_.end() || i->second.idle.size() >= i->second.info.slots)
    return false;
  i->second.idle.push_back(a);
  return true;
}

caf::actor node_table::take_idle(std::uint64_t id) {
  auto i = nodes_.find(id);
  if (i == nodes_.end() || i->second.idle.empty())
    return nullptr;
  auto a = std::move(i->second.idle.back());
  i->second.idle.pop_back();
  return a;
}

const node_table::node* node_table::find(std::uint64_t id) const {
  auto i = nodes_.find(id);
  return i == nodes_.end() ? nullptr : &i->second;
}

std::vector<node_stats> node_table::stats() const {
  std::vector<node_stats> out;
  out.reserve(nodes_.size());
  for (const auto& [id, n] : nodes_)
    out.push_back(n.info);
  return out;
}

} // namespace jobrt
