#include "facade/network.hpp"

#include <fstream>

#include <dlfcn.h>

#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/publish.hpp"
#include "caf/openssl/remote_actor.hpp"

// -- a workaround for CAF 0.17.6's OpenSSL sessions ----------------------------------
//
// OpenSSL asks that a thread's error queue be empty before each TLS I/O call:
// SSL_get_error reads that queue, and an error left in it makes the next
// harmless "would block" look like a broken connection. libcaf_openssl never
// clears it (it drains the queue only in log statements, which Debian's build
// compiles out), so one failed handshake on the coordinator's port (a peer
// with a certificate from another CA) closed the next TLS link that merely had
// nothing to read: every established worker was lost. These definitions take
// the place of OpenSSL's own for libcaf_openssl (a symbol of the executable
// comes first in the dynamic linker's lookup), clear the queue, and call
// OpenSSL's. Nothing else changes; OpenSSL documents the clearing as required.
// tests/nodes: with_mutual_tls_failed_handshakes_of_a_stranger_leave_a_certified_workers_link_up.

namespace {

struct ssl_session_t; // OpenSSL's SSL, opaque here (no OpenSSL headers are needed)

template <class F>
F openssl_function(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

void clear_openssl_errors() {
  static const auto clear = reinterpret_cast<void (*)()>(::dlsym(RTLD_DEFAULT, "ERR_clear_error"));
  if (clear != nullptr)
    clear();
}

} // namespace

extern "C" {

int SSL_read(ssl_session_t* s, void* buf, int n) {
  static const auto real = openssl_function<int (*)(ssl_session_t*, void*, int)>("SSL_read");
  clear_openssl_errors();
  return real(s, buf, n);
}

int SSL_write(ssl_session_t* s, const void* buf, int n) {
  static const auto real =
    openssl_function<int (*)(ssl_session_t*, const void*, int)>("SSL_write");
  clear_openssl_errors();
  return real(s, buf, n);
}

int SSL_accept(ssl_session_t* s) {
  static const auto real = openssl_function<int (*)(ssl_session_t*)>("SSL_accept");
  clear_openssl_errors();
  return real(s);
}

int SSL_connect(ssl_session_t* s) {
  static const auto real = openssl_function<int (*)(ssl_session_t*)>("SSL_connect");
  clear_openssl_errors();
  return real(s);
}

} // extern "C"

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
