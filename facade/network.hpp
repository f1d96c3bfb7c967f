#pragma once

/// CAF's network layer for a coordinator and its worker nodes: loading the
/// middleman (and the OpenSSL manager for mutual TLS) into an actor system's
/// config, publishing the gate, and reaching it. Shared by facade/runtime.cpp
/// and facade/worker.cpp.

#include <cstdint>
#include <string>

#include "caf/fwd.hpp"

#include "jobrt/error.hpp"
#include "jobrt/nodes.hpp"

namespace jobrt::network {

/// All three files or none, and each one readable.
result<void> check_tls(const tls_files& tls);

/// Loads the middleman (and, with TLS, the OpenSSL manager and its files).
void load(caf::actor_system_config& cfg, const tls_files& tls);

/// Whether `sys` can publish or reach actors as `tls` asks (a host's system
/// must have loaded the modules itself).
result<void> check_loaded(caf::actor_system& sys, const tls_files& tls);

/// Publishes `whom` on `host`:`port` (0: any free port); the port bound.
result<std::uint16_t> publish(caf::actor_system& sys, const caf::actor& whom,
                              const std::string& host, std::uint16_t port,
                              const tls_files& tls);
void unpublish(caf::actor_system& sys, const caf::actor& whom, std::uint16_t port);

/// Connects to the actor published at `host`:`port`.
result<caf::actor> reach(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                         const tls_files& tls);

} // namespace jobrt::network
