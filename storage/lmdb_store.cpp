/// The LMDB store: opening it (directory, lock, env, databases, schema
/// upgrade) and every read.

#include "storage/lmdb_store.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "storage/codec.hpp"
#include "storage/store_errors.hpp"

namespace jobrt::storage {

namespace {

constexpr unsigned max_dbs = 10;

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

} // namespace

result<std::unique_ptr<job_store>> job_store::open(const store_config& cfg) {
  auto store = std::make_unique<lmdb_store>(cfg);
  if (auto r = store->open(); !r)
    return r.error();
  return std::unique_ptr<job_store>(std::move(store));
}

// -- open -----------------------------------------------------------------------------

result<void> lmdb_store::open() {
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
result<void> lmdb_store::open_env() {
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
result<void> lmdb_store::open_databases() {
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

int lmdb_store::open_dbis(lmdb::txn& t) {
  const std::pair<const char*, MDB_dbi*> dbs[] = {
    {"jobs", &jobs_},         {"checkpoints", &checkpoints_}, {"by_status", &by_status_},
    {"by_owner", &by_owner_}, {"unique", &unique_},           {"quarantine", &quarantine_},
    {"meta", &meta_},         {"signals", &signals_},         {"schedules", &schedules_},
  };
  for (const auto& [name, dbi] : dbs)
    if (int rc = mdb_dbi_open(t.get(), name, MDB_CREATE, dbi))
      return rc;
  return 0;
}

/// Writes the schema of a new store; refuses one written by a newer build.
result<void> lmdb_store::check_schema(lmdb::txn& t) {
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
result<void> lmdb_store::scope_unique_keys_by_owner(lmdb::txn& t) {
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
result<job_id> lmdb_store::read_last_id(lmdb::txn& t) {
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

// -- reads ----------------------------------------------------------------------------

result<lmdb::read_txn> lmdb_store::begin_read() const {
  lmdb::read_txn rt;
  if (int rc = env_.begin_read(rt))
    return lmdb_failure("cannot read store at " + cfg_.path, rc);
  return rt;
}

result<job_record> lmdb_store::read_record(const lmdb::txn& t, job_id id) const {
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

/// Takes `checkpoint_at` and `children` (and, for unfinished jobs, `progress`)
/// from the job's checkpoint. A missing or corrupt checkpoint leaves the record as stored;
/// `get_checkpoint` reports the corruption.
void lmdb_store::merge_checkpoint(const lmdb::txn& t, job_record& r) const {
  std::string_view bytes;
  if (t.get(checkpoints_, codec::id_key(r.id), bytes) != 0)
    return;
  auto cp = codec::decode_checkpoint(bytes);
  if (!cp)
    return;
  r.checkpoint_at = cp->at;
  r.children = std::move(cp->children);
  if (!is_finished(r.status))
    r.progress = std::move(cp->progress);
}

/// Visits the keys `prefix + u64be id` of `dbi` in descending id order, only ids
/// below `before` (all if 0), calling `fn(id, value)` until it returns false.
template <class F>
int lmdb_store::scan_backward(const lmdb::txn& t, MDB_dbi dbi, const std::string& prefix,
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
int lmdb_store::scan_forward(const lmdb::txn& t, MDB_dbi dbi, const std::string& prefix,
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

/// Calls `fn` with the summary of each job in the given statuses (and
/// `on_corrupt` for a record whose header fails its checksum), inside one read
/// txn, as job_store.hpp says: a callback may read (a nested read txn), but it
/// holds up a map resize until the scan ends.
result<void> lmdb_store::for_each_status(
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

// -- job_store reads --------------------------------------------------------------------

result<job_record> lmdb_store::get(job_id id) const {
  auto rt = begin_read();
  if (!rt)
    return rt.error();
  return read_record(rt->txn, id);
}

result<std::optional<checkpoint>> lmdb_store::get_checkpoint(job_id id) const {
  auto rt = begin_read();
  if (!rt)
    return rt.error();
  std::string_view bytes;
  int rc = rt->txn.get(checkpoints_, codec::id_key(id), bytes);
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
  auto rt = begin_read();
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
      merge_checkpoint(t, *rec);
      page.jobs.push_back(std::move(*rec));
    }
    return true;
  };
  auto via_index = [&](job_id id, std::string_view) {
    std::string_view bytes;
    if (t.get(jobs_, codec::id_key(id), bytes) != 0)
      return true; // index entry without a record
    return visit(id, bytes);
  };
  int rc;
  if (!q.owner.empty())
    rc = scan_backward(t, by_owner_, q.owner + '\0', q.before, via_index);
  else if (q.statuses.size() == 1)
    rc = scan_backward(t, by_status_, std::string(1, static_cast<char>(q.statuses.front())),
                       q.before, via_index);
  else
    rc = scan_backward(t, jobs_, std::string{}, q.before, visit);
  if (rc != 0)
    return lmdb_failure("cannot list store at " + cfg_.path, rc);
  return page;
}

result<void> lmdb_store::for_each_unfinished(
  const std::function<void(const job_summary&)>& fn,
  const std::function<void(job_id, const std::string& reason)>& on_corrupt) const {
  return for_each_status(unfinished_statuses.data(),
                         unfinished_statuses.data() + unfinished_statuses.size(), fn,
                         on_corrupt);
}

result<void> lmdb_store::for_each_finished(
  const std::function<void(const job_summary&)>& fn) const {
  return for_each_status(finished_statuses.data(),
                         finished_statuses.data() + finished_statuses.size(), fn, nullptr);
}

result<std::optional<job_id>> lmdb_store::find_unique_key(std::string_view owner,
                                                          std::string_view idempotency_key) const {
  auto key = codec::unique_key(owner, idempotency_key);
  if (idempotency_key.empty() || key.size() > codec::max_key_size)
    return std::optional<job_id>{}; // such a key can never have been stored
  auto rt = begin_read();
  if (!rt)
    return rt.error();
  std::string_view bytes;
  int rc = rt->txn.get(unique_, key, bytes);
  if (rc == MDB_NOTFOUND)
    return std::optional<job_id>{};
  if (rc != 0)
    return lmdb_failure("cannot read an idempotency key", rc);
  if (bytes.size() != 8)
    return error{errc::corrupt_record, "idempotency key maps to a corrupt value"};
  return std::optional<job_id>{codec::id_from_key_suffix(bytes)};
}

result<std::vector<job_signal>> lmdb_store::signals_of(job_id id) const {
  auto rt = begin_read();
  if (!rt)
    return rt.error();
  lmdb::cursor c;
  if (int rc = c.open(rt->txn, signals_))
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
  auto rt = begin_read();
  if (!rt)
    return rt.error();
  lmdb::cursor c;
  if (int rc = c.open(rt->txn, signals_))
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

result<std::vector<schedule_info>>
lmdb_store::schedules(std::vector<std::pair<std::string, std::string>>* corrupt) const {
  auto rt = begin_read();
  if (!rt)
    return rt.error();
  lmdb::cursor c;
  if (int rc = c.open(rt->txn, schedules_))
    return lmdb_failure("cannot read the schedules", rc);
  std::vector<schedule_info> out;
  std::string_view key, value;
  for (int rc = c.get(key, value, MDB_FIRST); rc == 0; rc = c.get(key, value, MDB_NEXT)) {
    auto s = codec::decode_schedule(value);
    if (s && s->name == key)
      out.push_back(std::move(*s));
    else if (corrupt != nullptr)
      corrupt->emplace_back(std::string{key},
                            s ? "its name does not match its key" : s.error().message);
  }
  return out;
}

result<std::optional<std::string>> lmdb_store::get_setting(const std::string& name) const {
  auto rt = begin_read();
  if (!rt)
    return rt.error();
  std::string_view bytes;
  int rc = rt->txn.get(meta_, setting_prefix + name, bytes);
  if (rc == MDB_NOTFOUND)
    return std::optional<std::string>{};
  if (rc != 0)
    return lmdb_failure("cannot read setting '" + name + "'", rc);
  return std::optional<std::string>{std::string{bytes}};
}

job_id lmdb_store::last_id() const {
  return last_id_.load();
}

store_stats lmdb_store::stats() const {
  store_stats out;
  auto rt = begin_read();
  if (!rt)
    return out;
  const auto& t = rt->txn;
  out.map_size = env_.map_size();
  out.used_bytes = env_.used_bytes();
  out.records = t.entries(jobs_);
  out.checkpoints = t.entries(checkpoints_);
  out.quarantined = t.entries(quarantine_);
  return out;
}

} // namespace jobrt::storage
