/// jobrt-worker: a worker node with the example job types. It joins the
/// coordinator at --coordinator (a jobrt-server started with --workers-port),
/// runs the jobs it is handed, and joins again whenever the link drops.
///
///   jobrt-worker --coordinator 127.0.0.1:7300 --secret s3cret --slots 4
///
/// The secret can also come from the environment (JOBRT_WORKERS_SECRET), so it
/// does not show in the process list.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "jobrt/jobrt.hpp"

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) {
  stop_requested = 1;
}

const char* usage =
  "usage: jobrt-worker --coordinator HOST:PORT [options]\n"
  "  --coordinator HOST:PORT  the coordinator's workers port (jobrt-server --workers-port)\n"
  "  --secret S               the coordinator's --workers-secret (or JOBRT_WORKERS_SECRET)\n"
  "  --slots N                jobs run at once (default 4)\n"
  "  --name NAME              how the coordinator lists this node (default host:pid)\n"
  "  --tls-cert F --tls-key F --tls-ca F   mutual TLS (all three; docs/scale-out.md)\n"
  "  --threads N              actor system threads (default: cores - 1, at least 2)\n";

bool parse_count(const std::string& text, std::size_t most, std::size_t& out) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoul(text);
  return out >= 1 && out <= most;
}

} // namespace

int main(int argc, char** argv) {
  jobrt::worker_options o;
  if (const char* s = std::getenv("JOBRT_WORKERS_SECRET"))
    o.secret = s;
  bool have_coordinator = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << "jobrt-worker: " << arg << " needs a value\n\n" << usage;
      return 2;
    }
    std::string value = argv[++i];
    std::size_t n = 0;
    if (arg == "--coordinator") {
      auto colon = value.rfind(':');
      if (colon == std::string::npos || colon == 0
          || !parse_count(value.substr(colon + 1), 65535, n)) {
        std::cerr << "jobrt-worker: --coordinator must be HOST:PORT\n";
        return 2;
      }
      o.coordinator_host = value.substr(0, colon);
      o.coordinator_port = static_cast<std::uint16_t>(n);
      have_coordinator = true;
    } else if (arg == "--secret") {
      o.secret = value;
    } else if (arg == "--slots" && parse_count(value, 100000, n)) {
      o.slots = n;
    } else if (arg == "--threads" && parse_count(value, 256, n)) {
      o.worker_threads = n;
    } else if (arg == "--name") {
      o.name = value;
    } else if (arg == "--tls-cert") {
      o.tls.certificate = value;
    } else if (arg == "--tls-key") {
      o.tls.key = value;
    } else if (arg == "--tls-ca") {
      o.tls.ca_file = value;
    } else {
      std::cerr << "jobrt-worker: unknown option or bad value: " << arg << ' ' << value
                << "\n\n" << usage;
      return 2;
    }
  }
  if (!have_coordinator) {
    std::cerr << "jobrt-worker: --coordinator is required\n\n" << usage;
    return 2;
  }
  auto w = jobrt::worker::start(o);
  if (!w) {
    std::cerr << "jobrt-worker: " << w.error().message << '\n';
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::cout << "jobrt-worker: joining " << o.coordinator_host << ':' << o.coordinator_port
            << " with " << o.slots << " slots" << std::endl;
  bool was_connected = false;
  while (stop_requested == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto s = (*w)->stats();
    if (s.connected != was_connected) {
      was_connected = s.connected;
      if (s.connected)
        std::cout << "jobrt-worker: joined as node " << s.node_id << std::endl;
      else
        std::cout << "jobrt-worker: left the coordinator (" << s.last_error
                  << "); joining again" << std::endl;
    }
  }
  std::cout << "jobrt-worker: stopping; its runs go back to the coordinator's queue" << std::endl;
  (*w)->stop();
  return 0;
}
