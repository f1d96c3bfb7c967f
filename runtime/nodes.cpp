#include "jobrt/nodes.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace jobrt {

json::value to_json(const node_stats& n) {
  json::object types;
  for (const auto& [type, cap] : n.types)
    types[type] = cap;
  return json::object{{"id", n.id},
                      {"name", n.name},
                      {"address", n.address},
                      {"slots", n.slots},
                      {"types", std::move(types)},
                      {"running", n.running},
                      {"dispatched", n.dispatched},
                      {"joined_at", n.joined_at},
                      {"last_heartbeat", n.last_heartbeat}};
}

json::value to_json(const node_traffic& t) {
  return json::object{{"nodes_joined", t.nodes_joined},
                      {"nodes_lost", t.nodes_lost},
                      {"nodes_refused", t.nodes_refused},
                      {"runs_taken_back", t.runs_taken_back},
                      {"messages_dropped", t.messages_dropped},
                      {"messages_in", t.messages_in},
                      {"messages_out", t.messages_out},
                      {"payload_bytes_in", t.payload_bytes_in},
                      {"payload_bytes_out", t.payload_bytes_out}};
}

} // namespace jobrt
