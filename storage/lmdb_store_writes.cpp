/// The LMDB store's writes: a batch encoded, then applied in one transaction,
/// and the map grown when it is full.

#include "storage/lmdb_store.hpp"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

#include "storage/codec.hpp"
#include "storage/store_errors.hpp"

namespace jobrt::storage {

namespace {

/// "64 MiB" for whole mebibytes, else the byte count.
std::string describe_size(std::size_t bytes) {
  constexpr std::size_t mib = std::size_t{1} << 20;
  if (bytes % mib == 0)
    return std::to_string(bytes / mib) + " MiB";
  return std::to_string(bytes) + " bytes";
}

} // namespace

/// Retries the whole batch after growing the map for as long as it is full.
result<void> lmdb_store::commit(const write_batch& batch) {
  if (batch.empty())
    return {};
  auto values = encode(batch);
  if (!values)
    return values.error();
  for (;;) {
    auto last = last_id_.load();
    int rc = apply(batch, *values, last);
    if (rc == 0) {
      last_id_.store(last);
      count_commit();
      return {};
    }
    if (rc == status_mismatch_rc)
      return *std::exchange(mismatch_, std::nullopt);
    if (rc != MDB_MAP_FULL)
      return lmdb_failure("commit to store at " + cfg_.path + " failed", rc);
    if (auto r = grow_map(); !r)
      return r;
  }
}

/// Encodes the records and checkpoints of a batch, before any of it is written;
/// `values[i]` is the value of op i. A record put again later in the same batch
/// (its `running` record, say, followed by its final one) is skipped: its value
/// stays empty, and only the last version is written.
result<std::vector<std::string>> lmdb_store::encode(const write_batch& batch) const {
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
    else if (o.what == op::kind::put_schedule)
      v = codec::encode_schedule(*o.schedule);
    if (!v)
      return v.error();
    values[i] = std::move(*v);
  }
  return values;
}

/// Runs the batch in one write txn; `last_id` comes in as the cached value and
/// goes out as the new one. Returns the LMDB code of the first failure.
int lmdb_store::apply(const write_batch& batch, const std::vector<std::string>& values,
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

int lmdb_store::apply_op(lmdb::txn& t, const op& o, const std::string& value,
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
    case op::kind::put_schedule:
      return t.put(schedules_, o.key, value);
    case op::kind::erase_schedule:
      return t.del(schedules_, o.key);
  }
  return EINVAL;
}

/// 0 if the stored record of `id` has status `expected`. A record whose header
/// fails its checksum is not held against the write, which replaces it.
int lmdb_store::check_expected(const lmdb::txn& t, job_id id, job_status expected) {
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

int lmdb_store::put_record(lmdb::txn& t, const op& o, const std::string& value) {
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

int lmdb_store::erase_job(lmdb::txn& t, job_id id) {
  if (int rc = drop_index_entries(t, id, false))
    return rc;
  if (int rc = t.del(jobs_, codec::id_key(id)))
    return rc;
  if (int rc = erase_signals(t, id, std::numeric_limits<std::uint64_t>::max()))
    return rc;
  return t.del(checkpoints_, codec::id_key(id));
}

/// Deletes job `id`'s signals with a seq up to `up_to`.
int lmdb_store::erase_signals(lmdb::txn& t, job_id id, std::uint64_t up_to) {
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
int lmdb_store::quarantine(lmdb::txn& t, const op& o) {
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
int lmdb_store::drop_index_entries(lmdb::txn& t, job_id id, bool every_status) {
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
result<void> lmdb_store::grow_map() {
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

} // namespace jobrt::storage
