/// jobrt-server: the example job types behind an HTTP API, Server-Sent Events,
/// Prometheus metrics and a dashboard, all in one process.

#include <csignal>
#include <iostream>

#include <sys/resource.h>

#include <boost/asio/signal_set.hpp>

#include "jobrt/jobrt.hpp"

#include "api.hpp"
#include "http_server.hpp"
#include "metrics.hpp"
#include "options.hpp"

namespace {

/// Every event stream holds a socket: raise the soft limit on open files to
/// the hard one, so that thousands of streams do not need a wrapper script.
void raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return;
  // An unlimited hard limit still cannot be exceeded by fs.nr_open (2^20 by default).
  auto target = lim.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : lim.rlim_max;
  if (lim.rlim_cur >= target)
    return;
  lim.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0)
    std::cerr << "jobrt-server: cannot raise the open file limit\n";
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

int serve(const jobrt_server::server_options& o) {
  jobrt::runtime_options ro;
  ro.data_dir = o.data_dir;
  ro.max_running = o.max_running;
  ro.durable = o.durable;
  if (o.workers_port) {
    auto& w = ro.workers;
    w.port = *o.workers_port;
    w.host = o.workers_host;
    w.secret = o.workers_secret;
    w.tls = {o.workers_tls_cert, o.workers_tls_key, o.workers_tls_ca};
    w.node_timeout = std::chrono::milliseconds{o.node_timeout_ms};
    w.run_locally = o.run_locally;
  }
  auto rt = jobrt::runtime::start(ro);
  if (!rt) {
    std::cerr << "jobrt-server: cannot start the runtime: " << rt.error().message << '\n';
    return 1;
  }
  auto& runtime = **rt;
  int exit_code = 0;
  {
    jobrt_server::metrics m{runtime};
    jobrt_server::server_context ctx{runtime, {o.token, o.owner_tokens}, m};
    jobrt_server::server_settings ss;
    ss.host = o.host;
    ss.port = o.port;
    ss.io_threads = o.io_threads;
    ss.body_limit = o.body_limit;
    ss.header_limit = o.header_limit;
    ss.max_connections = o.max_connections;
    ss.read_timeout = std::chrono::milliseconds{o.read_timeout_ms};
    ss.sse.max_queued = o.sse_queue;
    jobrt_server::http_server server{ctx, ss};
    try {
      auto port = server.listen();
      std::cout << "listening on http://" << url_host(o.host) << ':' << port << std::endl;
      if (auto wp = runtime.workers_port())
        std::cout << "workers on " << url_host(o.workers_host) << ':' << *wp << std::endl;
      boost::asio::signal_set signals{server.io(), SIGINT, SIGTERM};
      signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (!ec)
          std::cerr << "jobrt-server: signal " << sig << ", shutting down\n";
        server.stop();
      });
      server.run();
    } catch (const std::exception& e) {
      std::cerr << "jobrt-server: " << e.what() << '\n';
      exit_code = 1;
    }
    m.stop();
  }
  // Running jobs stop at their next step and resume from their checkpoint on the next start.
  runtime.shutdown();
  return exit_code;
}

} // namespace

int main(int argc, char** argv) {
  auto p = jobrt_server::parse_options(argc, argv);
  if (!p.error.empty()) {
    std::cerr << "jobrt-server: " << p.error << "\n\n" << jobrt_server::usage_text();
    return 2;
  }
  if (p.help) {
    std::cout << jobrt_server::usage_text();
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();
  return serve(p.opts);
}
