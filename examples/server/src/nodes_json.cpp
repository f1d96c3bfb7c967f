#include "nodes_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace json = boost::json;

namespace jobrt_server {

json::object nodes_json(const jobrt::runtime_stats& st, std::optional<std::uint16_t> port,
                        bool run_locally) {
  json::array nodes;
  nodes.reserve(st.nodes.size());
  for (const auto& n : st.nodes)
    nodes.push_back(jobrt::to_json(n));
  json::value p = nullptr;
  if (port)
    p = *port;
  return {{"nodes", std::move(nodes)},
          {"counters", jobrt::to_json(st.node_counters)},
          {"accepting", port.has_value()},
          {"port", p},
          {"run_locally", run_locally}};
}

} // namespace jobrt_server
