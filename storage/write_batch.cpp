/// The write batch: the operations a store applies in one transaction.

#include "storage/write_batch.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include "storage/codec.hpp"

namespace jobrt::storage {

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

void write_batch::put_schedule(std::shared_ptr<const schedule_info> s) {
  auto o = make_op(op::kind::put_schedule, 0);
  o.key = s->name;
  o.schedule = std::move(s);
  ops_.push_back(std::move(o));
}

void write_batch::erase_schedule(const std::string& name) {
  auto o = make_op(op::kind::erase_schedule, 0);
  o.key = name;
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

} // namespace jobrt::storage
