#pragma once

/// The write batch: the writes a store applies in one transaction.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobrt/record.hpp"
#include "jobrt/schedule.hpp"

namespace jobrt::storage {

/// Writes to apply in one transaction, in order. A batch holds the records and
/// checkpoints themselves, shared and immutable: the store encodes them when it
/// commits, on the writer's thread, and a record written twice in one batch is
/// encoded and written once, as its last version.
class write_batch {
public:
  /// Inserts or replaces the record with `r->id`, keeping the indexes in step.
  /// With `expected`, the write replaces only a stored record of that status:
  /// the store checks inside its transaction and refuses the batch with
  /// `illegal_transition` otherwise (a missing record is a mismatch too).
  /// Without, the write is unchecked: for new records, tools and tests.
  void put_record(std::shared_ptr<const job_record> r,
                  std::optional<job_status> expected = std::nullopt);
  void put_record(job_record r, std::optional<job_status> expected = std::nullopt) {
    put_record(std::make_shared<const job_record>(std::move(r)), expected);
  }
  /// Inserts or replaces the checkpoint of job `id`.
  void put_checkpoint(job_id id, std::shared_ptr<const checkpoint> c);
  void put_checkpoint(job_id id, checkpoint c) {
    put_checkpoint(id, std::make_shared<const checkpoint>(std::move(c)));
  }
  /// Deletes the record, its checkpoint and its index entries (no-op if absent).
  void erase_job(job_id id);
  /// Maps `owner`'s idempotency key to a job (keys are scoped by owner).
  void put_unique_key(std::string_view owner, std::string_view key, job_id id);
  void erase_unique_key(std::string_view owner, std::string_view key);
  /// Moves the raw bytes of a record that cannot be decoded out of `jobs` into
  /// `quarantine` (with the reason), and drops its checkpoint and index entries.
  void quarantine(job_id id, const std::string& reason);
  /// Stores a runtime setting (for example the paused job types) under `name`.
  void put_setting(const std::string& name, const std::string& value);
  /// Stores a signal for job `id` (deleted with the job).
  void put_signal(job_id id, std::shared_ptr<const job_signal> s);
  /// Deletes the signals of job `id` up to and including `seq`: the job took them
  /// and has checkpointed since.
  void erase_signals(job_id id, std::uint64_t seq);
  /// Inserts or replaces the schedule named `s->name` (its `next_tick` is not stored).
  void put_schedule(std::shared_ptr<const schedule_info> s);
  /// Deletes the schedule `name` (no-op if absent).
  void erase_schedule(const std::string& name);

  /// For each op, whether it is a put_record that a later put of the same
  /// record in this batch replaces (with no erase of it in between): stores
  /// skip those, and write each record once, as its last version.
  std::vector<bool> superseded() const;

  bool empty() const noexcept { return ops_.empty(); }
  /// Empties the batch, keeping its buffer.
  void clear() noexcept { ops_.clear(); }
  std::size_t size() const noexcept { return ops_.size(); }
  /// Moves all of `other`'s operations to the end of this batch.
  void append(write_batch&& other);
  /// A copy of the operations [begin, end).
  write_batch slice(std::size_t begin, std::size_t end) const;

  // Encoded operations; public so the store can read them, not for callers.
  struct op {
    enum class kind : std::uint8_t {
      put_record, put_checkpoint, erase_job, put_unique, erase_unique, quarantine,
      put_setting, put_signal, erase_signals, put_schedule, erase_schedule
    };
    kind what;
    job_id id = 0;
    std::string key;   ///< unique key (codec::unique_key), setting or schedule name, or the reason for a quarantine
    std::size_t key_scope = 0; ///< of a unique key: the bytes of `key` before the idempotency key
    std::string value; ///< a setting's value
    std::shared_ptr<const job_record> record; ///< of a put_record
    std::optional<job_status> expected_status; ///< of a put_record: see put_record
    std::shared_ptr<const job_signal> signal;  ///< of a put_signal
    std::uint64_t seq = 0;                     ///< of an erase_signals: the last to delete
    std::shared_ptr<const checkpoint> cp;     ///< of a put_checkpoint
    std::shared_ptr<const schedule_info> schedule; ///< of a put_schedule
  };
  const std::vector<op>& ops() const noexcept { return ops_; }

private:
  std::vector<op> ops_;
};

} // namespace jobrt::storage
