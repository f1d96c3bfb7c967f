#pragma once

/// The LMDB store, the durable `job_store`: private to storage/ (only its .cpp
/// files include this). lmdb_store.cpp opens it and reads; lmdb_store_writes.cpp
/// commits batches.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/dir_lock.hpp"
#include "storage/job_store.hpp"
#include "storage/lmdb_env.hpp"

namespace jobrt::storage {

class lmdb_store final : public job_store {
public:
  explicit lmdb_store(store_config cfg) : cfg_(std::move(cfg)) {}

  /// Creates the directory, locks it, opens the env and its databases.
  result<void> open();

  result<void> commit(const write_batch& batch) override;
  result<job_record> get(job_id id) const override;
  result<std::optional<checkpoint>> get_checkpoint(job_id id) const override;
  result<list_page> list(const list_query& q) const override;
  result<void> for_each_unfinished(
    const std::function<void(const job_summary&)>& fn,
    const std::function<void(job_id, const std::string& reason)>& on_corrupt) const override;
  result<void>
  for_each_finished(const std::function<void(const job_summary&)>& fn) const override;
  result<std::optional<std::string>> get_setting(const std::string& name) const override;
  result<std::vector<job_signal>> signals_of(job_id id) const override;
  result<std::vector<job_id>> jobs_with_signals() const override;
  result<std::vector<schedule_info>>
  schedules(std::vector<std::pair<std::string, std::string>>* corrupt) const override;
  result<std::optional<job_id>> find_unique_key(std::string_view owner,
                                                std::string_view key) const override;
  job_id last_id() const override;
  store_stats stats() const override;

private:
  using op = write_batch::op;

  store_config cfg_;
  dir_lock lock_; // declared before env_: the env closes before the lock is released
  mutable lmdb::env env_; // reads begin txns on it from const functions
  MDB_dbi jobs_ = 0;
  MDB_dbi checkpoints_ = 0;
  MDB_dbi by_status_ = 0;
  MDB_dbi by_owner_ = 0;
  MDB_dbi unique_ = 0;
  MDB_dbi quarantine_ = 0;
  MDB_dbi meta_ = 0;
  MDB_dbi signals_ = 0;
  MDB_dbi schedules_ = 0;
  std::size_t max_map_size_ = 0;
  std::atomic<job_id> last_id_{0};
  /// The refusal of the last `apply` that returned `status_mismatch_rc`.
  std::optional<error> mismatch_;

  /// What `apply` returns when a put_record's expected status does not match.
  static constexpr int status_mismatch_rc = -29999; // outside LMDB's and errno's ranges

  // open
  result<void> open_env();
  result<void> open_databases();
  int open_dbis(lmdb::txn& t);
  result<void> check_schema(lmdb::txn& t);
  result<void> scope_unique_keys_by_owner(lmdb::txn& t);
  result<job_id> read_last_id(lmdb::txn& t);

  // writes
  result<std::vector<std::string>> encode(const write_batch& batch) const;
  int apply(const write_batch& batch, const std::vector<std::string>& values, job_id& last_id);
  int apply_op(lmdb::txn& t, const op& o, const std::string& value, job_id& last_id);
  int put_record(lmdb::txn& t, const op& o, const std::string& value);
  int check_expected(const lmdb::txn& t, job_id id, job_status expected);
  int erase_job(lmdb::txn& t, job_id id);
  int erase_signals(lmdb::txn& t, job_id id, std::uint64_t up_to);
  int quarantine(lmdb::txn& t, const op& o);
  int drop_index_entries(lmdb::txn& t, job_id id, bool every_status);
  result<void> grow_map();

  // reads
  result<lmdb::read_txn> begin_read() const;
  result<job_record> read_record(const lmdb::txn& t, job_id id) const;
  void merge_checkpoint(const lmdb::txn& t, job_record& r) const;
  template <class F>
  int scan_backward(const lmdb::txn& t, MDB_dbi dbi, const std::string& prefix,
                    job_id before, F&& fn) const;
  template <class F>
  int scan_forward(const lmdb::txn& t, MDB_dbi dbi, const std::string& prefix, F&& fn) const;
  result<void> for_each_status(
    const job_status* first, const job_status* last,
    const std::function<void(const job_summary&)>& fn,
    const std::function<void(job_id, const std::string&)>& on_corrupt) const;
};

} // namespace jobrt::storage
