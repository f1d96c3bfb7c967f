#include "jobrt/worker.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "caf/all.hpp"

#include "jobrt/registry.hpp"
#include "jobrt/runtime.hpp"

#include "actors/env.hpp"
#include "actors/node_agent.hpp"
#include "facade/network.hpp"

namespace jobrt {

struct worker::impl {
  worker_options opts;
  agent_config agent_cfg;
  // Declared before the actor system: destroyed after it.
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  env_ptr env;
  std::shared_ptr<agent_report> report = std::make_shared<agent_report>();
  std::mutex mtx;
  std::condition_variable wake;
  bool stopping = false;
  caf::actor agent; ///< the one facing the coordinator now; null between joins
  std::thread joiner;

  /// Joins, waits while joined, and joins again with backoff, until stopped.
  void join_loop() {
    auto delay = opts.reconnect_first;
    for (;;) {
      {
        std::lock_guard lock{mtx};
        if (stopping)
          return;
      }
      std::uint64_t joins_before = 0;
      {
        std::lock_guard lock{report->mtx};
        joins_before = report->stats.joins;
      }
      auto gate = network::reach(*sys, opts.coordinator_host, opts.coordinator_port, opts.tls);
      if (gate) {
        auto a = spawn_node_agent(*sys, env, *gate, agent_cfg, report);
        {
          std::lock_guard lock{mtx};
          agent = a;
          if (stopping)
            caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
        }
        {
          caf::scoped_actor self{*sys}; // gone before the system may shut down
          self->wait_for(a);
        }
        std::lock_guard lock{mtx};
        agent = nullptr;
      } else {
        auto why = gate.error().message;
        report->update([&](worker_stats& s) { s.last_error = why; });
      }
      std::unique_lock lock{report->mtx};
      bool was_welcomed = report->stats.joins > joins_before;
      lock.unlock();
      if (was_welcomed) // it was in: the next attempt waits the least
        delay = opts.reconnect_first;
      std::unique_lock wait{mtx};
      wake.wait_for(wait, delay, [&] { return stopping; });
      delay = std::min(delay * 2, opts.reconnect_last);
    }
  }
};

namespace {

std::string default_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0)
    host[0] = '\0';
  return std::string{host[0] != '\0' ? host : "worker"} + ":" + std::to_string(::getpid());
}

} // namespace

result<std::unique_ptr<worker>> worker::start(worker_options opts) {
  if (opts.coordinator_port == 0)
    return error{errc::invalid_argument, "worker_options.coordinator_port is required"};
  if (opts.slots == 0 || opts.slots > 100000)
    return error{errc::invalid_argument, "worker_options.slots must be 1 to 100000"};
  if (opts.secret.empty() && !opts.tls.enabled())
    return error{errc::invalid_argument, "a worker needs the coordinator's secret, or TLS files"};
  if (auto ok = network::check_tls(opts.tls); !ok)
    return ok.error();
  if (opts.heartbeat_interval.count() < 10)
    return error{errc::invalid_argument, "worker_options.heartbeat_interval must be at least 10 ms"};
  if (opts.reconnect_first.count() < 1 || opts.reconnect_last < opts.reconnect_first)
    return error{errc::invalid_argument, "worker_options.reconnect_first must be at least 1 ms, "
                                         "and reconnect_last at least as long"};
  if (opts.types == nullptr)
    opts.types = &registry::global();
  if (opts.name.empty())
    opts.name = default_name();
  if (opts.name.size() > 255)
    return error{errc::invalid_argument, "worker_options.name is over 255 bytes"};
  node_wire::offer offer;
  offer.slots = opts.slots;
  if (opts.types_run.empty()) {
    for (const auto& t : opts.types->list())
      offer.types[t.name] = 0;
  } else {
    for (const auto& [name, cap] : opts.types_run) {
      if (!opts.types->find(name))
        return error{errc::unknown_job_type, "worker_options.types_run names '" + name
                                               + "', which is not registered"};
      offer.types[name] = cap;
    }
  }
  if (offer.types.empty())
    return error{errc::invalid_argument, "a worker with no job types registered has nothing to run"};

  auto p = std::make_unique<impl>();
  p->cfg = std::make_unique<caf::actor_system_config>();
  auto threads = opts.worker_threads > 0 ? opts.worker_threads : runtime::default_worker_threads();
  p->cfg->set("scheduler.max-threads", threads);
  p->cfg->set("scheduler.max-throughput", std::size_t{64}); // as in runtime::start
  network::load(*p->cfg, opts.tls);
  p->sys = std::make_unique<caf::actor_system>(*p->cfg);

  auto env = std::make_shared<actor_env>();
  env->store = nullptr; // the store is the coordinator's
  env->types = opts.types;
  env->clock = make_system_clock();
  env->opts.max_payload_bytes = opts.max_payload_bytes;
  env->opts.max_suspended = opts.max_suspended;
  env->opts.services = opts.services;
  env->commits = commit_site::persistence_actor;
  p->env = std::move(env);
  p->agent_cfg.name = opts.name;
  p->agent_cfg.secret = opts.secret;
  p->agent_cfg.offer = std::move(offer);
  p->agent_cfg.heartbeat_interval = opts.heartbeat_interval;
  p->opts = std::move(opts);
  auto* raw = p.get();
  p->joiner = std::thread{[raw] { raw->join_loop(); }};
  return std::unique_ptr<worker>{new worker(std::move(p))};
}

worker::worker(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

worker::~worker() {
  stop();
}

bool worker::wait_joined(std::chrono::milliseconds timeout) {
  std::unique_lock lock{impl_->report->mtx};
  return impl_->report->changed.wait_for(lock, timeout,
                                         [&] { return impl_->report->stats.connected; });
}

worker_stats worker::stats() const {
  std::lock_guard lock{impl_->report->mtx};
  return impl_->report->stats;
}

void worker::stop() {
  if (!impl_)
    return;
  {
    std::lock_guard lock{impl_->mtx};
    if (impl_->stopping && !impl_->joiner.joinable())
      return;
    impl_->stopping = true;
    if (impl_->agent)
      caf::anon_send_exit(impl_->agent, caf::exit_reason::user_shutdown);
  }
  impl_->wake.notify_all();
  if (impl_->joiner.joinable())
    impl_->joiner.join();
}

} // namespace jobrt
