#pragma once

/// A thin RAII layer over LMDB, private to storage/: an environment, owned
/// transactions and cursors, and the lock that keeps map growth away from readers.
///
/// Rules this layer enforces:
/// - Every read transaction holds a shared lock on the map for its whole life;
///   changing the map size takes the lock exclusively, so no reader ever sees
///   the map move under it (`mdb_env_set_mapsize` itself only checks for an
///   active *write* txn in this process).
/// - Write transactions take no lock: the store has one writer at a time, and
///   only that writer grows the map, after it has aborted its own txn.
/// - `MDB_val` data points into the map and is valid until the txn ends or its
///   next write; callers copy what they keep.
///
/// Functions return LMDB's int codes (0 = success) so the caller can react to
/// `MDB_MAP_FULL` and friends; `mdb_strerror` turns them into text.

#include <cstddef>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>

#include <lmdb.h>

namespace jobrt::storage::lmdb {

inline MDB_val to_val(std::string_view s) noexcept {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

inline std::string_view to_view(const MDB_val& v) noexcept {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

/// An owned transaction: aborted when destroyed unless committed or aborted.
class txn {
public:
  txn() = default;
  txn(txn&& other) noexcept : txn_(other.txn_) { other.txn_ = nullptr; }
  txn& operator=(txn&& other) noexcept;
  txn(const txn&) = delete;
  txn& operator=(const txn&) = delete;
  ~txn() { abort(); }

  /// Takes ownership of a begun transaction.
  void reset(MDB_txn* t) noexcept;
  MDB_txn* get() const noexcept { return txn_; }
  explicit operator bool() const noexcept { return txn_ != nullptr; }

  /// Commits. The txn is gone afterwards whatever the result (LMDB frees it).
  int commit() noexcept;
  void abort() noexcept;

  /// 0 with `out` viewing the value, `MDB_NOTFOUND`, or another error.
  int get(MDB_dbi dbi, std::string_view key, std::string_view& out) const noexcept;
  int put(MDB_dbi dbi, std::string_view key, std::string_view value) noexcept;
  /// Deletes `key`; a missing key counts as success.
  int del(MDB_dbi dbi, std::string_view key) noexcept;
  /// Number of entries in `dbi` (0 on error).
  std::size_t entries(MDB_dbi dbi) const noexcept;

private:
  MDB_txn* txn_ = nullptr;
};

/// An owned cursor on one database of a transaction.
class cursor {
public:
  cursor() = default;
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;
  ~cursor();

  int open(const txn& t, MDB_dbi dbi) noexcept;
  /// `mdb_cursor_get`; `key` is both input (for MDB_SET_RANGE) and output.
  int get(std::string_view& key, std::string_view& value, MDB_cursor_op op) noexcept;

private:
  MDB_cursor* cur_ = nullptr;
};

/// A read transaction together with the shared map lock it needs.
struct read_txn {
  std::shared_lock<std::shared_mutex> lock; // declared first: released last
  lmdb::txn txn;
};

/// An owned environment.
class env {
public:
  env() = default;
  env(const env&) = delete;
  env& operator=(const env&) = delete;
  ~env();

  /// Creates and opens the environment at directory `path`. A new environment
  /// gets a map of `new_map_size`; an existing one keeps its stored size (call
  /// `set_map_size` afterwards to grow it). `created` says which it was.
  int open(const std::string& path, unsigned flags, unsigned max_dbs,
           std::size_t new_map_size, bool& created) noexcept;
  MDB_env* get() const noexcept { return env_; }

  /// Begins a read transaction under the shared map lock.
  int begin_read(read_txn& out);
  /// Begins the (single) write transaction.
  int begin_write(txn& out);

  /// Changes the map size once no read transaction is open. Only the writer
  /// calls this, with no write transaction of its own open.
  int set_map_size(std::size_t bytes);
  // The three below read the env without the lock: call them while holding a
  // read txn, or from the writer (the only thread that changes the map size).
  std::size_t map_size() const noexcept;
  std::size_t page_size() const noexcept;
  /// Pages in use (last page number + 1) times the page size.
  std::size_t used_bytes() const noexcept;

private:
  /// Adopts a map size another process set (after `MDB_MAP_RESIZED`).
  int adopt_resized_map();

  MDB_env* env_ = nullptr;
  std::shared_mutex map_mutex_;
};

} // namespace jobrt::storage::lmdb
