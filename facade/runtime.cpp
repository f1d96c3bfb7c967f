#include "jobrt/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <boost/json.hpp>

#include "caf/all.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "actors/env.hpp"
#include "actors/events.hpp"
#include "actors/node_gate.hpp"
#include "actors/persistence.hpp"
#include "actors/protocol.hpp"
#include "actors/scheduler.hpp"
#include "facade/network.hpp"
#include "facade/runtime_impl.hpp"

namespace json = boost::json;

namespace jobrt {

namespace {

result<std::unique_ptr<storage::job_store>> open_store(const runtime_options& opts) {
  if (opts.storage == storage_kind::memory)
    return storage::job_store::open_in_memory();
  storage::store_config sc;
  sc.path = opts.data_dir;
  sc.map_size = opts.initial_map_size;
  sc.max_map_size = opts.max_map_size;
  sc.sync = opts.durable;
  return storage::job_store::open(sc);
}

/// Counts `inner` among the runtime's subscribers until it is cancelled.
subscription counted(std::shared_ptr<std::atomic<std::size_t>> count, subscription inner) {
  auto held = std::make_shared<subscription>(std::move(inner));
  return subscription{[count = std::move(count), held] {
    held->cancel();
    --*count;
  }};
}

} // namespace

result<std::unique_ptr<runtime::impl>> runtime::impl::make(runtime_options opts) {
  if (opts.storage == storage_kind::lmdb && opts.data_dir.empty())
    return error{errc::invalid_argument,
                 "runtime_options.data_dir is required (or storage = storage_kind::memory)"};
  if (opts.max_running == 0)
    return error{errc::invalid_argument, "runtime_options.max_running must be at least 1"};
  if (opts.workers.port) {
    if (opts.workers.secret.empty() && !opts.workers.tls.enabled())
      return error{errc::invalid_argument, "workers.port needs workers.secret or workers.tls: "
                                           "a worker node must prove itself"};
    if (auto ok = network::check_tls(opts.workers.tls); !ok)
      return ok.error();
    if (opts.workers.node_timeout.count() < 100)
      return error{errc::invalid_argument, "workers.node_timeout must be at least 100 ms"};
  }
  if (opts.types == nullptr)
    opts.types = &registry::global();
  if (!opts.clock)
    opts.clock = make_system_clock();
  auto p = std::make_unique<runtime::impl>();
  p->opts = std::move(opts);
  p->clock = p->opts.clock;
  return p;
}

result<void> runtime::impl::open_and_spawn() {
  auto& rt = *this;
  auto store = open_store(rt.opts);
  if (!store)
    return store.error();
  rt.store = std::move(*store);
  auto env = std::make_shared<actor_env>();
  env->store = rt.store.get();
  env->types = rt.opts.types;
  env->clock = rt.clock;
  env->opts = rt.opts;
  // Durable commits wait for fsync, so the writer gets a thread of its own. Without
  // fsync a commit takes microseconds, and a thread of its own would cost two
  // thread wake-ups per write instead.
  rt.persistence = spawn_persistence(*rt.sys, *rt.store,
                                     rt.opts.storage == storage_kind::lmdb && rt.opts.durable);
  rt.events = spawn_event_fanout(*rt.sys);
  env->persistence = rt.persistence;
  env->commits = rt.opts.storage == storage_kind::memory ? commit_site::in_place
                                                        : commit_site::persistence_actor;
  env->events = rt.events;
  rt.subscribers = env->subscribers;
  // The scheduler recovers and starts jobs as soon as it exists: a subscriber
  // that must hear their first events is subscribed before.
  if (rt.opts.on_event) {
    ++*rt.subscribers;
    rt.first_subscriber = counted(rt.subscribers,
                                  subscribe_callback(*rt.sys, rt.events, rt.opts.on_event, {}));
  }
  // Only threads the runtime owns are reniced; a host's workers are the host's.
  // The target is relative to the thread that starts the runtime.
  if (rt.own_sys && rt.opts.worker_nice > 0) {
    errno = 0;
    int host_nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
    if (errno == 0)
      env->job_thread_nice = std::min(19, host_nice + rt.opts.worker_nice);
  }
  env_ptr shared_env = env;
  rt.scheduler = spawn_scheduler(*rt.sys, std::move(env));
  if (!rt.opts.workers.port)
    return {};
  const auto& workers = rt.opts.workers;
  rt.gate = spawn_node_gate(*rt.sys, shared_env, rt.scheduler, workers);
  auto port = network::publish(*rt.sys, rt.gate, workers.host, *workers.port, workers.tls);
  if (!port) {
    stop_actors();
    return port.error();
  }
  rt.workers_port = *port;
  return {};
}

void runtime::impl::stop_actors() {
  std::lock_guard guard{stop_mtx};
  if (stopped.exchange(true))
    return;
  // Jobs stop at their next step and every pending write is committed.
  auto stopped_jobs = std::make_shared<std::promise<void>>();
  auto fut = stopped_jobs->get_future();
  auto when_stopped = [stopped_jobs](result<void>) { stopped_jobs->set_value(); };
  if (gate && workers_port)
    network::unpublish(*sys, gate, *workers_port);
  caf::anon_send(scheduler, proto::stop_atom::value, proto::make_reply<void>(when_stopped));
  fut.wait();
  if (gate)
    caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
  clock->cancel_all();
  first_subscriber.cancel();
  caf::anon_send(events, proto::stop_atom::value);
  caf::anon_send_exit(scheduler, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(persistence, caf::exit_reason::user_shutdown);
  {
    caf::scoped_actor self{*sys};
    self->wait_for(scheduler, persistence, events);
    if (gate)
      self->wait_for(gate);
  }
  // The handles stay as they are: a call racing this shutdown may still read
  // them, and its message then reaches no actor (its reply answers shutting_down).
  std::unique_lock closing{store_mtx};
  store.reset(); // after the writer is gone
}

runtime::runtime(std::unique_ptr<impl> p) : impl_(std::move(p)) {
  // nop
}

runtime::~runtime() {
  shutdown();
}

namespace {

/// The worker threads of a runtime's own actor system with these options.
std::size_t worker_count(const runtime_options& opts) {
  return opts.worker_threads > 0 ? opts.worker_threads : runtime::default_worker_threads();
}

} // namespace

result<std::unique_ptr<runtime>> runtime::start(runtime_options opts) {
  if (!opts.scheduler_policy.empty() && opts.scheduler_policy != "stealing"
      && opts.scheduler_policy != "sharing")
    return error{errc::invalid_argument, "scheduler_policy must be 'stealing', 'sharing' or empty, "
                                         "not '" + opts.scheduler_policy + "'"};
  auto p = impl::make(std::move(opts));
  if (!p)
    return p.error();
  auto& rt = **p;
  rt.own_cfg = std::make_unique<caf::actor_system_config>();
  auto workers = worker_count(rt.opts);
  rt.own_cfg->set("scheduler.max-threads", workers);
  auto policy = rt.opts.scheduler_policy.empty() ? default_scheduler_policy(rt.opts)
                                                  : rt.opts.scheduler_policy;
  if (policy == "stealing" && workers == 1)
    log_line("scheduler_policy 'stealing' with one worker thread: two actors that keep "
             "messaging each other can hold it while the scheduler waits ('sharing' cannot)");
  rt.own_cfg->set("scheduler.policy", caf::atom_from_string(policy));
  // A job actor always has its next step in its mailbox; with CAF's default
  // (unlimited) max-throughput it would keep its worker thread until the job
  // ends, and a few long jobs would starve the scheduler and the control calls.
  rt.own_cfg->set("scheduler.max-throughput", std::size_t{64});
  if (rt.opts.workers.port)
    network::load(*rt.own_cfg, rt.opts.workers.tls);
  rt.own_sys = std::make_unique<caf::actor_system>(*rt.own_cfg);
  rt.sys = rt.own_sys.get();
  if (auto r = rt.open_and_spawn(); !r)
    return r.error();
  return std::unique_ptr<runtime>{new runtime(std::move(*p))};
}

std::size_t runtime::default_worker_threads() {
  auto cores = static_cast<std::size_t>(std::thread::hardware_concurrency());
  return std::max<std::size_t>(2, cores > 1 ? cores - 1 : 1);
}

std::string runtime::default_scheduler_policy(const runtime_options& opts) {
  // One worker: stealing has nothing to steal from, and its last-in-first-out
  // local queue can let two actors that keep messaging each other hold it.
  if (worker_count(opts) == 1)
    return "sharing";
  // LMDB: the actors wait on commits that take tens of microseconds or more
  // (and, when durable, are answered from the writer's own thread). A sharing
  // worker is woken for the answer at once; an idle stealing one finds it at its
  // next poll, and sleeps between polls.
  if (opts.storage == storage_kind::lmdb)
    return "sharing";
  // In memory, actors mostly message each other, and stealing's local queues
  // are faster.
  return "stealing";
}

result<std::unique_ptr<runtime>> runtime::start(caf::actor_system& sys, runtime_options opts) {
  auto p = impl::make(std::move(opts));
  if (!p)
    return p.error();
  (*p)->sys = &sys;
  if ((*p)->opts.workers.port)
    if (auto ok = network::check_loaded(sys, (*p)->opts.workers.tls); !ok)
      return ok.error();
  auto throughput = caf::get_or(sys.config(), "scheduler.max-throughput",
                                std::numeric_limits<std::size_t>::max());
  if (throughput > 1000)
    log_line("the host's actor system has scheduler.max-throughput "
             + std::to_string(throughput)
             + "; long jobs will hold worker threads between steps (64 is a good value)");
  if (auto r = (*p)->open_and_spawn(); !r)
    return r.error();
  return std::unique_ptr<runtime>{new runtime(std::move(*p))};
}

subscription runtime::subscribe(std::function<void(const job_event&)> callback,
                                event_filter filter) {
  if (impl_->stopped.load())
    return subscription{};
  ++*impl_->subscribers; // before subscribing: no change after this call goes unpublished
  return counted(impl_->subscribers, subscribe_callback(*impl_->sys, impl_->events,
                                                        std::move(callback), std::move(filter)));
}

subscription runtime::subscribe(const caf::actor& subscriber, event_filter filter) {
  if (impl_->stopped.load())
    return subscription{};
  ++*impl_->subscribers;
  return counted(impl_->subscribers,
                 subscribe_actor(*impl_->sys, impl_->events, subscriber, std::move(filter)));
}

// -- the runtime ----------------------------------------------------------------------

std::vector<job_type_info> runtime::job_types() const {
  return impl_->opts.types->list();
}

void runtime::shutdown() {
  if (impl_)
    impl_->stop_actors();
}

caf::actor_system& runtime::system() {
  return *impl_->sys;
}

const runtime_options& runtime::options() const {
  return impl_->opts;
}

std::optional<std::uint16_t> runtime::workers_port() const {
  return impl_->workers_port;
}

} // namespace jobrt
