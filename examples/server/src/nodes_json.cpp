#include "nodes_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace json = boost::json;

namespace jobrt_server {

namespace {

json::object node_json(const jobrt::node_stats& n) {
  json::object types;
  for (const auto& [type, cap] : n.types)
    types[type] = cap;
  return {{"id", n.id},
          {"name", n.name},
          {"address", n.address},
          {"slots", n.slots},
          {"types", std::move(types)},
          {"running", n.running},
          {"dispatched", n.dispatched},
          {"joined_at", n.joined_at},
          {"last_heartbeat", n.last_heartbeat}};
}

json::object counters_json(const jobrt::node_traffic& c) {
  return {{"nodes_joined", c.nodes_joined},
          {"nodes_lost", c.nodes_lost},
          {"nodes_refused", c.nodes_refused},
          {"runs_taken_back", c.runs_taken_back},
          {"messages_dropped", c.messages_dropped},
          {"messages_in", c.messages_in},
          {"messages_out", c.messages_out},
          {"payload_bytes_in", c.payload_bytes_in},
          {"payload_bytes_out", c.payload_bytes_out}};
}

} // namespace

json::object nodes_json(const jobrt::runtime_stats& st, std::optional<std::uint16_t> port,
                        bool run_locally) {
  json::array nodes;
  nodes.reserve(st.nodes.size());
  for (const auto& n : st.nodes)
    nodes.push_back(node_json(n));
  json::value p = nullptr;
  if (port)
    p = *port;
  return {{"nodes", std::move(nodes)},
          {"counters", counters_json(st.node_counters)},
          {"accepting", port.has_value()},
          {"port", p},
          {"run_locally", run_locally}};
}

} // namespace jobrt_server
