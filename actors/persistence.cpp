#include "actors/persistence.hpp"

#include <vector>

#include "actors/env.hpp"
#include "actors/protocol.hpp"

namespace jobrt {

namespace {

struct pending_write {
  storage::write_batch batch;
  std::optional<caf::typed_response_promise<proto::write_ack>> requester;
};

struct persistence_state {
  storage::job_store* store = nullptr;
  std::vector<pending_write> pending;
  bool flush_queued = false;
  static inline const char* name = "jobrt.persistence";
};

using persistence_actor = caf::stateful_actor<persistence_state>;

void answer(pending_write& w, const result<void>& r) {
  if (w.requester)
    w.requester->deliver(proto::write_ack{r ? std::nullopt : std::optional<error>{r.error()}});
  else if (!r)
    log_line("background write failed: " + r.error().message);
}

/// Commits everything pending in one transaction. If that fails and more than
/// one requester is waiting, each batch is retried alone, so that one bad write
/// (an oversized key, say) does not fail the others.
void flush(persistence_actor* self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.pending.empty())
    return;
  auto writes = std::move(st.pending);
  st.pending.clear();
  storage::write_batch all;
  for (auto& w : writes) {
    auto copy = w.batch; // keep the original for a one-by-one retry
    all.append(std::move(copy));
  }
  auto r = all.empty() ? result<void>{} : st.store->commit(all);
  if (r || writes.size() == 1) {
    for (auto& w : writes)
      answer(w, r);
    return;
  }
  for (auto& w : writes)
    answer(w, st.store->commit(w.batch));
}

void enqueue(persistence_actor* self, pending_write w) {
  self->state.pending.push_back(std::move(w));
  if (!self->state.flush_queued) {
    // The flush goes to the back of the mailbox: every write already waiting
    // there joins this transaction.
    self->state.flush_queued = true;
    self->send(self, proto::flush_atom::value);
  }
}

caf::behavior persistence(persistence_actor* self, storage::job_store* store) {
  self->state.store = store;
  return {
    [=](proto::write_atom, storage::write_batch& batch) -> caf::result<proto::write_ack> {
      auto rp = self->make_response_promise<proto::write_ack>();
      enqueue(self, pending_write{std::move(batch), rp});
      return rp;
    },
    [=](proto::write_bg_atom, storage::write_batch& batch) {
      enqueue(self, pending_write{std::move(batch), std::nullopt});
    },
    [=](proto::flush_atom) { flush(self); },
  };
}

} // namespace

caf::actor spawn_persistence(caf::actor_system& sys, storage::job_store& store, bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(persistence, &store);
  return sys.spawn(persistence, &store);
}

} // namespace jobrt
