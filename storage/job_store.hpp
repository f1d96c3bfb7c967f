#pragma once

/// The job store: the storage interface of jobrt. Two stores implement it:
/// - `job_store::open`: LMDB in a directory, the durable one; this is the only
///   code that knows LMDB is underneath (no LMDB type appears in this header);
/// - `job_store::open_in_memory`: maps in the process, for runtimes whose jobs
///   need not outlive it (tests, caches, work that is cheap to redo). It keeps
///   the same rules and refuses the same bad writes; it has no file to grow,
///   to lock or to find corrupt, and everything in it is gone with the process.
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
///   signals     u64be id, u64be seq -> signal value
///   schedules   name                -> schedule value (checksum + JSON)

#include <atomic>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jobrt/error.hpp"
#include "jobrt/record.hpp"
#include "storage/write_batch.hpp"

namespace jobrt::storage {

/// 1: records with a JSON body. 2: records and checkpoints with a binary body
/// (storage/codec.hpp); a schema-1 store is read and upgraded in place.
inline constexpr std::uint32_t schema_version = 3;

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

struct store_stats {
  std::size_t map_size = 0;      ///< current map size in bytes
  std::size_t used_bytes = 0;    ///< pages in use times page size
  std::uint64_t records = 0;     ///< entries in `jobs`
  std::uint64_t checkpoints = 0; ///< entries in `checkpoints`
  std::uint64_t quarantined = 0; ///< entries in `quarantine`
};

class job_store {
public:
  /// Opens (or creates) the LMDB store at `cfg.path`. Clear errors for a missing
  /// parent directory, a read-only directory, a directory locked by another
  /// process, or a store written by a newer schema.
  static result<std::unique_ptr<job_store>> open(const store_config& cfg);
  /// A new, empty store in memory.
  static std::unique_ptr<job_store> open_in_memory();

  virtual ~job_store() = default;
  job_store(const job_store&) = delete;
  job_store& operator=(const job_store&) = delete;

  // -- writes: one thread at a time -------------------------------------------

  /// Applies the whole batch in one transaction and returns after it is durable.
  /// A batch with a write the store cannot hold (an over-long key, a record with
  /// a number JSON cannot store) is refused whole with the reason.
  virtual result<void> commit(const write_batch& batch) = 0;
  /// Transactions committed since the store was opened (read on any thread): with
  /// the jobs that finished meanwhile, how well commits are shared.
  std::uint64_t commits() const noexcept { return commits_.load(std::memory_order_relaxed); }

  // -- reads: any thread ----------------------------------------------------------

  /// The record, with `checkpoint_at` (and, for unfinished jobs, `progress`)
  /// taken from its checkpoint if it has one. `not_found` if absent,
  /// `corrupt_record` if its bytes do not decode.
  virtual result<job_record> get(job_id id) const = 0;
  /// The checkpoint of a job; empty if it never checkpointed.
  virtual result<std::optional<checkpoint>> get_checkpoint(job_id id) const = 0;
  /// Newest first, filtered and paged as `q` says. Uses the owner or status
  /// index when the query allows. Corrupt records are skipped.
  virtual result<list_page> list(const list_query& q) const = 0;
  /// Calls `fn` for every queued, running, paused and waiting job, in id order
  /// within each status. Records whose header fails its checksum are passed to
  /// `on_corrupt` with a reason instead. The calls may happen inside the scan's
  /// read transaction (no copy of a million summaries): they may read the
  /// store, but should be quick.
  virtual result<void> for_each_unfinished(
    const std::function<void(const job_summary&)>& fn,
    const std::function<void(job_id, const std::string& reason)>& on_corrupt) const = 0;
  /// Calls `fn` for finished jobs (completed, failed, cancelled) in id order.
  virtual result<void>
  for_each_finished(const std::function<void(const job_summary&)>& fn) const = 0;
  /// The signals of job `id` still stored (not yet taken and checkpointed), in
  /// `seq` order. A signal that cannot be decoded is skipped.
  virtual result<std::vector<job_signal>> signals_of(job_id id) const = 0;
  /// The jobs that have signals stored, in id order (recovery wakes those that
  /// wait for one).
  virtual result<std::vector<job_id>> jobs_with_signals() const = 0;
  /// Every stored schedule, by name (`next_tick` is 0: the scheduler computes
  /// it). A schedule that cannot be decoded is left out, and its name and the
  /// reason go to `corrupt` if given.
  virtual result<std::vector<schedule_info>>
  schedules(std::vector<std::pair<std::string, std::string>>* corrupt = nullptr) const = 0;
  /// A setting stored with `write_batch::put_setting`, if any.
  virtual result<std::optional<std::string>> get_setting(const std::string& name) const = 0;
  /// The job that holds `owner`'s idempotency key `key`, if any.
  virtual result<std::optional<job_id>> find_unique_key(std::string_view owner,
                                                        std::string_view key) const = 0;
  /// The highest id ever stored (0 for a new store); ids are never reused.
  virtual job_id last_id() const = 0;
  virtual store_stats stats() const = 0;

protected:
  job_store() = default;
  /// An implementation calls it once per transaction it committed.
  void count_commit() noexcept { commits_.fetch_add(1, std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> commits_{0};
};

/// The limits every store holds writes to, so that both refuse the same batch.
inline constexpr std::size_t max_list_limit = 1000;
inline constexpr std::size_t default_list_limit = 50;
/// Longest schedule name, in bytes (it is a key of the `schedules` database).
inline constexpr std::size_t max_schedule_name = 200;

/// The statuses `for_each_unfinished` and `for_each_finished` visit, in order.
inline constexpr std::array<job_status, 4> unfinished_statuses{
  job_status::queued, job_status::running, job_status::paused, job_status::waiting};
inline constexpr std::array<job_status, 3> finished_statuses{
  job_status::completed, job_status::failed, job_status::cancelled};

/// Whether a record with this summary passes the query's filters (not the page).
bool matches(const list_query& q, const job_summary& s);

/// The summary (header fields) of a record.
job_summary summary_of(const job_record& r);

/// Commits `batch` in one transaction. If that fails and the batch has more than
/// one segment (segment i is the ops [ends[i-1], ends[i])), each segment is then
/// committed alone, so that one bad write does not fail the others. Returns one
/// result per segment.
std::vector<result<void>> commit_segments(job_store& store, const write_batch& batch,
                                          const std::vector<std::size_t>& ends);

/// Checks that a batch can be stored as it is: keys within LMDB's limits, and
/// records and checkpoints that JSON can hold (finite numbers; type and owner
/// short enough for the record header). The reason names what is wrong.
result<void> check_batch(const write_batch& batch);

/// The refusal of a put_record whose stored record does not have the status
/// the write expected (`found`: none if there is no record).
error status_mismatch(job_id id, job_status expected, std::optional<job_status> found);

} // namespace jobrt::storage
