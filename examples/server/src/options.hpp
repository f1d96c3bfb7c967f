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
};

struct parsed_options {
  server_options opts;
  bool help = false;
  std::string error; ///< non-empty: a usage error
};

parsed_options parse_options(int argc, char** argv);

const char* usage_text();

} // namespace jobrt_server
