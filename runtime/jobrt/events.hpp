#pragma once

/// Subscribing to job events: which events a subscriber wants (`event_filter`)
/// and the handle that keeps a subscription alive (`subscription`). The event
/// itself, `job_event`, is a record type (record.hpp, with its JSON codec);
/// actors that subscribe receive it as a CAF message, allowed here.

#include <functional>
#include <string>
#include <utility>

#include "caf/allowed_unsafe_message_type.hpp"

#include "jobrt/record.hpp"

namespace jobrt {

/// Which events a subscriber wants; empty fields match everything.
struct event_filter {
  job_id id = 0;
  std::string owner;
  bool progress = true; ///< false: status changes only
};

/// Keeps a subscription alive; destroying it (or `cancel()`) unsubscribes.
class subscription {
public:
  subscription() = default;
  explicit subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  subscription(subscription&& other) noexcept : cancel_(std::move(other.cancel_)) {
    other.cancel_ = nullptr;
  }
  subscription& operator=(subscription&& other) noexcept {
    if (this != &other) {
      cancel();
      cancel_ = std::move(other.cancel_);
      other.cancel_ = nullptr;
    }
    return *this;
  }
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  ~subscription() { cancel(); }

  void cancel() {
    if (cancel_) {
      auto f = std::move(cancel_);
      cancel_ = nullptr;
      f();
    }
  }

private:
  std::function<void()> cancel_;
};

} // namespace jobrt

/// Actors that subscribe receive `job_event` messages.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobrt::job_event)
