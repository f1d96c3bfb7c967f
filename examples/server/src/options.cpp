#include "options.hpp"

#include <cstdlib>
#include <fstream>
#include <limits>
#include <utility>

namespace jobrt_server {

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool parse_number(const std::string& v, std::size_t max, std::size_t& out) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9)
    return false;
  auto n = std::stoul(v);
  if (n > max)
    return false;
  out = n;
  return true;
}

bool flag_on(const std::string& value) {
  return value.empty() || value == "true" || value == "1" || value == "yes";
}

/// Applies one setting of worker nodes; returns an error message, or empty.
std::string apply_workers(server_options& o, const std::string& key, const std::string& value) {
  std::size_t n = 0;
  if (key == "workers-port") {
    if (!parse_number(value, 65535, n))
      return "--workers-port must be a number from 0 to 65535";
    o.workers_port = static_cast<unsigned short>(n);
    return {};
  }
  if (key == "workers-host") {
    if (value.empty())
      return "--workers-host needs an address";
    o.workers_host = value;
  } else if (key == "workers-secret") {
    if (value.empty())
      return "--workers-secret must not be empty";
    o.workers_secret = value;
  } else if (key == "workers-tls-cert" || key == "workers-tls-key" || key == "workers-tls-ca") {
    if (value.empty())
      return "--" + key + " needs a file";
    (key == "workers-tls-cert" ? o.workers_tls_cert
     : key == "workers-tls-key" ? o.workers_tls_key : o.workers_tls_ca) = value;
  } else if (key == "node-timeout-ms") {
    if (!parse_number(value, 3'600'000, n) || n < 100)
      return "--node-timeout-ms must be a number of milliseconds from 100 to 3600000";
    o.node_timeout_ms = n;
  } else if (key == "no-local-jobs") {
    o.run_locally = !flag_on(value);
  } else {
    return "unknown option '" + key + "'";
  }
  if (o.workers_setting.empty())
    o.workers_setting = key;
  return {};
}

/// The worker settings together: each needs --workers-port, which needs a
/// secret or all three TLS files.
std::string check_workers(const server_options& o) {
  if (!o.workers_port) {
    if (!o.workers_setting.empty())
      return "--" + o.workers_setting + " needs --workers-port";
    return {};
  }
  int tls = !o.workers_tls_cert.empty() + !o.workers_tls_key.empty() + !o.workers_tls_ca.empty();
  if (tls != 0 && tls != 3)
    return "--workers-tls-cert, --workers-tls-key and --workers-tls-ca go together: all three or none";
  if (tls == 0 && o.workers_secret.empty())
    return "--workers-port needs --workers-secret (or JOBRT_WORKERS_SECRET), or the TLS files";
  return {};
}

/// Applies one setting; returns an error message, or empty.
std::string apply(server_options& o, const std::string& key, const std::string& value) {
  std::size_t n = 0;
  if (key == "data-dir") {
    if (value.empty())
      return "--data-dir needs a directory";
    o.data_dir = value;
  } else if (key == "host") {
    o.host = value;
  } else if (key == "port") {
    if (!parse_number(value, 65535, n))
      return "--port must be a number from 0 to 65535";
    o.port = static_cast<unsigned short>(n);
  } else if (key == "max-running") {
    if (!parse_number(value, 100000, n) || n == 0)
      return "--max-running must be a positive number";
    o.max_running = n;
  } else if (key == "io-threads") {
    if (!parse_number(value, 64, n) || n == 0)
      return "--io-threads must be a number from 1 to 64";
    o.io_threads = n;
  } else if (key == "body-limit") {
    if (!parse_number(value, std::size_t{1} << 30, n) || n == 0)
      return "--body-limit must be a number of bytes from 1 to 1073741824";
    o.body_limit = n;
  } else if (key == "header-limit") {
    // Beast keeps one field in at most 64 KiB; a larger limit would let one through.
    if (!parse_number(value, 64 * 1024, n) || n < 1024)
      return "--header-limit must be a number of bytes from 1024 to 65536";
    o.header_limit = n;
  } else if (key == "max-connections") {
    if (!parse_number(value, 1'000'000, n) || n == 0)
      return "--max-connections must be a number from 1 to 1000000";
    o.max_connections = n;
  } else if (key == "read-timeout-ms") {
    if (!parse_number(value, 3'600'000, n) || n < 100)
      return "--read-timeout-ms must be a number of milliseconds from 100 to 3600000";
    o.read_timeout_ms = n;
  } else if (key == "sse-queue") {
    if (!parse_number(value, 1'000'000, n) || n == 0)
      return "--sse-queue must be a number from 1 to 1000000";
    o.sse_queue = n;
  } else if (key.compare(0, 8, "workers-") == 0 || key == "node-timeout-ms" || key == "no-local-jobs") {
    return apply_workers(o, key, value);
  } else if (key == "token") {
    o.token = value;
  } else if (key == "owner-token") {
    auto eq = value.find('=');
    if (eq == 0 || eq == std::string::npos || eq + 1 == value.size())
      return "--owner-token must be TOKEN=OWNER";
    o.owner_tokens[value.substr(0, eq)] = value.substr(eq + 1);
  } else if (key == "no-fsync") {
    o.durable = !flag_on(value);
  } else {
    return "unknown option '" + key + "'";
  }
  return {};
}

std::string load_config(server_options& o, const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return "cannot read config file '" + path + "'";
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    auto hash = line.find('#');
    line = trim(line.substr(0, hash));
    if (line.empty())
      continue;
    auto eq = line.find('=');
    auto key = trim(line.substr(0, eq));
    auto value = eq == std::string::npos ? std::string{} : trim(line.substr(eq + 1));
    if (auto err = apply(o, key, value); !err.empty())
      return path + ":" + std::to_string(no) + ": " + err;
  }
  return {};
}

bool takes_no_value(const std::string& key) {
  return key == "no-fsync" || key == "no-local-jobs" || key == "help";
}

} // namespace

parsed_options parse_options(int argc, char** argv) {
  parsed_options p;
  std::vector<std::pair<std::string, std::string>> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h")
      arg = "--help";
    if (arg.rfind("--", 0) != 0) {
      p.error = "unexpected argument '" + arg + "'";
      return p;
    }
    auto key = arg.substr(2);
    std::string value;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (!takes_no_value(key)) {
      if (i + 1 >= argc) {
        p.error = "--" + key + " needs a value";
        return p;
      }
      value = argv[++i];
    }
    flags.emplace_back(key, value);
  }
  // The environment first, then the config file, so that flags override both.
  if (const char* secret = std::getenv("JOBRT_WORKERS_SECRET"))
    p.opts.workers_secret = secret;
  for (const auto& [key, value] : flags)
    if (key == "config")
      if (p.error = load_config(p.opts, value); !p.error.empty())
        return p;
  for (const auto& [key, value] : flags) {
    if (key == "help") {
      p.help = true;
    } else if (key != "config") {
      if (p.error = apply(p.opts, key, value); !p.error.empty())
        return p;
    }
  }
  if (!p.help)
    p.error = check_workers(p.opts);
  return p;
}

const char* usage_text() {
  return R"(Usage: jobrt-server [options]

Runs the jobrt example job types behind an HTTP API and a dashboard.

Options:
  --data-dir DIR            job store directory (default: ./jobrt-data)
  --host ADDR               address to listen on (default: 127.0.0.1)
  --port N                  port (default: 8080; 0 = any free port)
  --max-running N           jobs running at once (default: 8)
  --token TOKEN             require this bearer token (full access)
  --owner-token TOKEN=OWNER a token that sees and steers only OWNER's jobs (repeatable)
  --config FILE             read key=value settings (the option names without --)
  --io-threads N            HTTP I/O threads (default: 2)
  --body-limit BYTES        largest request body (default: 1048576; larger: 413)
  --header-limit BYTES      headers and trailers of a request together (default: 16384; larger: 431)
  --max-connections N       open request connections (default: 1024; more: 503 and close)
  --read-timeout-ms MS      time to read one request, and keep-alive idle time (default: 30000)
  --sse-queue N             events queued per event stream (default: 256)
  --no-fsync                do not fsync writes (faster; survives a process crash only)

Worker nodes (jobrt-worker --coordinator HOST:PORT):
  --workers-port N          accept worker nodes on this port (0 = any free port)
  --workers-host ADDR       address for worker nodes (default: 127.0.0.1)
  --workers-secret S        the secret a worker must present (or JOBRT_WORKERS_SECRET)
  --workers-tls-cert F --workers-tls-key F --workers-tls-ca F
                            mutual TLS with worker nodes (all three, PEM)
  --node-timeout-ms MS      a silent node is lost after this long (default: 3000; 100..3600000)
  --no-local-jobs           run jobs only on worker nodes, none in this process

  --help                    show this text

The first line on stdout is "listening on http://HOST:PORT"; with
--workers-port, the next is "workers on HOST:PORT".
)";
}

} // namespace jobrt_server
