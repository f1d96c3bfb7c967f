#include "facade/network.hpp"

#include <fstream>

#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/publish.hpp"
#include "caf/openssl/remote_actor.hpp"

namespace jobrt::network {

result<void> check_tls(const tls_files& tls) {
  if (!tls.enabled())
    return {};
  if (tls.certificate.empty() || tls.key.empty() || tls.ca_file.empty())
    return error{errc::invalid_argument,
                 "TLS needs all three files: certificate, key and ca_file"};
  for (const auto* f : {&tls.certificate, &tls.key, &tls.ca_file})
    if (!std::ifstream{*f})
      return error{errc::invalid_argument, "cannot read TLS file '" + *f + "'"};
  return {};
}

void load(caf::actor_system_config& cfg, const tls_files& tls) {
  cfg.load<caf::io::middleman>();
  if (!tls.enabled())
    return;
  cfg.load<caf::openssl::manager>();
  cfg.openssl_certificate = tls.certificate;
  cfg.openssl_key = tls.key;
  cfg.openssl_cafile = tls.ca_file;
}

result<void> check_loaded(caf::actor_system& sys, const tls_files& tls) {
  if (!sys.has_middleman())
    return error{errc::invalid_argument, "worker nodes need CAF's middleman: the host's actor "
                                         "system must load caf::io::middleman"};
  if (tls.enabled() && !sys.has_openssl_manager())
    return error{errc::invalid_argument, "TLS needs CAF's OpenSSL manager: the host's actor "
                                         "system must load caf::openssl::manager"};
  return {};
}

result<std::uint16_t> publish(caf::actor_system& sys, const caf::actor& whom,
                              const std::string& host, std::uint16_t port,
                              const tls_files& tls) {
  // SO_REUSEADDR: a coordinator restarted at once gets its port back, though
  // connections of the one before still linger in TIME_WAIT.
  auto bound = tls.enabled() ? caf::openssl::publish(whom, port, host.c_str(), true)
                             : sys.middleman().publish(whom, port, host.c_str(), true);
  if (!bound)
    return error{errc::invalid_argument, "cannot accept worker nodes on " + host + ":"
                                           + std::to_string(port) + ": "
                                           + sys.render(bound.error())};
  return *bound;
}

void unpublish(caf::actor_system& sys, const caf::actor& whom, std::uint16_t port) {
  // Best effort: the port closes with the actor system anyway.
  static_cast<void>(sys.middleman().unpublish(whom, port));
}

result<caf::actor> reach(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                         const tls_files& tls) {
  auto a = tls.enabled() ? caf::openssl::remote_actor(sys, host, port)
                         : sys.middleman().remote_actor(host, port);
  if (!a)
    return error{errc::timeout, "cannot reach the coordinator at " + host + ":"
                                  + std::to_string(port) + ": " + sys.render(a.error())};
  return *a;
}

} // namespace jobrt::network
