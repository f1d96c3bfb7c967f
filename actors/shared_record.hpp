#pragma once

/// A job's full record, shared by the scheduler with the writes that carry it,
/// the store and the job actor that runs it, rather than copied for each.

#include <memory>
#include <utility>

#include "jobrt/record.hpp"

namespace jobrt {

/// Once shared, a record is never changed in place: `edit` gives this holder a
/// copy of its own first. A flag says whether it was shared, not the pointer's
/// use count: that count is read without ordering against the other thread's
/// last reads of the record.
class shared_record {
public:
  shared_record() = default;
  explicit shared_record(job_record r) : ptr_(std::make_shared<job_record>(std::move(r))) {}

  /// A holder of a record others hold too (a write's, say): never changed in place.
  static shared_record held_elsewhere(std::shared_ptr<const job_record> r) {
    shared_record out;
    out.ptr_ = std::const_pointer_cast<job_record>(std::move(r)); // only ever read
    out.shared_ = true;
    return out;
  }

  shared_record(shared_record&&) noexcept = default;
  shared_record& operator=(shared_record&&) noexcept = default;
  shared_record(const shared_record&) = delete;
  shared_record& operator=(const shared_record&) = delete;

  explicit operator bool() const noexcept { return ptr_ != nullptr; }
  const job_record& operator*() const noexcept { return *ptr_; }
  const job_record* operator->() const noexcept { return ptr_.get(); }

  /// The record, to change.
  job_record& edit() {
    if (shared_) {
      ptr_ = std::make_shared<job_record>(*ptr_);
      shared_ = false;
    }
    return *ptr_;
  }

  /// The record for another holder; from now on it is not changed in place.
  std::shared_ptr<const job_record> share() {
    shared_ = true;
    return ptr_;
  }

  /// A second holder of the same record.
  shared_record second_holder() { return held_elsewhere(share()); }

  void reset() noexcept {
    ptr_.reset();
    shared_ = false;
  }

private:
  std::shared_ptr<job_record> ptr_;
  bool shared_ = false;
};

} // namespace jobrt
