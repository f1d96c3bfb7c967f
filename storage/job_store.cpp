#include "storage/job_store.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobrt/fields.hpp" // has_non_finite
#include "storage/codec.hpp"
#include "storage/lmdb_env.hpp"

namespace jobrt::storage {

namespace {

constexpr unsigned max_dbs = 9;

const std::string schema_meta_key = "schema";
const std::string last_id_meta_key = "last_id";
const std::string setting_prefix = "setting/";

error storage_failure(std::string msg) {
  return error{errc::storage_error, std::move(msg)};
}

/// A storage_error for a failed LMDB call: "WHAT: mdb_strerror(rc)".
error lmdb_failure(const std::string& what, int rc) {
  return storage_failure(what + ": " + mdb_strerror(rc));
}

/// "64 MiB" for whole mebibytes, else the byte count.
std::string describe_size(std::size_t bytes) {
  constexpr std::size_t mib = std::size_t{1} << 20;
  if (bytes % mib == 0)
    return std::to_string(bytes / mib) + " MiB";
  return std::to_string(bytes) + " bytes";
}

bool is_permission_error(int err) {
  return err == EACCES || err == EPERM || err == EROFS;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

/// The smallest key greater than every key starting with `prefix`; empty if
/// there is none (the prefix is empty or all 0xff).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff)
    prefix.pop_back();
  if (!prefix.empty())
    prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// -- the directory lock -------------------------------------------------------------

/// An exclusive flock on PATH/jobrt.lock, held for the store's lifetime. flock
/// locks belong to the open file, so a second open in the same process fails too.
class dir_lock {
public:
  dir_lock() = default;
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;
  ~dir_lock() {
    if (fd_ >= 0)
      ::close(fd_); // releases the lock
  }

  result<void> acquire(const std::string& dir) {
    auto file = dir + "/jobrt.lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      return open_failure(dir, errno);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      if (err == EWOULDBLOCK)
        return storage_failure("store at " + dir + " is in use by another process");
      return storage_failure("cannot lock store at " + dir + ": " + std::strerror(err));
    }
    return {};
  }

private:
  static error open_failure(const std::string& dir, int err) {
    if (is_permission_error(err))
      return storage_failure("cannot open store at " + dir + ": permission denied"
                             " (the directory is read-only or not ours)");
    return storage_failure("cannot open store at " + dir + ": " + std::strerror(err));
  }

  int fd_ = -1;
};

/// Creates the store directory if missing; its parent must exist.
result<void> make_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST)
    return {};
  int err = errno;
  if (err == ENOENT)
    return storage_failure("cannot open store: parent directory of " + path
                           + " does not exist");
  if (is_permission_error(err))
    return storage_failure("cannot create store directory " + path + ": permission denied");
  return storage_failure("cannot create store directory " + path + ": " + std::strerror(err));
}

} // namespace

// -- write_batch --------------------------------------------------------------------

namespace {

write_batch::op make_op(write_batch::op::kind what, job_id id) {
  write_batch::op o{};
  o.what = what;
  o.id = id;
  return o;
}

} // namespace

void write_batch::put_record(std::shared_ptr<const job_record> r,
                             std::optional<job_status> expected) {
  auto o = make_op(op::kind::put_record, r->id);
  o.record = std::move(r);
  o.expected_status = expected;
  ops_.push_back(std::move(o));
}

error status_mismatch(job_id id, job_status expected, std::optional<job_status> found) {
  return error{errc::illegal_transition,
               "job " + std::to_string(id) + ": the store holds "
                 + (found ? std::string{"a "} + to_string(*found) + " record" : "no record")
                 + " where this write expected a " + to_string(expected)
                 + " one; the write is refused"};
}

void write_batch::put_checkpoint(job_id id, std::shared_ptr<const checkpoint> c) {
  auto o = make_op(op::kind::put_checkpoint, id);
  o.cp = std::move(c);
  ops_.push_back(std::move(o));
}

void write_batch::erase_job(job_id id) {
  auto o = make_op(op::kind::erase_job, id);
  ops_.push_back(std::move(o));
}

void write_batch::put_unique_key(std::string_view owner, std::string_view key, job_id id) {
  auto o = make_op(op::kind::put_unique, id);
  o.key = codec::unique_key(owner, key);
  o.key_scope = codec::unique_key_overhead(owner);
  ops_.push_back(std::move(o));
}

void write_batch::erase_unique_key(std::string_view owner, std::string_view key) {
  auto o = make_op(op::kind::erase_unique, 0);
  o.key = codec::unique_key(owner, key);
  o.key_scope = codec::unique_key_overhead(owner);
  ops_.push_back(std::move(o));
}

void write_batch::put_signal(job_id id, std::shared_ptr<const job_signal> s) {
  auto o = make_op(op::kind::put_signal, id);
  o.signal = std::move(s);
  ops_.push_back(std::move(o));
}

void write_batch::erase_signals(job_id id, std::uint64_t seq) {
  auto o = make_op(op::kind::erase_signals, id);
  o.seq = seq;
  ops_.push_back(std::move(o));
}

void write_batch::quarantine(job_id id, const std::string& reason) {
  auto o = make_op(op::kind::quarantine, id);
  o.key = reason;
  ops_.push_back(std::move(o));
}

void write_batch::put_setting(const std::string& name, const std::string& value) {
  auto o = make_op(op::kind::put_setting, 0);
  o.key = name;
  o.value = value;
  ops_.push_back(std::move(o));
}

void write_batch::append(write_batch&& other) {
  ops_.insert(ops_.end(), std::make_move_iterator(other.ops_.begin()),
              std::make_move_iterator(other.ops_.end()));
  other.ops_.clear();
}

write_batch write_batch::slice(std::size_t begin, std::size_t end) const {
  write_batch out;
  end = std::min(end, ops_.size());
  if (begin < end)
    out.ops_.assign(ops_.begin() + static_cast<std::ptrdiff_t>(begin),
                    ops_.begin() + static_cast<std::ptrdiff_t>(end));
  return out;
}

std::vector<bool> write_batch::superseded() const {
  std::vector<bool> out(ops_.size(), false);
  // The ops that touch a record, grouped by id, in batch order within an id
  // (sorting is cheaper here than a hash set: no allocation per op).
  std::vector<std::pair<job_id, std::size_t>> touching;
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    auto k = ops_[i].what;
    if (k == op::kind::put_record || k == op::kind::erase_job || k == op::kind::quarantine)
      touching.emplace_back(ops_[i].id, i);
  }
  std::sort(touching.begin(), touching.end());
  for (std::size_t j = 0; j + 1 < touching.size(); ++j) {
    auto [id, i] = touching[j];
    const auto& next = touching[j + 1];
    // Replaced by the next op on the same record if that is a put too; an
    // erase in between keeps it (the record is gone, then written anew).
    if (ops_[i].what == op::kind::put_record && next.first == id
        && ops_[next.second].what == op::kind::put_record)
      out[i] = true;
  }
  return out;
}

// -- what every store shares ----------------------------------------------------------

bool matches(const list_query& q, const job_summary& s) {
  if (!q.statuses.empty()
      && std::find(q.statuses.begin(), q.statuses.end(), s.status) == q.statuses.end())
    return false;
  return (q.type.empty() || q.type == s.type) && (q.owner.empty() || q.owner == s.owner);
}

job_summary summary_of(const job_record& r) {
  return job_summary{r.id, r.status, r.priority, r.wake_at, r.finished_at, r.type, r.owner};
}

std::vector<result<void>> commit_segments(job_store& store, const write_batch& batch,
                                          const std::vector<std::size_t>& ends) {
  auto r = batch.empty() ? result<void>{} : store.commit(batch);
  if (r || ends.size() <= 1)
    return std::vector<result<void>>(ends.size(), r);
  std::vector<result<void>> out;
  out.reserve(ends.size());
  std::size_t begin = 0;
  for (auto end : ends) {
    out.push_back(store.commit(batch.slice(begin, end)));
    begin = end;
  }
  return out;
}

result<void> check_batch(const write_batch& batch) {
  using op = write_batch::op;
  for (const auto& o : batch.ops()) {
    bool keyed = o.what == op::kind::put_unique || o.what == op::kind::erase_unique;
    if (o.what == op::kind::put_setting
        && (o.key.empty() || o.key.size() + setting_prefix.size() > codec::max_key_size))
      return error{errc::invalid_argument, "setting name must be 1 to 500 bytes long"};
    if (keyed && (o.key.size() <= o.key_scope || o.key.size() > codec::max_key_size)) {
      auto most = codec::max_key_size - std::min(o.key_scope, codec::max_key_size);
      return error{errc::invalid_argument,
                   "idempotency key must be 1 to " + std::to_string(most)
                     + " bytes long (the owner's name counts against the limit of "
                     + std::to_string(codec::max_key_size) + "; got "
                     + std::to_string(o.key.size() - o.key_scope) + ")"};
    }
    if (o.what == op::kind::put_record)
      if (auto r = codec::check_record(*o.record); !r)
        return r;
    if (o.what == op::kind::put_checkpoint)
      if (auto r = codec::check_checkpoint(*o.cp); !r)
        return r;
    if (o.what == op::kind::put_signal && has_non_finite(o.signal->payload))
      return error{errc::invalid_argument,
                   "a signal's payload holds a number that is not finite (JSON cannot store it)"};
  }
  return {};
}

// -- the LMDB store ------------------------------------------------------------------

namespace {

class lmdb_store final : public job_store {
public:
  struct impl;
  explicit lmdb_store(std::unique_ptr<impl> p);
  ~lmdb_store() override;

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
  result<std::optional<job_id>> find_unique_key(std::string_view owner,
                                                std::string_view key) const override;
  job_id last_id() const override;
  store_stats stats() const override;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace

// -- impl: state and open -----------------------------------------------------------

struct lmdb_store::impl {
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
  std::size_t max_map_size_ = 0;
  std::atomic<job_id> last_id_{0};
  /// The refusal of the last `apply` that returned `status_mismatch_rc`.
  std::optional<error> mismatch_;

  /// What `apply` returns when a put_record's expected status does not match.
  static constexpr int status_mismatch_rc = -29999; // outside LMDB's and errno's ranges

  explicit impl(store_config cfg) : cfg_(std::move(cfg)) {}

  result<void> open();
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

result<void> lmdb_store::impl::open() {
  if (cfg_.path.empty())
    return error{errc::invalid_argument, "store path is empty"};
  if (auto r = make_directory(cfg_.path); !r)
    return r;
  if (auto r = lock_.acquire(cfg_.path); !r)
    return r;
  if (auto r = open_env(); !r)
    return r;
  return open_databases();
}

/// Opens the env with a map of max(cfg.map_size, its stored size).
result<void> lmdb_store::impl::open_env() {
  unsigned flags = MDB_NOTLS | (cfg_.sync ? 0u : unsigned{MDB_NOSYNC});
  bool created = false;
  if (int rc = env_.open(cfg_.path, flags, max_dbs, cfg_.map_size, created)) {
    if (is_permission_error(rc))
      return storage_failure("cannot open store at " + cfg_.path
                             + ": permission denied (the directory is read-only?)");
    return lmdb_failure("cannot open store at " + cfg_.path, rc);
  }
  if (!created && cfg_.map_size > env_.map_size()) {
    if (int rc = env_.set_map_size(cfg_.map_size))
      return lmdb_failure("cannot set the map size of store at " + cfg_.path, rc);
  }
  max_map_size_ = std::max(cfg_.max_map_size, env_.map_size());
  return {};
}

/// Creates the named databases, checks the schema and loads last_id, in one txn.
result<void> lmdb_store::impl::open_databases() {
  lmdb::txn t;
  if (int rc = env_.begin_write(t))
    return lmdb_failure("cannot open store at " + cfg_.path, rc);
  if (int rc = open_dbis(t))
    return lmdb_failure("cannot open the databases of store at " + cfg_.path, rc);
  if (auto r = check_schema(t); !r)
    return r;
  auto last = read_last_id(t);
  if (!last)
    return last.error();
  if (int rc = t.commit())
    return lmdb_failure("cannot initialise store at " + cfg_.path, rc);
  last_id_.store(*last);
  return {};
}

int lmdb_store::impl::open_dbis(lmdb::txn& t) {
  const std::pair<const char*, MDB_dbi*> dbs[] = {
    {"jobs", &jobs_},         {"checkpoints", &checkpoints_}, {"by_status", &by_status_},
    {"by_owner", &by_owner_}, {"unique", &unique_},           {"quarantine", &quarantine_},
    {"meta", &meta_},         {"signals", &signals_},
  };
  for (const auto& [name, dbi] : dbs)
    if (int rc = mdb_dbi_open(t.get(), name, MDB_CREATE, dbi))
      return rc;
  return 0;
}

/// Writes the schema of a new store; refuses one written by a newer build.
result<void> lmdb_store::impl::check_schema(lmdb::txn& t) {
  std::string_view stored;
  int rc = t.get(meta_, schema_meta_key, stored);
  if (rc == MDB_NOTFOUND) {
    std::string value;
    codec::put_u32_le(value, schema_version);
    if ((rc = t.put(meta_, schema_meta_key, value)))
      return lmdb_failure("cannot write the schema of store at " + cfg_.path, rc);
    return {};
  }
  if (rc != 0)
    return lmdb_failure("cannot read the schema of store at " + cfg_.path, rc);
  auto schema = codec::read_u32_le(stored);
  if (!schema)
    return storage_failure("store at " + cfg_.path + " has a corrupt schema entry");
  if (*schema > schema_version)
    return storage_failure("store at " + cfg_.path + " was written by a newer jobrt (schema "
                           + std::to_string(*schema) + "; this build reads up to "
                           + std::to_string(schema_version) + ")");
  if (*schema < schema_version) {
    // An older store is read as it is (its records keep their format until
    // they are written again) and marked with this schema, so that the build
    // that wrote it refuses it from now on instead of misreading new records.
    if (*schema < 3)
      if (auto r = scope_unique_keys_by_owner(t); !r)
        return r;
    std::string value;
    codec::put_u32_le(value, schema_version);
    if ((rc = t.put(meta_, schema_meta_key, value)))
      return lmdb_failure("cannot upgrade the schema of store at " + cfg_.path, rc);
  }
  return {};
}

/// Schema 3 scopes idempotency keys by owner: each key of an older store is
/// stored again under the owner of the job that holds it. A key whose job is
/// gone or unreadable is dropped (it was free already: a submit with it makes a
/// new job). Runs in the schema upgrade's transaction, so it happens once.
result<void> lmdb_store::impl::scope_unique_keys_by_owner(lmdb::txn& t) {
  std::vector<std::pair<std::string, job_id>> old_keys;
  {
    lmdb::cursor c;
    if (int rc = c.open(t, unique_))
      return lmdb_failure("cannot read the idempotency keys of store at " + cfg_.path, rc);
    std::string_view key, value;
    for (int rc = c.get(key, value, MDB_FIRST); rc == 0; rc = c.get(key, value, MDB_NEXT))
      old_keys.emplace_back(std::string{key}, codec::id_from_key_suffix(value).value_or(0));
  }
  for (const auto& [key, id] : old_keys) {
    if (int rc = t.del(unique_, key); rc != 0 && rc != MDB_NOTFOUND)
      return lmdb_failure("cannot upgrade the idempotency keys of store at " + cfg_.path, rc);
    std::string_view bytes;
    if (id == 0 || t.get(jobs_, codec::id_key(id), bytes) != 0)
      continue;
    auto header = codec::decode_header(id, bytes);
    if (!header)
      continue;
    auto scoped = codec::unique_key(header->summary.owner, key);
    if (scoped.size() > codec::max_key_size)
      continue; // cannot be held with its owner; the job keeps running
    if (int rc = t.put(unique_, scoped, codec::id_key(id)))
      return lmdb_failure("cannot upgrade the idempotency keys of store at " + cfg_.path, rc);
  }
  return {};
}

/// The stored last_id, or the highest id in `jobs` if that is higher.
result<job_id> lmdb_store::impl::read_last_id(lmdb::txn& t) {
  job_id last = 0;
  std::string_view stored;
  int rc = t.get(meta_, last_id_meta_key, stored);
  if (rc == 0) {
    auto v = codec::read_u64_le(stored);
    if (!v)
      return storage_failure("store at " + cfg_.path + " has a corrupt last_id entry");
    last = *v;
  } else if (rc != MDB_NOTFOUND) {
    return lmdb_failure("cannot read last_id of store at " + cfg_.path, rc);
  }
  lmdb::cursor cur;
  std::string_view key, value;
  if ((rc = cur.open(t, jobs_)) == 0 && (rc = cur.get(key, value, MDB_LAST)) == 0)
    if (auto id = codec::id_from_key_suffix(key); id && key.size() == 8)
      last = std::max(last, *id);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return lmdb_failure("cannot read the jobs of store at " + cfg_.path, rc);
  return last;
}

// -- impl: writes -------------------------------------------------------------------

/// Encodes the records and checkpoints of a batch, before any of it is written;
/// `values[i]` is the value of op i. A record put again later in the same batch
/// (its `running` record, say, followed by its final one) is skipped: its value
/// stays empty, and only the last version is written.
result<std::vector<std::string>> lmdb_store::impl::encode(const write_batch& batch) const {
  if (auto r = check_batch(batch); !r)
    return r.error();
  const auto& ops = batch.ops();
  auto skip = batch.superseded();
  std::vector<std::string> values(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto& o = ops[i];
    result<std::string> v = std::string{};
    if (o.what == op::kind::put_record && !skip[i])
      v = codec::encode_record(*o.record);
    else if (o.what == op::kind::put_checkpoint)
      v = codec::encode_checkpoint(*o.cp);
    else if (o.what == op::kind::put_signal)
      v = codec::encode_signal(*o.signal);
    if (!v)
      return v.error();
    values[i] = std::move(*v);
  }
  return values;
}

/// Runs the batch in one write txn; `last_id` comes in as the cached value and
/// goes out as the new one. Returns the LMDB code of the first failure.
int lmdb_store::impl::apply(const write_batch& batch, const std::vector<std::string>& values,
                            job_id& last_id) {
  lmdb::txn t;
  if (int rc = env_.begin_write(t))
    return rc;
  auto before = last_id;
  const auto& ops = batch.ops();
  // A put that a later put of the same record supersedes is not written, so
  // the later one is checked against what the first of them expected.
  std::vector<std::pair<job_id, std::optional<job_status>>> first_expected;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto& o = ops[i];
    if (o.what == op::kind::put_record) {
      auto chained = std::find_if(first_expected.begin(), first_expected.end(),
                                  [&](const auto& x) { return x.first == o.id; });
      auto expected = o.expected_status;
      if (chained != first_expected.end()) {
        expected = chained->second;
        if (!values[i].empty())
          first_expected.erase(chained);
      } else if (values[i].empty()) {
        first_expected.emplace_back(o.id, o.expected_status);
      }
      if (values[i].empty())
        continue; // superseded by a later put of the same record
      if (expected)
        if (int rc = check_expected(t, o.id, *expected))
          return rc;
    }
    if (int rc = apply_op(t, o, values[i], last_id))
      return rc; // ~txn aborts
  }
  if (last_id > before) {
    std::string value;
    codec::put_u64_le(value, last_id);
    if (int rc = t.put(meta_, last_id_meta_key, value))
      return rc;
  }
  return t.commit();
}

int lmdb_store::impl::apply_op(lmdb::txn& t, const op& o, const std::string& value,
                               job_id& last_id) {
  switch (o.what) {
    case op::kind::put_record:
      last_id = std::max(last_id, o.id);
      return put_record(t, o, value);
    case op::kind::put_checkpoint:
      return t.put(checkpoints_, codec::id_key(o.id), value);
    case op::kind::erase_job:
      return erase_job(t, o.id);
    case op::kind::put_unique:
      return t.put(unique_, o.key, codec::id_key(o.id));
    case op::kind::erase_unique:
      return t.del(unique_, o.key);
    case op::kind::quarantine:
      return quarantine(t, o);
    case op::kind::put_setting:
      return t.put(meta_, setting_prefix + o.key, o.value);
    case op::kind::put_signal:
      return t.put(signals_, codec::signal_key(o.id, o.signal->seq), value);
    case op::kind::erase_signals:
      return erase_signals(t, o.id, o.seq);
  }
  return EINVAL;
}

/// 0 if the stored record of `id` has status `expected`. A record whose header
/// fails its checksum is not held against the write, which replaces it.
int lmdb_store::impl::check_expected(const lmdb::txn& t, job_id id, job_status expected) {
  std::string_view old;
  int rc = t.get(jobs_, codec::id_key(id), old);
  if (rc == MDB_NOTFOUND) {
    mismatch_ = status_mismatch(id, expected, std::nullopt);
    return status_mismatch_rc;
  }
  if (rc != 0)
    return rc;
  auto h = codec::decode_header(id, old);
  if (h && h->summary.status != expected) {
    mismatch_ = status_mismatch(id, expected, h->summary.status);
    return status_mismatch_rc;
  }
  return 0;
}

int lmdb_store::impl::put_record(lmdb::txn& t, const op& o, const std::string& value) {
  if (int rc = drop_index_entries(t, o.id, false))
    return rc;
  if (int rc = t.put(jobs_, codec::id_key(o.id), value))
    return rc;
  if (int rc = t.put(by_status_, codec::status_key(o.record->status, o.id), {}))
    return rc;
  if (o.record->owner.empty())
    return 0;
  return t.put(by_owner_, codec::owner_key(o.record->owner, o.id), {});
}

int lmdb_store::impl::erase_job(lmdb::txn& t, job_id id) {
  if (int rc = drop_index_entries(t, id, false))
    return rc;
  if (int rc = t.del(jobs_, codec::id_key(id)))
    return rc;
  if (int rc = erase_signals(t, id, std::numeric_limits<std::uint64_t>::max()))
    return rc;
  return t.del(checkpoints_, codec::id_key(id));
}

/// Deletes job `id`'s signals with a seq up to `up_to`.
int lmdb_store::impl::erase_signals(lmdb::txn& t, job_id id, std::uint64_t up_to) {
  std::vector<std::string> keys;
  {
    lmdb::cursor c;
    if (int rc = c.open(t, signals_))
      return rc;
    auto prefix = codec::id_key(id);
    std::string first = codec::signal_key(id, 0);
    std::string_view key = first, value;
    for (int rc = c.get(key, value, MDB_SET_RANGE);
         rc == 0 && key.substr(0, prefix.size()) == prefix; rc = c.get(key, value, MDB_NEXT)) {
      if (codec::id_from_key_suffix(key).value_or(0) > up_to)
        break;
      keys.emplace_back(key);
    }
  }
  for (const auto& k : keys)
    if (int rc = t.del(signals_, k))
      return rc;
  return 0;
}

/// Moves the raw record bytes to `quarantine` ("reason\0bytes") and drops the
/// record, its checkpoint and every index entry it may have.
int lmdb_store::impl::quarantine(lmdb::txn& t, const op& o) {
  auto key = codec::id_key(o.id);
  std::string_view raw;
  int rc = t.get(jobs_, key, raw);
  if (rc == 0) {
    std::string value = o.key;
    value.push_back('\0');
    value.append(raw.data(), raw.size()); // copied before the next write moves it
    if ((rc = t.put(quarantine_, key, value)))
      return rc;
  } else if (rc != MDB_NOTFOUND) {
    return rc;
  }
  if ((rc = drop_index_entries(t, o.id, true)))
    return rc;
  if ((rc = t.del(jobs_, key)))
    return rc;
  if ((rc = erase_signals(t, o.id, std::numeric_limits<std::uint64_t>::max())))
    return rc;
  return t.del(checkpoints_, key);
}

/// Deletes the index entries of the record stored under `id`, found from its
/// header. If the header fails its crc (or `every_status`), the status entry is
/// deleted under every status, and the owner entry under the owner the header
/// claims if it still parses: any owner key ending in this id belongs to this id.
int lmdb_store::impl::drop_index_entries(lmdb::txn& t, job_id id, bool every_status) {
  std::string_view old;
  int rc = t.get(jobs_, codec::id_key(id), old);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return rc;
  if (rc == MDB_NOTFOUND && !every_status)
    return 0;
  // Copied out of the map before any write moves it.
  std::optional<job_summary> verified;
  std::string owner;
  if (rc == 0) {
    if (auto h = codec::decode_header(id, old))
      verified = h->summary;
    else if (auto u = codec::decode_header_unverified(id, old))
      owner = u->summary.owner;
    if (verified)
      owner = verified->owner;
  }
  if (verified && !every_status) {
    rc = t.del(by_status_, codec::status_key(verified->status, id));
  } else {
    for (auto s : all_statuses)
      if ((rc = t.del(by_status_, codec::status_key(s, id))))
        break;
  }
  if (rc != 0 || owner.empty() || owner.size() > codec::max_owner_size)
    return rc;
  return t.del(by_owner_, codec::owner_key(owner, id));
}

/// Doubles the map, capped at max_map_size; storage_full if it is already there.
result<void> lmdb_store::impl::grow_map() {
  auto current = env_.map_size();
  if (current >= max_map_size_)
    return error{errc::storage_full,
                 "store at " + cfg_.path + " is full: the map is " + describe_size(current)
                   + " and max_map_size allows no more; nothing of this batch was written"};
  auto next = current > max_map_size_ / 2 ? max_map_size_ : current * 2;
  if (int rc = env_.set_map_size(next))
    return lmdb_failure("cannot grow the map of store at " + cfg_.path + " to "
                          + describe_size(next),
                        rc);
  return {};
}

// -- impl: reads --------------------------------------------------------------------

result<lmdb::read_txn> lmdb_store::impl::begin_read() const {
  lmdb::read_txn rt;
  if (int rc = env_.begin_read(rt))
    return lmdb_failure("cannot read store at " + cfg_.path, rc);
  return rt;
}

result<job_record> lmdb_store::impl::read_record(const lmdb::txn& t, job_id id) const {
  std::string_view bytes;
  int rc = t.get(jobs_, codec::id_key(id), bytes);
  if (rc == MDB_NOTFOUND)
    return error{errc::not_found, "no job with id " + std::to_string(id)};
  if (rc != 0)
    return lmdb_failure("cannot read job " + std::to_string(id), rc);
  auto rec = codec::decode_record(id, bytes);
  if (!rec)
    return error{errc::corrupt_record, "job " + std::to_string(id)
                                         + ": stored record is corrupt ("
                                         + rec.error().message + ")"};
  merge_checkpoint(t, *rec);
  return rec;
}

/// Takes `checkpoint_at` (and, for unfinished jobs, `progress`) from the job's
/// checkpoint. A missing or corrupt checkpoint leaves the record as stored;
/// `get_checkpoint` reports the corruption.
void lmdb_store::impl::merge_checkpoint(const lmdb::txn& t, job_record& r) const {
  std::string_view bytes;
  if (t.get(checkpoints_, codec::id_key(r.id), bytes) != 0)
    return;
  auto cp = codec::decode_checkpoint(bytes);
  if (!cp)
    return;
  r.checkpoint_at = cp->at;
  if (!is_finished(r.status))
    r.progress = std::move(cp->progress);
}

/// Visits the keys `prefix + u64be id` of `dbi` in descending id order, only ids
/// below `before` (all if 0), calling `fn(id, value)` until it returns false.
template <class F>
int lmdb_store::impl::scan_backward(const lmdb::txn& t, MDB_dbi dbi, const std::string& prefix,
                                   job_id before, F&& fn) const {
  lmdb::cursor cur;
  if (int rc = cur.open(t, dbi))
    return rc;
  auto seek = before != 0 ? prefix + codec::id_key(before) : prefix_end(prefix);
  std::string_view key = seek, value;
  int rc;
  if (seek.empty()) {
    rc = cur.get(key, value, MDB_LAST);
  } else {
    rc = cur.get(key, value, MDB_SET_RANGE); // first key >= seek ...
    if (rc == 0)
      rc = cur.get(key, value, MDB_PREV);    // ... so the one before is < seek
    else if (rc == MDB_NOTFOUND)
      rc = cur.get(key, value, MDB_LAST);
  }
  for (; rc == 0 && starts_with(key, prefix); rc = cur.get(key, value, MDB_PREV)) {
    if (key.size() != prefix.size() + 8)
      continue; // another owner whose name starts with this one's and a 0x00
    if (!fn(*codec::id_from_key_suffix(key), value))
      return 0;
  }
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/// Visits the keys `prefix + u64be id` of `dbi` in ascending id order.
template <class F>
int lmdb_store::impl::scan_forward(const lmdb::txn& t, MDB_dbi dbi, const std::string& prefix,
                                  F&& fn) const {
  lmdb::cursor cur;
  if (int rc = cur.open(t, dbi))
    return rc;
  std::string_view key = prefix, value;
  int rc = cur.get(key, value, MDB_SET_RANGE);
  for (; rc == 0 && starts_with(key, prefix); rc = cur.get(key, value, MDB_NEXT))
    if (key.size() == prefix.size() + 8)
      fn(*codec::id_from_key_suffix(key));
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/// Collects the summaries of the jobs in the given statuses under one read txn,
/// then calls the callbacks after the txn has ended: callbacks may then read or
/// commit without holding up a map resize.
result<void> lmdb_store::impl::for_each_status(
  const job_status* first, const job_status* last,
  const std::function<void(const job_summary&)>& fn,
  const std::function<void(job_id, const std::string&)>& on_corrupt) const {
  auto rt = begin_read();
  if (!rt)
    return rt.error();
  const auto& t = rt->txn;
  for (auto s = first; s != last; ++s) {
    auto visit = [&](job_id id) {
      std::string_view bytes;
      if (t.get(jobs_, codec::id_key(id), bytes) != 0)
        return; // index entry without a record
      auto h = codec::decode_header(id, bytes);
      if (!h) {
        if (on_corrupt)
          on_corrupt(id, h.error().message);
      } else if (h->summary.status == *s) { // else a stale entry
        fn(h->summary);
      }
    };
    auto prefix = std::string(1, static_cast<char>(*s));
    if (int rc = scan_forward(t, by_status_, prefix, visit))
      return lmdb_failure("cannot scan the status index of store at " + cfg_.path, rc);
  }
  return {};
}

// -- job_store ----------------------------------------------------------------------

lmdb_store::lmdb_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

lmdb_store::~lmdb_store() = default;

result<std::unique_ptr<job_store>> job_store::open(const store_config& cfg) {
  auto p = std::make_unique<lmdb_store::impl>(cfg);
  if (auto r = p->open(); !r)
    return r.error();
  return std::unique_ptr<job_store>(new lmdb_store(std::move(p)));
}

/// Retries the whole batch after growing the map for as long as it is full.
result<void> lmdb_store::commit(const write_batch& batch) {
  if (batch.empty())
    return {};
  auto values = impl_->encode(batch);
  if (!values)
    return values.error();
  for (;;) {
    auto last = impl_->last_id_.load();
    int rc = impl_->apply(batch, *values, last);
    if (rc == 0) {
      impl_->last_id_.store(last);
      return {};
    }
    if (rc == impl::status_mismatch_rc)
      return *std::exchange(impl_->mismatch_, std::nullopt);
    if (rc != MDB_MAP_FULL)
      return lmdb_failure("commit to store at " + impl_->cfg_.path + " failed", rc);
    if (auto r = impl_->grow_map(); !r)
      return r;
  }
}

result<job_record> lmdb_store::get(job_id id) const {
  auto rt = impl_->begin_read();
  if (!rt)
    return rt.error();
  return impl_->read_record(rt->txn, id);
}

result<std::optional<checkpoint>> lmdb_store::get_checkpoint(job_id id) const {
  auto rt = impl_->begin_read();
  if (!rt)
    return rt.error();
  std::string_view bytes;
  int rc = rt->txn.get(impl_->checkpoints_, codec::id_key(id), bytes);
  if (rc == MDB_NOTFOUND)
    return std::optional<checkpoint>{};
  if (rc != 0)
    return lmdb_failure("cannot read the checkpoint of job " + std::to_string(id), rc);
  auto cp = codec::decode_checkpoint(bytes);
  if (!cp)
    return error{errc::corrupt_record, "job " + std::to_string(id)
                                         + ": stored checkpoint is corrupt ("
                                         + cp.error().message + ")"};
  return std::optional<checkpoint>{std::move(*cp)};
}

/// Walks the best index for the query newest first, filters on headers, and
/// decodes only the rows it returns. One match past the page sets next_cursor.
result<list_page> lmdb_store::list(const list_query& q) const {
  auto limit = q.limit == 0 ? default_list_limit : std::min(q.limit, max_list_limit);
  if (q.owner.size() > codec::max_owner_size)
    return list_page{}; // no stored record can have such an owner
  auto rt = impl_->begin_read();
  if (!rt)
    return rt.error();
  const auto& t = rt->txn;
  list_page page;
  auto visit = [&](job_id id, std::string_view bytes) {
    auto h = codec::decode_header(id, bytes);
    if (!h || !matches(q, h->summary))
      return true; // corrupt rows are skipped
    if (page.jobs.size() == limit) {
      page.next_cursor = page.jobs.back().id;
      return false;
    }
    if (auto rec = codec::decode_record(id, bytes)) {
      impl_->merge_checkpoint(t, *rec);
      page.jobs.push_back(std::move(*rec));
    }
    return true;
  };
  auto via_index = [&](job_id id, std::string_view) {
    std::string_view bytes;
    if (t.get(impl_->jobs_, codec::id_key(id), bytes) != 0)
      return true; // index entry without a record
    return visit(id, bytes);
  };
  int rc;
  if (!q.owner.empty())
    rc = impl_->scan_backward(t, impl_->by_owner_, q.owner + '\0', q.before, via_index);
  else if (q.statuses.size() == 1)
    rc = impl_->scan_backward(t, impl_->by_status_,
                              std::string(1, static_cast<char>(q.statuses.front())), q.before,
                              via_index);
  else
    rc = impl_->scan_backward(t, impl_->jobs_, std::string{}, q.before, visit);
  if (rc != 0)
    return lmdb_failure("cannot list store at " + impl_->cfg_.path, rc);
  return page;
}

result<void> lmdb_store::for_each_unfinished(
  const std::function<void(const job_summary&)>& fn,
  const std::function<void(job_id, const std::string& reason)>& on_corrupt) const {
  return impl_->for_each_status(unfinished_statuses.data(),
                                unfinished_statuses.data() + unfinished_statuses.size(), fn,
                                on_corrupt);
}

result<void> lmdb_store::for_each_finished(
  const std::function<void(const job_summary&)>& fn) const {
  return impl_->for_each_status(finished_statuses.data(),
                                finished_statuses.data() + finished_statuses.size(), fn,
                                nullptr);
}

result<std::optional<job_id>> lmdb_store::find_unique_key(std::string_view owner,
                                                          std::string_view idempotency_key) const {
  auto key = codec::unique_key(owner, idempotency_key);
  if (idempotency_key.empty() || key.size() > codec::max_key_size)
    return std::optional<job_id>{}; // such a key can never have been stored
  auto rt = impl_->begin_read();
  if (!rt)
    return rt.error();
  std::string_view bytes;
  int rc = rt->txn.get(impl_->unique_, key, bytes);
  if (rc == MDB_NOTFOUND)
    return std::optional<job_id>{};
  if (rc != 0)
    return lmdb_failure("cannot read an idempotency key", rc);
  if (bytes.size() != 8)
    return error{errc::corrupt_record, "idempotency key maps to a corrupt value"};
  return std::optional<job_id>{codec::id_from_key_suffix(bytes)};
}

result<std::vector<job_signal>> lmdb_store::signals_of(job_id id) const {
  auto rt = impl_->begin_read();
  if (!rt)
    return rt.error();
  lmdb::cursor c;
  if (int rc = c.open(rt->txn, impl_->signals_))
    return lmdb_failure("cannot read the signals of job " + std::to_string(id), rc);
  std::vector<job_signal> out;
  auto prefix = codec::id_key(id);
  std::string first = codec::signal_key(id, 0);
  std::string_view key = first, value;
  for (int rc = c.get(key, value, MDB_SET_RANGE);
       rc == 0 && key.substr(0, prefix.size()) == prefix; rc = c.get(key, value, MDB_NEXT)) {
    auto seq = codec::id_from_key_suffix(key).value_or(0);
    // One that fails its checksum (damage on disk: writes are checked first)
    // is skipped, so that it cannot keep the job from running.
    if (auto s = codec::decode_signal(seq, value))
      out.push_back(std::move(*s));
  }
  return out;
}

result<std::vector<job_id>> lmdb_store::jobs_with_signals() const {
  auto rt = impl_->begin_read();
  if (!rt)
    return rt.error();
  lmdb::cursor c;
  if (int rc = c.open(rt->txn, impl_->signals_))
    return lmdb_failure("cannot read the signals", rc);
  std::vector<job_id> out;
  std::string_view key, value;
  std::string next;
  // One seek per job: after a job's first signal, to the first key past its id.
  for (int rc = c.get(key, value, MDB_FIRST); rc == 0;) {
    auto id = codec::id_from_key_suffix(key.substr(0, 8)).value_or(0);
    out.push_back(id);
    if (id == std::numeric_limits<job_id>::max())
      break;
    next = codec::id_key(id + 1);
    key = next;
    rc = c.get(key, value, MDB_SET_RANGE);
  }
  return out;
}

result<std::optional<std::string>> lmdb_store::get_setting(const std::string& name) const {
  auto rt = impl_->begin_read();
  if (!rt)
    return rt.error();
  std::string_view bytes;
  int rc = rt->txn.get(impl_->meta_, setting_prefix + name, bytes);
  if (rc == MDB_NOTFOUND)
    return std::optional<std::string>{};
  if (rc != 0)
    return lmdb_failure("cannot read setting '" + name + "'", rc);
  return std::optional<std::string>{std::string{bytes}};
}

job_id lmdb_store::last_id() const {
  return impl_->last_id_.load();
}

store_stats lmdb_store::stats() const {
  store_stats out;
  auto rt = impl_->begin_read();
  if (!rt)
    return out;
  const auto& t = rt->txn;
  out.map_size = impl_->env_.map_size();
  out.used_bytes = impl_->env_.used_bytes();
  out.records = t.entries(impl_->jobs_);
  out.checkpoints = t.entries(impl_->checkpoints_);
  out.quarantined = t.entries(impl_->quarantine_);
  return out;
}

} // namespace jobrt::storage
