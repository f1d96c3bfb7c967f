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
#include "actors/persistence.hpp"
#include "actors/protocol.hpp"
#include "actors/scheduler.hpp"

namespace json = boost::json;

namespace jobrt {

struct runtime::impl {
  runtime_options opts;
  // Declared first so that they are destroyed last: the host-less actor system.
  std::unique_ptr<caf::actor_system_config> own_cfg;
  std::unique_ptr<caf::actor_system> own_sys;
  caf::actor_system* sys = nullptr;
  std::unique_ptr<storage::job_store> store;
  std::shared_ptr<jobrt::clock> clock;
  proto::persistence_actor persistence;
  proto::fanout_actor events;
  proto::scheduler_actor scheduler;
  std::shared_ptr<std::atomic<std::size_t>> subscribers; ///< shared with the scheduler
  subscription first_subscriber; ///< `runtime_options::on_event`
  std::mutex stop_mtx;
  std::shared_mutex store_mtx; ///< readers on caller threads vs. closing the store
  std::atomic<bool> stopped{false};

  /// Sends `(atom, args..., reply)` to the scheduler and waits for the answer.
  template <class T, class Atom, class... Ts>
  result<T> ask(Atom atom, Ts&&... xs) {
    if (stopped.load())
      return error{errc::shutting_down, "the runtime is shut down"};
    auto rp = proto::make_reply<T>();
    auto fut = rp->get_future();
    caf::anon_send(scheduler, atom, std::forward<Ts>(xs)..., rp);
    if (fut.wait_for(bounded_wait(opts.call_timeout)) != std::future_status::ready)
      return error{errc::timeout, "the runtime did not answer within "
                                    + std::to_string(opts.call_timeout.count()) + " ms"};
    return fut.get();
  }

  /// Checks the options and fills in their defaults; opens nothing yet.
  static result<std::unique_ptr<impl>> make(runtime_options opts);
  /// Opens the store and spawns the actors on `sys`.
  result<void> open_and_spawn();
  void stop_actors();
};

namespace {

/// Owners are index keys, and LMDB keys hold at most 511 bytes.
constexpr std::size_t max_owner_bytes = 256;

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

/// Parses JSON text from a caller; never throws. The error names the byte offset.
result<json::value> parse_params(std::string_view text, std::size_t limit) {
  if (text.size() > limit)
    return error{errc::payload_too_large, "parameters are " + std::to_string(text.size())
                                            + " bytes, over the limit of "
                                            + std::to_string(limit)};
  json::stream_parser p;
  json::error_code ec;
  auto used = p.write(text.data(), text.size(), ec);
  if (!ec)
    p.finish(ec);
  if (ec)
    return error{errc::malformed_json, "malformed JSON at byte " + std::to_string(used) + ": "
                                         + ec.message()};
  return p.release();
}

} // namespace

result<std::unique_ptr<runtime::impl>> runtime::impl::make(runtime_options opts) {
  if (opts.storage == storage_kind::lmdb && opts.data_dir.empty())
    return error{errc::invalid_argument,
                 "runtime_options.data_dir is required (or storage = storage_kind::memory)"};
  if (opts.max_running == 0)
    return error{errc::invalid_argument, "runtime_options.max_running must be at least 1"};
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
  rt.scheduler = spawn_scheduler(*rt.sys, std::move(env));
  return {};
}

void runtime::impl::stop_actors() {
  std::lock_guard guard{stop_mtx};
  if (stopped.exchange(true))
    return;
  // Jobs stop at their next step and every pending write is committed.
  auto rp = proto::make_reply<void>();
  auto fut = rp->get_future();
  caf::anon_send(scheduler, proto::stop_atom::value, rp);
  fut.wait();
  clock->cancel_all();
  first_subscriber.cancel();
  caf::anon_send(events, proto::stop_atom::value);
  caf::anon_send_exit(scheduler, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(persistence, caf::exit_reason::user_shutdown);
  {
    caf::scoped_actor self{*sys};
    self->wait_for(scheduler, persistence, events);
  }
  scheduler = nullptr;
  persistence = nullptr;
  events = nullptr;
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

// -- jobs -----------------------------------------------------------------------------

namespace {

/// Checks one submit on the caller's thread: the owner, the type, the
/// parameters and their size. Nothing reaches the actors unless it passes.
result<void> check_submit(const runtime_options& opts, std::string_view type,
                          const json::value& params, const submit_options& so) {
  if (so.owner.size() > max_owner_bytes)
    return error{errc::invalid_argument, "owner is " + std::to_string(so.owner.size())
                                           + " bytes, over the limit of "
                                           + std::to_string(max_owner_bytes)};
  if (auto ok = opts.types->validate(type, params); !ok)
    return ok.error();
  if (has_non_finite(params))
    return error{errc::invalid_params, "parameters hold a number that is not finite"};
  auto size = json_size(params);
  if (size > opts.max_payload_bytes)
    return error{errc::payload_too_large, "parameters are " + std::to_string(size)
                                            + " bytes, over the limit of "
                                            + std::to_string(opts.max_payload_bytes)};
  return {};
}

} // namespace

result<job_id> runtime::submit(std::string_view type, const json::value& params,
                               const submit_options& opts) {
  auto& rt = *impl_;
  if (auto ok = check_submit(rt.opts, type, params, opts); !ok)
    return ok.error();
  proto::submit_request req{std::string{type}, params, opts};
  canonicalize_numbers(req.params);
  return rt.ask<job_id>(proto::submit_atom::value, std::move(req));
}

result<std::vector<job_id>> runtime::submit_many(std::string_view type,
                                                 std::vector<json::value> params,
                                                 const submit_options& opts) {
  auto& rt = *impl_;
  if (!opts.idempotency_key.empty())
    return error{errc::invalid_argument, "an idempotency key names one job; submit_many takes none"};
  for (std::size_t i = 0; i < params.size(); ++i)
    if (auto ok = check_submit(rt.opts, type, params[i], opts); !ok)
      return error{ok.error().code, "job " + std::to_string(i) + ": " + ok.error().message};
  if (params.empty())
    return std::vector<job_id>{};
  proto::bulk_submit_request req{std::string{type}, std::move(params), opts};
  for (auto& p : req.params)
    canonicalize_numbers(p);
  return rt.ask<std::vector<job_id>>(proto::submit_atom::value, std::move(req));
}

result<job_id> runtime::submit_json(std::string_view type, std::string_view params_json,
                                    const submit_options& opts) {
  auto params = parse_params(params_json, impl_->opts.max_payload_bytes);
  if (!params)
    return params.error();
  return submit(type, *params, opts);
}

result<void> runtime::pause(job_id id) {
  return impl_->ask<void>(proto::pause_atom::value, id);
}

result<void> runtime::resume(job_id id) {
  return impl_->ask<void>(proto::resume_atom::value, id);
}

result<void> runtime::cancel(job_id id) {
  return impl_->ask<void>(proto::cancel_atom::value, id);
}

result<void> runtime::retry(job_id id) {
  return impl_->ask<void>(proto::retry_atom::value, id);
}

// -- administration -------------------------------------------------------------------

result<void> runtime::remove(job_id id) {
  return impl_->ask<void>(proto::remove_atom::value, id);
}

result<std::size_t> runtime::clear(job_status status) {
  return impl_->ask<std::size_t>(proto::clear_atom::value, status);
}

result<void> runtime::force_fail(job_id id, std::string reason) {
  return impl_->ask<void>(proto::force_fail_atom::value, id, std::move(reason));
}

result<void> runtime::pause_type(std::string_view type, bool pause_running) {
  return impl_->ask<void>(proto::pause_type_atom::value, std::string{type}, pause_running);
}

result<void> runtime::resume_type(std::string_view type) {
  return impl_->ask<void>(proto::resume_type_atom::value, std::string{type}, false);
}

result<job_record> runtime::get(job_id id) {
  return impl_->ask<job_record>(proto::get_atom::value, id);
}

result<void> runtime::signal(job_id id, std::string_view name, boost::json::value payload) {
  constexpr std::size_t max_signal_name = 128;
  if (name.empty() || name.size() > max_signal_name)
    return error{errc::invalid_argument, "a signal's name must be 1 to "
                                           + std::to_string(max_signal_name) + " bytes long (got "
                                           + std::to_string(name.size()) + ")"};
  canonicalize_numbers(payload);
  if (has_non_finite(payload))
    return error{errc::invalid_argument,
                 "a signal's payload holds a number that is not finite (JSON cannot store it)"};
  auto size = json_size(payload);
  if (size > impl_->opts.max_payload_bytes)
    return error{errc::payload_too_large, "the signal's payload is " + std::to_string(size)
                                            + " bytes, over the limit of "
                                            + std::to_string(impl_->opts.max_payload_bytes)};
  job_signal s;
  s.name = std::string{name};
  s.payload = std::move(payload);
  return impl_->ask<void>(proto::signal_atom::value, id, std::move(s));
}

result<caf::actor> runtime::actor_of(job_id id) {
  return impl_->ask<caf::actor>(proto::actor_of_atom::value, id);
}

result<job_record> runtime::wait(job_id id, std::chrono::milliseconds timeout) {
  auto& rt = *impl_;
  if (rt.stopped.load())
    return error{errc::shutting_down, "the runtime is shut down"};
  auto rp = proto::make_reply<job_record>();
  auto fut = rp->get_future();
  caf::anon_send(rt.scheduler, proto::wait_atom::value, id, rp);
  if (fut.wait_for(bounded_wait(timeout)) == std::future_status::ready)
    return fut.get();
  caf::anon_send(rt.scheduler, proto::unwait_atom::value, id, std::move(rp));
  return error{errc::timeout, "job " + std::to_string(id) + " did not finish within "
                                + std::to_string(timeout.count()) + " ms"};
}

std::future<result<job_record>> runtime::wait_async(job_id id) {
  auto& rt = *impl_;
  auto rp = proto::make_reply<job_record>();
  auto fut = rp->get_future();
  if (rt.stopped.load())
    rp->set_value(error{errc::shutting_down, "the runtime is shut down"});
  else
    caf::anon_send(rt.scheduler, proto::wait_atom::value, id, std::move(rp));
  return fut;
}

result<list_page> runtime::list(const list_query& q) {
  auto& rt = *impl_;
  std::shared_lock reading{rt.store_mtx};
  if (!rt.store)
    return error{errc::shutting_down, "the runtime is shut down"};
  auto page = rt.store->list(q);
  reading.unlock();
  if (!page)
    return page.error();
  return rt.ask<list_page>(proto::live_progress_atom::value, std::move(*page));
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

result<runtime_stats> runtime::stats() {
  return impl_->ask<runtime_stats>(proto::stats_atom::value);
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

} // namespace jobrt
