#include "actors/node_gate.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "caf/all.hpp"
#include "caf/io/all.hpp"

#include "actors/node_wire.hpp"

namespace jobrt {

namespace {

struct known_node {
  caf::actor agent;
  std::string name;
  millis last_heard = 0;
};

struct gate_state {
  env_ptr env;
  proto::scheduler_actor scheduler;
  worker_listen_options opts;
  std::map<std::uint64_t, known_node> nodes;
  std::map<caf::actor_addr, std::uint64_t> by_agent;
  std::uint64_t last_id = 0;

  static inline const char* name = "jobrt.node_gate";
};

using gate_actor = caf::stateful_actor<gate_state>;

/// Compares without stopping at the first difference, so that the time a
/// refusal takes says nothing about how much of the secret was right.
bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ expected[i % std::max<std::size_t>(1, expected.size())]);
  return diff == 0;
}

void arm_sweep(gate_actor* self) {
  auto& st = self->state;
  auto every = std::max<millis>(50, st.opts.node_timeout.count() / 4);
  caf::actor_addr me = self->address();
  st.env->clock->call_at(saturating_add(st.env->clock->now(), every), [me] {
    if (auto a = caf::actor_cast<caf::actor>(me))
      caf::anon_send(a, proto::sweep_atom::value);
  });
}

/// Node `id` is lost: the scheduler takes its runs back, and the node, if it
/// still listens, learns that it was evicted.
void lose(gate_actor* self, std::uint64_t id, const std::string& why) {
  auto& st = self->state;
  auto i = st.nodes.find(id);
  if (i == st.nodes.end())
    return;
  auto agent = i->second.agent;
  log_line("worker node '" + i->second.name + "' (node " + std::to_string(id) + ") lost: " + why
           + "; its runs go back to the queue");
  st.by_agent.erase(agent.address());
  st.nodes.erase(i);
  self->demonitor(agent);
  ++st.env->node_traffic->nodes_lost;
  self->send(st.scheduler, proto::node_down_atom::value, id, why);
  st.env->node_traffic->sent(why.size());
  self->send(agent, proto::evict_atom::value, why);
}

/// A known node's message: it is alive.
bool heard(gate_actor* self, std::uint64_t id) {
  auto& st = self->state;
  auto i = st.nodes.find(id);
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  if (i == st.nodes.end() || i->second.agent.address() != sender)
    return false;
  i->second.last_heard = st.env->clock->now();
  return true;
}

caf::result<std::string, std::uint64_t> on_hello(gate_actor* self, const std::string& name,
                                                 const std::string& secret,
                                                 const std::string& offer_text) {
  auto& st = self->state;
  auto agent = caf::actor_cast<caf::actor>(self->current_sender());
  auto refuse = [&](const std::string& why) -> caf::result<std::string, std::uint64_t> {
    ++st.env->node_traffic->nodes_refused;
    log_line("worker node '" + name.substr(0, 200) + "' refused: " + why);
    return {why, std::uint64_t{0}};
  };
  if (!agent)
    return refuse("a hello without a sender");
  st.env->node_traffic->received(name.size() + secret.size() + offer_text.size());
  if (!st.opts.secret.empty() && !same_secret(secret, st.opts.secret))
    return refuse("wrong secret");
  if (name.empty() || name.size() > 255)
    return refuse("a name must be 1 to 255 bytes");
  if (offer_text.size() > (std::size_t{1} << 20))
    return refuse("an offer over 1 MiB");
  auto offer = node_wire::decode_offer(offer_text);
  if (!offer)
    return refuse(offer.error().message);
  // A node that says hello again (it was evicted, or it reconnects) starts afresh.
  if (auto old = st.by_agent.find(agent.address()); old != st.by_agent.end())
    lose(self, old->second, "it said hello again");
  auto id = ++st.last_id;
  proto::node_joined j;
  j.id = id;
  j.name = name;
  j.slots = offer->slots;
  j.types = std::move(offer->types);
  j.agent = agent;
  j.joined_at = st.env->clock->now();
  st.nodes[id] = known_node{agent, name, j.joined_at};
  st.by_agent[agent.address()] = id;
  self->monitor(agent);
  ++st.env->node_traffic->nodes_joined;
  // Its address, as the middleman knows it, goes with the news of its joining.
  auto rp = self->make_response_promise<std::string, std::uint64_t>();
  auto mm = self->home_system().middleman().actor_handle();
  auto welcome = [=](std::string address) mutable {
    auto known = self->state.nodes.find(id);
    if (known == self->state.nodes.end() || known->second.agent != agent) {
      rp.deliver(std::string{"lost before it was welcomed"}, std::uint64_t{0});
      return; // its link broke (or it said hello again) meanwhile
    }
    j.address = std::move(address);
    log_line("worker node '" + j.name + "' joined as node " + std::to_string(id) + " from "
             + j.address + " with " + std::to_string(j.slots) + " slots");
    // The welcome goes first: the scheduler may hand the node a run at once.
    rp.deliver(std::string{}, id);
    self->send(self->state.scheduler, proto::node_up_atom::value, std::move(j));
  };
  self->request(mm, std::chrono::seconds(5), caf::get_atom::value, agent.node())
    .then(
      [=](const caf::node_id&, const std::string& host, std::uint16_t port) mutable {
        welcome(host + ":" + std::to_string(port));
      },
      [=](caf::error&) mutable { welcome(to_string(agent.node())); });
  return rp;
}

caf::behavior gate_fn(gate_actor* self, env_ptr env, proto::scheduler_actor scheduler,
                      worker_listen_options opts) {
  auto& st = self->state;
  st.env = std::move(env);
  st.scheduler = std::move(scheduler);
  st.opts = std::move(opts);
  self->set_default_handler([](caf::scheduled_actor* me, caf::message_view&) {
    ++static_cast<gate_actor*>(me)->state.env->node_traffic->messages_dropped;
    return caf::result<caf::message>{caf::message{}};
  });
  self->set_down_handler([=](caf::down_msg& dm) {
    auto i = self->state.by_agent.find(dm.source);
    if (i != self->state.by_agent.end())
      lose(self, i->second, "its link broke (" + self->system().render(dm.reason) + ")");
  });
  arm_sweep(self);
  return {
    [=](proto::hello_atom, const std::string& name, const std::string& secret,
        const std::string& offer) { return on_hello(self, name, secret, offer); },
    [=](proto::heartbeat_atom, std::uint64_t id) {
      auto& st = self->state;
      if (!heard(self, id)) {
        // A node taken as lost (or one that never said hello) learns so.
        ++st.env->node_traffic->messages_dropped;
        if (auto sender = caf::actor_cast<caf::actor>(self->current_sender()))
          self->send(sender, proto::evict_atom::value, std::string{"unknown node"});
        return;
      }
      st.env->node_traffic->received(0);
      self->send(st.scheduler, proto::heartbeat_atom::value, id, st.env->clock->now());
    },
    [=](proto::sweep_atom) {
      auto& st = self->state;
      auto now = st.env->clock->now();
      auto timeout = st.opts.node_timeout.count();
      std::vector<std::uint64_t> silent;
      for (const auto& [id, n] : st.nodes)
        if (now - n.last_heard > timeout)
          silent.push_back(id);
      for (auto id : silent)
        lose(self, id, "silent for over " + std::to_string(timeout) + " ms");
      arm_sweep(self);
    },
    [=](proto::stop_atom) { self->quit(); },
  };
}

} // namespace

caf::actor spawn_node_gate(caf::actor_system& sys, env_ptr env,
                           proto::scheduler_actor scheduler, worker_listen_options opts) {
  return sys.spawn(gate_fn, std::move(env), std::move(scheduler), std::move(opts));
}

} // namespace jobrt
