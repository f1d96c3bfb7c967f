#pragma once

/// The job store: the storage interface of jobrt, and the only code that knows
/// LMDB is underneath (no LMDB type appears in this header).
///
/// Operating rules:
/// - Reads (`get`, `get_checkpoint`, `list`, `for_each_unfinished`, ...) may run on
///   any thread at any time; each uses its own short read transaction.
/// - Writes go through `commit`, which must only ever be called from one thread
///   at a time: in jobrt, the persistence actor. A batch is one transaction: all
///   of it is durable when `commit` returns success, none of it on failure.
/// - The map grows by doubling (up to `max_map_size`) when a commit finds it full;
///   the batch is then retried. Only when it cannot grow does `commit` return
///   `storage_full`, and nothing already committed is lost.
/// - A directory is used by one process at a time; a second `open` of the same
///   directory fails with a clear error while the first is alive.
///
/// Layout (named LMDB databases):
///   jobs        u64be id            -> record value (checksummed header + JSON)
///   checkpoints u64be id            -> checkpoint value (checksum + JSON)
///   by_status   u8 status, u64be id -> (empty)
///   by_owner    owner, 0x00, u64be id -> (empty)
///   unique      idempotency key     -> u64be id
///   quarantine  u64be id            -> reason, 0x00, the raw bytes found
///   meta        "schema", "last_id" -> u32 / u64; "setting/NAME" -> bytes

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jobrt/error.hpp"
#include "jobrt/record.hpp"

namespace jobrt::storage {

inline constexpr std::uint32_t schema_version = 1;

struct store_config {
  /// Directory holding the database. Created if missing (its parent must exist).
  std::string path;
  /// Initial map size; the map grows by doubling when full.
  std::size_t map_size = std::size_t{64} << 20;
  /// The map never grows beyond this; a commit that needs more gets `storage_full`.
  std::size_t max_map_size = std::size_t{64} << 30;
  /// true: fsync on every commit (acknowledged means durable, even on power loss).
  /// false: no fsync; commits survive a crash of the process, not of the OS.
  bool sync = true;
};

/// The fields of a record that can be read without decoding its JSON: enough to
/// recover the scheduler's queue and to filter lists.
struct job_summary {
  job_id id = 0;
  job_status status = job_status::queued;
  std::int32_t priority = 0;
  millis wake_at = 0;
  millis finished_at = 0;
  std::string type;
  std::string owner;
};

/// Writes to apply in one transaction, in order.
class write_batch {
public:
  /// Inserts or replaces the record with `r.id`, keeping the indexes in step.
  void put_record(const job_record& r);
  /// Inserts or replaces the checkpoint of job `id`.
  void put_checkpoint(job_id id, const checkpoint& c);
  /// Deletes the record, its checkpoint and its index entries (no-op if absent).
  void erase_job(job_id id);
  /// Maps an idempotency key to a job.
  void put_unique_key(const std::string& key, job_id id);
  void erase_unique_key(const std::string& key);
  /// Moves the raw bytes of a record that cannot be decoded out of `jobs` into
  /// `quarantine` (with the reason), and drops its checkpoint and index entries.
  void quarantine(job_id id, const std::string& reason);
  /// Stores a runtime setting (for example the paused job types) under `name`.
  void put_setting(const std::string& name, const std::string& value);

  bool empty() const noexcept { return ops_.empty(); }
  std::size_t size() const noexcept { return ops_.size(); }
  /// Moves all of `other`'s operations to the end of this batch.
  void append(write_batch&& other);

  // Encoded operations; public so the store can read them, not for callers.
  struct op {
    enum class kind : std::uint8_t {
      put_record, put_checkpoint, erase_job, put_unique, erase_unique, quarantine,
      put_setting
    };
    kind what;
    job_id id = 0;
    std::string key;   ///< unique key, setting name, or the reason for a quarantine
    std::string value; ///< the encoded record or checkpoint
    // Header fields of a put_record, to maintain the indexes without decoding.
    job_status status = job_status::queued;
    std::string owner;
  };
  const std::vector<op>& ops() const noexcept { return ops_; }

private:
  std::vector<op> ops_;
};

struct store_stats {
  std::size_t map_size = 0;      ///< current map size in bytes
  std::size_t used_bytes = 0;    ///< pages in use times page size
  std::uint64_t records = 0;     ///< entries in `jobs`
  std::uint64_t checkpoints = 0; ///< entries in `checkpoints`
  std::uint64_t quarantined = 0; ///< entries in `quarantine`
};

class job_store {
public:
  /// Opens (or creates) the store at `cfg.path`. Clear errors for a missing
  /// parent directory, a read-only directory, a directory locked by another
  /// process, or a store written by a newer schema.
  static result<std::unique_ptr<job_store>> open(const store_config& cfg);

  ~job_store();
  job_store(const job_store&) = delete;
  job_store& operator=(const job_store&) = delete;

  // -- writes: one thread at a time -------------------------------------------

  /// Applies the whole batch in one transaction and returns after it is durable.
  result<void> commit(const write_batch& batch);

  // -- reads: any thread ----------------------------------------------------------

  /// The record, with `checkpoint_at` (and, for unfinished jobs, `progress`)
  /// taken from its checkpoint if it has one. `not_found` if absent,
  /// `corrupt_record` if its bytes do not decode.
  result<job_record> get(job_id id) const;
  /// The checkpoint of a job; empty if it never checkpointed.
  result<std::optional<checkpoint>> get_checkpoint(job_id id) const;
  /// Newest first, filtered and paged as `q` says. Uses the owner or status
  /// index when the query allows. Corrupt records are skipped.
  result<list_page> list(const list_query& q) const;
  /// Calls `fn` for every queued, running, paused and waiting job, in id order
  /// within each status. Records whose header fails its checksum are passed to
  /// `on_corrupt` with a reason instead. The calls happen inside the scan's read
  /// transaction (no copy of a million summaries): they may read the store, but
  /// should be quick.
  result<void> for_each_unfinished(
    const std::function<void(const job_summary&)>& fn,
    const std::function<void(job_id, const std::string& reason)>& on_corrupt) const;
  /// Calls `fn` for finished jobs (completed, failed, cancelled) in id order.
  result<void> for_each_finished(const std::function<void(const job_summary&)>& fn) const;
  /// A setting stored with `write_batch::put_setting`, if any.
  result<std::optional<std::string>> get_setting(const std::string& name) const;
  /// The job that holds an idempotency key, if any.
  result<std::optional<job_id>> find_unique_key(const std::string& key) const;
  /// The highest id ever stored (0 for a new store); ids are never reused.
  job_id last_id() const;
  store_stats stats() const;

private:
  struct impl;
  explicit job_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace jobrt::storage
