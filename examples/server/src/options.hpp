#pragma once

/// Command line and config file of jobrt-server. A config file holds the same
/// settings as the flags, one `key=value` per line (`#` starts a comment), e.g.
///
///   data-dir = /var/lib/jobrt
///   port = 8080
///   owner-token = s3cret=acme
///
/// Flags given on the command line win over the file.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace jobrt_server {

struct server_options {
  std::string data_dir = "jobrt-data";
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  std::size_t max_running = 8;
  std::string token;                               ///< full access; empty = none
  std::map<std::string, std::string> owner_tokens; ///< token -> owner
  bool durable = true;                             ///< false with --no-fsync
  std::size_t io_threads = 2;
  // Limits of the HTTP layer (see "Limits" in examples/server/README.md).
  std::size_t body_limit = std::size_t{1} << 20;     ///< bytes of a request body
  std::size_t header_limit = 16 * 1024;              ///< bytes of headers and trailers together
  std::size_t max_connections = 1024;                ///< open request connections
  std::size_t read_timeout_ms = 30'000;              ///< one whole request; keep-alive idle time
  std::size_t sse_queue = 256;                       ///< events queued per event stream
  // Worker nodes (jobrt-worker): none unless `workers_port` is set.
  std::optional<unsigned short> workers_port;        ///< 0 = any free port
  std::string workers_host = "127.0.0.1";
  std::string workers_secret;                        ///< also from JOBRT_WORKERS_SECRET
  std::string workers_tls_cert, workers_tls_key, workers_tls_ca;
  std::size_t node_timeout_ms = 3000;
  bool run_locally = true;                           ///< false with --no-local-jobs
  /// The first workers setting given (not the secret from the environment),
  /// so that one without --workers-port is refused.
  std::string workers_setting;
};

struct parsed_options {
  server_options opts;
  bool help = false;
  std::string error; ///< non-empty: a usage error
};

parsed_options parse_options(int argc, char** argv);

const char* usage_text();

} // namespace jobrt_server
