#pragma once

/// The facade's private state, shared by its two files: runtime.cpp (start,
/// shutdown, subscriptions) and calls.cpp (the calls, in their three forms).

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "caf/all.hpp"

#include "jobrt/runtime.hpp"

#include "actors/protocol.hpp"
#include "storage/job_store.hpp"

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
  caf::actor gate; ///< for worker nodes (actors/node_gate.hpp); null without them
  std::optional<std::uint16_t> workers_port;
  std::shared_ptr<std::atomic<std::size_t>> subscribers; ///< shared with the scheduler
  subscription first_subscriber; ///< `runtime_options::on_event`
  std::mutex stop_mtx;
  std::shared_mutex store_mtx; ///< readers on caller threads vs. closing the store
  std::atomic<bool> stopped{false};

  /// Sends `(atom, args..., reply)` to the scheduler; `done` gets the answer.
  template <class T, class Atom, class... Ts>
  void call(completion<T> done, Atom atom, Ts&&... xs) {
    send(proto::make_reply<T>(std::move(done)), atom, std::forward<Ts>(xs)...);
  }

  /// The same with a reply the caller keeps (`wait` takes it back on timeout).
  template <class T, class Atom, class... Ts>
  void send(proto::reply<T> rp, Atom atom, Ts&&... xs) {
    if (stopped.load())
      rp->set_value(error{errc::shutting_down, "the runtime is shut down"});
    else
      caf::anon_send(scheduler, atom, std::forward<Ts>(xs)..., std::move(rp));
  }

  /// Runs the asynchronous call `start(done)` and waits for its answer, at
  /// most `call_timeout`: the synchronous form of every call.
  template <class T, class Start>
  result<T> await(Start&& start) {
    return await_for<T>(opts.call_timeout, std::forward<Start>(start));
  }

  template <class T, class Start>
  static result<T> await_for(std::chrono::milliseconds timeout, Start&& start) {
    if (proto::in_completion)
      return error{errc::invalid_argument,
                   "a synchronous call from inside a completion handler would wait for the "
                   "thread that runs the handler: use the _async form"};
    auto fut = as_future<T>(std::forward<Start>(start));
    if (fut.wait_for(bounded_wait(timeout)) != std::future_status::ready)
      return error{errc::timeout, "the runtime did not answer within "
                                    + std::to_string(timeout.count()) + " ms"};
    return fut.get();
  }

  /// Runs the asynchronous call `start(done)`; the future gets its answer.
  template <class T, class Start>
  static std::future<result<T>> as_future(Start&& start) {
    auto promise = std::make_shared<std::promise<result<T>>>();
    auto fut = promise->get_future();
    start(completion<T>{[promise](result<T> r) { promise->set_value(std::move(r)); }});
    return fut;
  }

  /// Checks the options and fills in their defaults; opens nothing yet.
  static result<std::unique_ptr<impl>> make(runtime_options opts);
  /// Opens the store and spawns the actors on `sys`.
  result<void> open_and_spawn();
  void stop_actors();
};

} // namespace jobrt
