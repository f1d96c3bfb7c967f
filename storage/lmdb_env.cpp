#include "storage/lmdb_env.hpp"

#include <cerrno>

#include <sys/stat.h>

namespace jobrt::storage::lmdb {

// -- txn ----------------------------------------------------------------------------

txn& txn::operator=(txn&& other) noexcept {
  if (this != &other) {
    abort();
    txn_ = other.txn_;
    other.txn_ = nullptr;
  }
  return *this;
}

void txn::reset(MDB_txn* t) noexcept {
  abort();
  txn_ = t;
}

int txn::commit() noexcept {
  auto* t = txn_;
  txn_ = nullptr;
  return mdb_txn_commit(t);
}

void txn::abort() noexcept {
  if (txn_ != nullptr) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
}

int txn::get(MDB_dbi dbi, std::string_view key, std::string_view& out) const noexcept {
  auto k = to_val(key);
  MDB_val v{0, nullptr};
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == 0)
    out = to_view(v);
  return rc;
}

int txn::put(MDB_dbi dbi, std::string_view key, std::string_view value) noexcept {
  auto k = to_val(key);
  auto v = to_val(value);
  return mdb_put(txn_, dbi, &k, &v, 0);
}

int txn::del(MDB_dbi dbi, std::string_view key) noexcept {
  auto k = to_val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

std::size_t txn::entries(MDB_dbi dbi) const noexcept {
  MDB_stat st;
  return mdb_stat(txn_, dbi, &st) == 0 ? st.ms_entries : 0;
}

// -- cursor -------------------------------------------------------------------------

cursor::~cursor() {
  if (cur_ != nullptr)
    mdb_cursor_close(cur_);
}

int cursor::open(const txn& t, MDB_dbi dbi) noexcept {
  return mdb_cursor_open(t.get(), dbi, &cur_);
}

int cursor::get(std::string_view& key, std::string_view& value, MDB_cursor_op op) noexcept {
  auto k = to_val(key);
  MDB_val v{0, nullptr};
  int rc = mdb_cursor_get(cur_, &k, &v, op);
  if (rc == 0) {
    key = to_view(k);
    value = to_view(v);
  }
  return rc;
}

// -- env ----------------------------------------------------------------------------

env::~env() {
  if (env_ != nullptr)
    mdb_env_close(env_);
}

/// Setting a map size before `mdb_env_open` would also shrink a bigger stored
/// map (down to the data size), so it is only done for a new environment.
int env::open(const std::string& path, unsigned flags, unsigned max_dbs,
              std::size_t new_map_size, bool& created) noexcept {
  struct stat st;
  created = ::stat((path + "/data.mdb").c_str(), &st) != 0 && errno == ENOENT;
  if (int rc = mdb_env_create(&env_))
    return rc;
  int rc = mdb_env_set_maxdbs(env_, max_dbs);
  if (rc == 0 && created)
    rc = mdb_env_set_mapsize(env_, new_map_size);
  if (rc == 0)
    rc = mdb_env_open(env_, path.c_str(), flags, 0644);
  if (rc == 0) {
    int dead = 0;
    rc = mdb_reader_check(env_, &dead);
  }
  if (rc != 0) { // a failed open still needs its env closed
    mdb_env_close(env_);
    env_ = nullptr;
  }
  return rc;
}

int env::begin_read(read_txn& out) {
  for (;;) {
    out.lock = std::shared_lock<std::shared_mutex>{map_mutex_};
    MDB_txn* t = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &t);
    if (rc == 0) {
      out.txn.reset(t);
      return 0;
    }
    out.lock.unlock();
    if (rc != MDB_MAP_RESIZED)
      return rc;
    if (int grow_rc = adopt_resized_map())
      return grow_rc;
  }
}

int env::begin_write(txn& out) {
  for (;;) {
    MDB_txn* t = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &t);
    if (rc == 0) {
      out.reset(t);
      return 0;
    }
    if (rc != MDB_MAP_RESIZED)
      return rc;
    if (int grow_rc = adopt_resized_map())
      return grow_rc;
  }
}

int env::set_map_size(std::size_t bytes) {
  std::unique_lock<std::shared_mutex> guard{map_mutex_};
  return mdb_env_set_mapsize(env_, bytes);
}

int env::adopt_resized_map() {
  return set_map_size(0);
}

std::size_t env::map_size() const noexcept {
  MDB_envinfo info;
  return mdb_env_info(env_, &info) == 0 ? info.me_mapsize : 0;
}

std::size_t env::page_size() const noexcept {
  MDB_stat st;
  return mdb_env_stat(env_, &st) == 0 ? st.ms_psize : 0;
}

std::size_t env::used_bytes() const noexcept {
  MDB_envinfo info;
  if (mdb_env_info(env_, &info) != 0)
    return 0;
  return (info.me_last_pgno + 1) * page_size();
}

} // namespace jobrt::storage::lmdb
