#pragma once

/// The scheduler's writes on their way to the persistence actor. Writes made
/// while the scheduler handles its mailbox gather here; once the messages now
/// waiting are handled, they leave together in one message (one transaction,
/// usually), and each write's callback later runs with its own outcome: one
/// write refused fails no other.
///
/// A plain class, no actor: the scheduler sends what `take` hands it, and
/// passes the answer to `settle`.

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "jobrt/error.hpp"
#include "jobrt/record.hpp"

#include "actors/protocol.hpp"
#include "storage/job_store.hpp"

namespace jobrt {

class write_outbox {
public:
  /// What to do once a write is durable (or was refused); may be empty.
  using callback = std::function<void(result<void>)>;

  /// Writes that left the outbox together: write i is `batch`'s ops from
  /// `ends[i-1]` (or 0) to `ends[i]`, and `callbacks[i]` is its callback.
  struct departure {
    storage::write_batch batch;
    std::vector<std::size_t> ends;
    std::vector<callback> callbacks;
    /// How many of the writes a caller waits for (0: all of them can wait).
    std::size_t awaited = 0;
  };

  /// Adds `batch` as one write.
  void add(storage::write_batch batch, callback then,
           proto::write_urgency u = proto::write_urgency::caller_waits);
  /// Adds one record, over a stored record of status `replaces` (the store
  /// refuses it if the stored status differs), as one write.
  void add_record(std::shared_ptr<const job_record> rec, job_status replaces, callback then,
                  proto::write_urgency u = proto::write_urgency::caller_waits);

  bool empty() const { return ends_.empty(); }
  /// How many writes wait.
  std::size_t size() const { return ends_.size(); }

  /// Everything added since the last take.
  departure take();

  /// Runs each callback with its write's outcome; a failed write without a
  /// callback is logged. `results` has one entry per callback (missing ones
  /// count as failed).
  static void settle(std::vector<callback> callbacks, std::vector<result<void>> results);

private:
  void end_write(callback then, proto::write_urgency u);

  storage::write_batch batch_;
  std::size_t awaited_ = 0;
  std::vector<std::size_t> ends_;
  std::vector<callback> callbacks_;
};

} // namespace jobrt
