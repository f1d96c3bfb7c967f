// The in-memory job store: the same interface and rules as the LMDB store, kept
// in maps in the process. Records are held as the immutable shared objects the
// write batches carry, so a commit copies and encodes nothing.

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "storage/codec.hpp"
#include "storage/job_store.hpp"

namespace jobrt::storage {

namespace {

class memory_store final : public job_store {
public:
  result<void> commit(const write_batch& batch) override {
    if (batch.empty())
      return {};
    // Everything that could refuse the batch is checked before any of it is
    // applied, so that a batch is applied whole or not at all.
    if (auto r = check_batch(batch); !r)
      return r;
    // In order: a later put of a record simply replaces an earlier one.
    std::unique_lock writing{mtx_};
    if (auto r = check_expected_statuses(batch); !r)
      return r;
    for (const auto& o : batch.ops())
      apply(o);
    count_commit();
    return {};
  }

  result<job_record> get(job_id id) const override {
    std::shared_lock reading{mtx_};
    auto i = jobs_.find(id);
    if (i == jobs_.end())
      return error{errc::not_found, "no job with id " + std::to_string(id)};
    return with_checkpoint(*i->second);
  }

  result<std::optional<checkpoint>> get_checkpoint(job_id id) const override {
    std::shared_lock reading{mtx_};
    auto i = checkpoints_.find(id);
    if (i == checkpoints_.end())
      return std::optional<checkpoint>{};
    return std::optional<checkpoint>{*i->second};
  }

  result<list_page> list(const list_query& q) const override {
    auto limit = q.limit == 0 ? default_list_limit : std::min(q.limit, max_list_limit);
    std::shared_lock reading{mtx_};
    list_page page;
    // Newest first, from the narrowest index the query allows.
    auto visit = [&](job_id id) {
      if (q.before != 0 && id >= q.before)
        return true;
      auto i = jobs_.find(id);
      if (i == jobs_.end() || !matches(q, summary_of(*i->second)))
        return true;
      if (page.jobs.size() == limit) {
        page.next_cursor = page.jobs.back().id;
        return false;
      }
      page.jobs.push_back(with_checkpoint(*i->second));
      return true;
    };
    auto walk = [&](const std::set<job_id>& ids) {
      auto from = q.before != 0 ? ids.lower_bound(q.before) : ids.end();
      for (auto i = std::make_reverse_iterator(from); i != ids.rend(); ++i)
        if (!visit(*i))
          return;
    };
    if (!q.owner.empty()) {
      if (auto o = by_owner_.find(q.owner); o != by_owner_.end())
        walk(o->second);
    } else if (q.statuses.size() == 1) {
      walk(by_status_[index(q.statuses.front())]);
    } else {
      auto from = q.before != 0 ? jobs_.lower_bound(q.before) : jobs_.end();
      for (auto i = std::make_reverse_iterator(from); i != jobs_.rend(); ++i)
        if (!visit(i->first))
          break;
    }
    return page;
  }

  result<void> for_each_unfinished(
    const std::function<void(const job_summary&)>& fn,
    const std::function<void(job_id, const std::string&)>&) const override {
    // Nothing in memory can be corrupt, so `on_corrupt` is never called.
    for_each_status(unfinished_statuses.begin(), unfinished_statuses.end(), fn);
    return {};
  }

  result<void>
  for_each_finished(const std::function<void(const job_summary&)>& fn) const override {
    for_each_status(finished_statuses.begin(), finished_statuses.end(), fn);
    return {};
  }

  result<std::optional<std::string>> get_setting(const std::string& name) const override {
    std::shared_lock reading{mtx_};
    auto i = settings_.find(name);
    if (i == settings_.end())
      return std::optional<std::string>{};
    return std::optional<std::string>{i->second};
  }

  result<std::vector<job_signal>> signals_of(job_id id) const override {
    std::shared_lock reading{mtx_};
    std::vector<job_signal> out;
    if (auto i = signals_.find(id); i != signals_.end())
      for (const auto& [seq, s] : i->second)
        out.push_back(*s);
    return out;
  }

  result<std::vector<schedule_info>>
  schedules(std::vector<std::pair<std::string, std::string>>*) const override {
    // Nothing in memory can be corrupt.
    std::shared_lock reading{mtx_};
    std::vector<schedule_info> out;
    out.reserve(schedules_.size());
    for (const auto& kv : schedules_)
      out.push_back(*kv.second);
    return out;
  }

  result<std::vector<job_id>> jobs_with_signals() const override {
    std::shared_lock reading{mtx_};
    std::vector<job_id> out;
    for (const auto& kv : signals_)
      out.push_back(kv.first);
    std::sort(out.begin(), out.end());
    return out;
  }

  result<std::optional<job_id>> find_unique_key(std::string_view owner,
                                                std::string_view key) const override {
    auto scoped = codec::unique_key(owner, key);
    std::shared_lock reading{mtx_};
    auto i = unique_.find(scoped);
    if (i == unique_.end())
      return std::optional<job_id>{};
    return std::optional<job_id>{i->second};
  }

  job_id last_id() const override { return last_id_.load(); }

  store_stats stats() const override {
    std::shared_lock reading{mtx_};
    store_stats s;
    s.records = jobs_.size();
    s.checkpoints = checkpoints_.size();
    s.quarantined = quarantined_.size();
    return s;
  }

private:
  using op = write_batch::op;

  static std::size_t index(job_status s) { return static_cast<std::size_t>(s); }

  /// The record as `get` returns it: with its checkpoint's time and children and, while the
  /// job is unfinished, the checkpoint's progress (as the LMDB store does).
  job_record with_checkpoint(const job_record& stored) const {
    job_record r = stored;
    if (auto c = checkpoints_.find(r.id); c != checkpoints_.end()) {
      r.checkpoint_at = c->second->at;
      r.children = c->second->children;
      if (!is_finished(r.status))
        r.progress = c->second->progress;
    }
    return r;
  }

  /// Copies the summaries under the lock, then calls `fn` without it: `fn`
  /// may read the store.
  template <class It>
  void for_each_status(It first, It last, const std::function<void(const job_summary&)>& fn) const {
    std::vector<job_summary> found;
    {
      std::shared_lock reading{mtx_};
      for (auto s = first; s != last; ++s)
        for (auto id : by_status_[index(*s)])
          found.push_back(summary_of(*jobs_.at(id)));
    }
    for (const auto& s : found)
      fn(s);
  }

  /// Ids mostly arrive in increasing order, so each insert tries the end of
  /// the set first: constant time then, instead of a walk from the root.
  static void insert_id(std::set<job_id>& ids, job_id id) { ids.insert(ids.end(), id); }

  void drop_owner_entry(const job_record& r) {
    if (r.owner.empty())
      return;
    if (auto o = by_owner_.find(r.owner); o != by_owner_.end()) {
      o->second.erase(r.id);
      if (o->second.empty())
        by_owner_.erase(o);
    }
  }

  void drop_index_entries(const job_record& r) {
    by_status_[index(r.status)].erase(r.id);
    drop_owner_entry(r);
  }

  void erase(job_id id) {
    if (auto i = jobs_.find(id); i != jobs_.end()) {
      drop_index_entries(*i->second);
      jobs_.erase(i);
    }
    checkpoints_.erase(id);
    signals_.erase(id);
  }

  void apply(const op& o) {
    switch (o.what) {
      case op::kind::put_record: {
        const auto before = jobs_.size();
        auto slot = jobs_.try_emplace(jobs_.end(), o.id);
        const bool added = jobs_.size() != before;
        auto& status_ids = by_status_[index(o.record->status)];
        if (added) {
          insert_id(status_ids, o.id);
        } else {
          const auto& old = *slot->second;
          if (old.status != o.record->status) {
            // The index node moves to its new set: no allocation.
            if (auto node = by_status_[index(old.status)].extract(o.id))
              status_ids.insert(status_ids.end(), std::move(node));
            else
              insert_id(status_ids, o.id);
          }
          if (old.owner != o.record->owner)
            drop_owner_entry(old);
        }
        if (!o.record->owner.empty()
            && (added || slot->second->owner != o.record->owner))
          insert_id(by_owner_[o.record->owner], o.id);
        slot->second = o.record;
        if (o.id > last_id_.load())
          last_id_.store(o.id);
        break;
      }
      case op::kind::put_checkpoint:
        checkpoints_[o.id] = o.cp;
        break;
      case op::kind::erase_job:
        erase(o.id);
        break;
      case op::kind::put_unique:
        unique_[o.key] = o.id;
        break;
      case op::kind::erase_unique:
        unique_.erase(o.key);
        break;
      case op::kind::quarantine:
        quarantined_[o.id] = o.key;
        erase(o.id);
        break;
      case op::kind::put_setting:
        settings_[o.key] = o.value;
        break;
      case op::kind::put_signal:
        signals_[o.id][o.signal->seq] = o.signal;
        break;
      case op::kind::erase_signals:
        if (auto i = signals_.find(o.id); i != signals_.end()) {
          auto& mine = i->second;
          mine.erase(mine.begin(), mine.upper_bound(o.seq));
          if (mine.empty())
            signals_.erase(i);
        }
        break;
      case op::kind::put_schedule:
        schedules_[o.key] = o.schedule;
        break;
      case op::kind::erase_schedule:
        schedules_.erase(o.key);
        break;
    }
  }

  /// Checks each put_record's expected status against the status the record
  /// has at that point of the batch (earlier ops of the batch included).
  result<void> check_expected_statuses(const write_batch& batch) const {
    std::vector<std::pair<job_id, std::optional<job_status>>> staged;
    auto status_now = [&](job_id id) -> std::optional<job_status> {
      for (auto i = staged.rbegin(); i != staged.rend(); ++i)
        if (i->first == id)
          return i->second;
      auto j = jobs_.find(id);
      if (j == jobs_.end())
        return std::nullopt;
      return j->second->status;
    };
    for (const auto& o : batch.ops()) {
      using op = write_batch::op;
      if (o.what == op::kind::put_record) {
        if (o.expected_status) {
          auto found = status_now(o.id);
          if (found != o.expected_status)
            return status_mismatch(o.id, *o.expected_status, found);
        }
        staged.emplace_back(o.id, o.record->status);
      } else if (o.what == op::kind::erase_job || o.what == op::kind::quarantine) {
        staged.emplace_back(o.id, std::nullopt);
      }
    }
    return {};
  }

  mutable std::shared_mutex mtx_;
  std::map<job_id, std::shared_ptr<const job_record>> jobs_;
  std::unordered_map<job_id, std::shared_ptr<const checkpoint>> checkpoints_;
  std::array<std::set<job_id>, all_statuses.size()> by_status_;
  std::map<std::string, std::set<job_id>> by_owner_;
  std::unordered_map<std::string, job_id> unique_;
  std::map<std::string, std::string> settings_;
  std::map<std::string, std::shared_ptr<const schedule_info>> schedules_;
  std::unordered_map<job_id, std::map<std::uint64_t, std::shared_ptr<const job_signal>>> signals_;
  std::map<job_id, std::string> quarantined_; ///< id -> reason
  std::atomic<job_id> last_id_{0};
};

} // namespace

std::unique_ptr<job_store> job_store::open_in_memory() {
  return std::make_unique<memory_store>();
}

} // namespace jobrt::storage
