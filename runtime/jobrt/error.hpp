#pragma once

/// Errors that jobrt reports to its callers, and `result<T>`, the value-or-error
/// type every facade call returns. No facade call throws on bad input.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace jobrt {

/// What went wrong, as a stable code. The HTTP example maps each code to a status.
enum class errc : std::uint8_t {
  /// The job type name is not registered.
  unknown_job_type = 1,
  /// A JSON document did not parse.
  malformed_json,
  /// Parameters parsed but are missing a field or have a field of the wrong type.
  invalid_params,
  /// A payload (parameters, state, output) is larger than the configured limit.
  payload_too_large,
  /// No job has this id.
  not_found,
  /// The state machine does not allow this transition from the job's status.
  illegal_transition,
  /// The store is full and could not grow; nothing acknowledged was lost.
  storage_full,
  /// Another storage failure (I/O error, read-only or locked directory, ...).
  storage_error,
  /// A stored record could not be decoded; it was quarantined.
  corrupt_record,
  /// The runtime is shutting down and takes no new work.
  shutting_down,
  /// A request to the runtime's actors did not get an answer in time.
  timeout,
  /// An argument outside the accepted range (a negative limit, an empty name, ...).
  invalid_argument,
};

/// Stable snake_case name of an error code, e.g. "unknown_job_type".
const char* to_string(errc code) noexcept;

/// Writes `to_string(code)`.
std::ostream& operator<<(std::ostream& out, errc code);

/// An error code with a sentence for humans.
struct error {
  errc code{}; // value-initialised: a default-constructed error is never read uninitialised
  std::string message;
};

/// Either a value or an `error`. Check with `ok()` (or `if (r)`) before `value()`.
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : data_(std::move(value)) {}
  result(jobrt::error err) : data_(std::move(err)) {}

  bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const jobrt::error& error() const { return std::get<1>(data_); }

private:
  std::variant<T, jobrt::error> data_;
};

/// A `result` without a value: success, or an error.
template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(jobrt::error err) : err_(std::move(err)) {}

  bool ok() const noexcept { return !err_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const jobrt::error& error() const { return *err_; }

private:
  std::optional<jobrt::error> err_;
};

} // namespace jobrt
