#include "actors/persistence.hpp"

#include <chrono>
#include <functional>
#include <utility>
#include <vector>

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt {

namespace {

/// One request waiting for the next commit: a batch whose ops fall into
/// segments (`ends[i]` is where segment i ends), each answered on its own.
struct pending_write {
  storage::write_batch batch;
  std::vector<std::size_t> ends;
  std::function<void(std::vector<result<void>>)> answer;
};

/// How long a write that can wait waits for company at most (see
/// `proto::write_urgency`). Far below what a human or a dashboard notices; far
/// above the time between two submits of a busy caller, whose next write it
/// then joins. Only while callers come one at a time (the last commit answered
/// at most one caller): under concurrent callers, commits follow each other
/// anyway, and one that carries only such writes holds the callers' next
/// requests back until it ends, so that they share the next commit.
constexpr auto linger = std::chrono::milliseconds{2};
/// Writes that can wait are committed at once when this many ops pile up.
constexpr std::size_t max_lingering_ops = 4096;

struct persistence_state {
  storage::job_store* store = nullptr;
  std::vector<pending_write> pending;
  std::size_t pending_ops = 0;
  std::size_t pending_callers = 0; ///< writes in `pending` that a caller waits for
  std::size_t last_callers = 0;    ///< ... in the last commit
  bool flush_queued = false;  ///< a flush message waits in the mailbox
  bool linger_armed = false;  ///< a timeout message is on its way
  static inline const char* name = "jobrt.persistence";
};

using persistence_ptr = proto::persistence_actor::stateful_pointer<persistence_state>;

std::vector<proto::write_ack> acks_of(const std::vector<result<void>>& rs) {
  std::vector<proto::write_ack> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back(proto::write_ack{r ? std::nullopt : std::optional<error>{r.error()}});
  return out;
}

/// Commits everything pending in one transaction (see storage::commit_segments:
/// one bad write fails no other).
void flush(persistence_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  st.last_callers = std::exchange(st.pending_callers, 0);
  if (st.pending.empty())
    return;
  auto writes = std::move(st.pending);
  st.pending.clear();
  st.pending_ops = 0;
  // One batch of everything, with every request's segments in it.
  storage::write_batch all = std::move(writes.front().batch);
  std::vector<std::size_t> ends = writes.front().ends;
  for (std::size_t k = 1; k < writes.size(); ++k) {
    auto offset = all.size();
    all.append(std::move(writes[k].batch));
    for (auto end : writes[k].ends)
      ends.push_back(offset + end);
  }
  auto results = storage::commit_segments(*st.store, all, ends);
  auto next = results.begin();
  for (auto& w : writes) {
    auto n = static_cast<std::ptrdiff_t>(w.ends.size());
    w.answer(std::vector<result<void>>(next, next + n));
    next += n;
  }
}

/// Queues `w`, of which `awaited` writes have a caller waiting, for the next commit.
void enqueue(persistence_ptr self, pending_write w, std::size_t awaited) {
  auto& st = self->state;
  st.pending_ops += w.batch.size();
  st.pending.push_back(std::move(w));
  st.pending_callers += awaited;
  if (awaited == 0 && st.last_callers <= 1 && st.pending_ops < max_lingering_ops) {
    // It joins the next write a caller waits for, or the timeout commits it.
    if (!st.linger_armed) {
      st.linger_armed = true;
      self->delayed_send(self, linger, proto::timeout_atom::value);
    }
    return;
  }
  if (self->mailbox().empty()) {
    flush(self); // nothing else waits: no write would join this transaction
  } else if (!self->state.flush_queued) {
    // The flush goes to the back of the mailbox: every write already waiting
    // there joins this transaction.
    self->state.flush_queued = true;
    self->send(self, proto::flush_atom::value);
  }
}

proto::persistence_actor::behavior_type persistence(persistence_ptr self,
                                                  storage::job_store* store) {
  self->state.store = store;
  return {
    [=](proto::write_atom, storage::write_batch& batch) -> caf::result<proto::write_ack> {
      auto rp = self->make_response_promise<proto::write_ack>();
      auto n = batch.size();
      enqueue(self,
              {std::move(batch), {n},
               [rp](std::vector<result<void>> r) mutable { rp.deliver(acks_of(r).front()); }},
              1);
      return rp;
    },
    [=](proto::write_atom, storage::write_batch& batch, std::vector<std::size_t>& ends,
        std::size_t awaited) -> caf::result<std::vector<proto::write_ack>> {
      auto rp = self->make_response_promise<std::vector<proto::write_ack>>();
      if (ends.empty() || ends.back() != batch.size()) {
        rp.deliver(std::vector<proto::write_ack>(
          ends.size(), proto::write_ack{error{errc::invalid_argument, "bad write segments"}}));
        return rp;
      }
      enqueue(self,
              {std::move(batch), std::move(ends),
               [rp](std::vector<result<void>> r) mutable { rp.deliver(acks_of(r)); }},
              awaited);
      return rp;
    },
    [=](proto::flush_atom) { flush(self); },
    [=](proto::timeout_atom) {
      self->state.linger_armed = false;
      flush(self);
    },
  };
}

} // namespace

proto::persistence_actor spawn_persistence(caf::actor_system& sys, storage::job_store& store,
                                           bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(persistence, &store);
  return sys.spawn(persistence, &store);
}

} // namespace jobrt
