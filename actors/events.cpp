#include "actors/events.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "jobrt/events.hpp"
#include "jobrt/record.hpp"

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt {

namespace {

// -- fan-out -----------------------------------------------------------------------

struct subscriber {
  event_filter filter;
  proto::delivery_actor delivery;
  bool ready = true; ///< the delivery actor has asked for more
  proto::event_batch buffer;
};

struct fanout_state {
  std::size_t max_buffered = 4096;
  std::unordered_map<std::uint64_t, subscriber> subs;
  static inline const char* name = "jobrt.events";
};

using fanout_ptr = proto::fanout_actor::stateful_pointer<fanout_state>;

bool wants(const event_filter& f, const job_event& e) {
  if (f.id != 0 && f.id != e.id)
    return false;
  if (!f.owner.empty() && f.owner != e.owner)
    return false;
  return f.progress || e.what == job_event::kind::status;
}

/// Appends `e`, replacing a pending progress event of the same job when no
/// status event of that job came after it.
void buffer_event(subscriber& s, const job_event& e, std::size_t max_buffered) {
  auto& buf = s.buffer;
  if (e.what == job_event::kind::progress) {
    for (auto i = buf.rbegin(); i != buf.rend(); ++i) {
      if (i->id != e.id)
        continue;
      if (i->what == job_event::kind::progress) {
        *i = e;
        return;
      }
      break;
    }
  }
  if (buf.size() >= max_buffered) {
    auto victim = std::find_if(buf.begin(), buf.end(), [](const job_event& x) {
      return x.what == job_event::kind::progress;
    });
    buf.erase(victim != buf.end() ? victim : buf.begin());
  }
  buf.push_back(e);
}

void try_deliver(fanout_ptr self, subscriber& s) {
  if (!s.ready || s.buffer.empty())
    return;
  s.ready = false;
  proto::event_batch batch;
  batch.swap(s.buffer);
  self->send(s.delivery, proto::deliver_atom::value, std::move(batch));
}

proto::fanout_actor::behavior_type fanout(fanout_ptr self, std::size_t max_buffered) {
  self->state.max_buffered = max_buffered;
  return {
    [=](proto::publish_atom, const job_event& e) {
      for (auto& kv : self->state.subs) {
        if (!wants(kv.second.filter, e))
          continue;
        buffer_event(kv.second, e, self->state.max_buffered);
        try_deliver(self, kv.second);
      }
    },
    [=](proto::subscribe_atom, std::uint64_t id, event_filter& filter,
        proto::delivery_actor& delivery) {
      self->state.subs[id] = subscriber{std::move(filter), std::move(delivery), true, {}};
    },
    [=](proto::unsubscribe_atom, std::uint64_t id) {
      auto i = self->state.subs.find(id);
      if (i == self->state.subs.end())
        return;
      self->send_exit(i->second.delivery, caf::exit_reason::user_shutdown);
      self->state.subs.erase(i);
    },
    [=](proto::stop_atom) {
      // Shutdown: delivery actors of callbacks run on threads of their own and
      // would otherwise keep the actor system alive.
      for (auto& kv : self->state.subs)
        self->send_exit(kv.second.delivery, caf::exit_reason::user_shutdown);
      self->state.subs.clear();
      self->quit();
    },
    [=](proto::ready_atom, std::uint64_t id) {
      auto i = self->state.subs.find(id);
      if (i == self->state.subs.end())
        return;
      i->second.ready = true;
      try_deliver(self, i->second);
    },
  };
}

std::atomic<std::uint64_t> next_subscription_id{1};

// -- delivery to a callback ----------------------------------------------------------

/// Shared by the delivery actor and the subscription handle, so that `cancel()`
/// can wait for a callback in progress and switch further calls off.
struct callback_gate {
  std::mutex mtx;
  bool active = true;
  std::atomic<std::thread::id> delivering_thread{};
  std::function<void(const job_event&)> fn;
};

proto::delivery_actor::behavior_type callback_delivery(proto::delivery_actor::pointer self,
                                                       proto::fanout_actor fanout, std::uint64_t id,
                                                       std::shared_ptr<callback_gate> gate) {
  return {
    [=](proto::deliver_atom, const proto::event_batch& batch) {
      for (const auto& e : batch) {
        std::lock_guard guard{gate->mtx};
        if (!gate->active)
          return;
        gate->delivering_thread = std::this_thread::get_id();
        try {
          gate->fn(e);
        } catch (const std::exception& ex) {
          log_line(std::string{"event subscriber threw: "} + ex.what());
        } catch (...) {
          log_line("event subscriber threw a non-standard exception");
        }
        gate->delivering_thread = std::thread::id{};
      }
      self->send(fanout, proto::ready_atom::value, id);
    },
  };
}

/// Delivers to a subscriber's (dynamically typed) actor: anonymous messages.
proto::delivery_actor::behavior_type actor_delivery(proto::delivery_actor::pointer self,
                                                    proto::fanout_actor fanout, std::uint64_t id,
                                                    caf::actor target) {
  return {
    [=](proto::deliver_atom, const proto::event_batch& batch) {
      for (const auto& e : batch)
        caf::anon_send(target, e);
      self->send(fanout, proto::ready_atom::value, id);
    },
  };
}

} // namespace

proto::fanout_actor spawn_event_fanout(caf::actor_system& sys, std::size_t max_buffered) {
  return sys.spawn(fanout, max_buffered);
}

subscription subscribe_callback(caf::actor_system& sys, const proto::fanout_actor& fanout_handle,
                                std::function<void(const job_event&)> callback,
                                event_filter filter) {
  auto id = next_subscription_id++;
  auto gate = std::make_shared<callback_gate>();
  gate->fn = std::move(callback);
  auto delivery = sys.spawn<caf::detached>(callback_delivery, fanout_handle, id, gate);
  caf::anon_send(fanout_handle, proto::subscribe_atom::value, id, std::move(filter), delivery);
  proto::fanout_actor fan = fanout_handle;
  return subscription{[fan, id, gate] {
    caf::anon_send(fan, proto::unsubscribe_atom::value, id);
    if (gate->delivering_thread.load() == std::this_thread::get_id()) {
      gate->active = false; // cancelled from inside the callback: the lock is ours
      return;
    }
    std::lock_guard guard{gate->mtx};
    gate->active = false;
  }};
}

subscription subscribe_actor(caf::actor_system& sys, const proto::fanout_actor& fanout_handle,
                             const caf::actor& target, event_filter filter) {
  auto id = next_subscription_id++;
  auto delivery = sys.spawn(actor_delivery, fanout_handle, id, target);
  caf::anon_send(fanout_handle, proto::subscribe_atom::value, id, std::move(filter), delivery);
  proto::fanout_actor fan = fanout_handle;
  return subscription{[fan, id] { caf::anon_send(fan, proto::unsubscribe_atom::value, id); }};
}

} // namespace jobrt
