#pragma once

/// Time, injected. The runtime reads wall time and arms every timer (rate-limit
/// waits, retries, delayed starts) through a `clock`, so that tests can drive
/// time by hand with `manual_clock` instead of sleeping.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "jobrt/record.hpp"

namespace jobrt {

class clock {
public:
  virtual ~clock() = default;
  /// Wall time in milliseconds since the Unix epoch.
  virtual millis now() const = 0;
  /// Calls `fn` once, on the clock's own thread, when `now() >= at` (at once if
  /// `at` has passed). The callback must be quick: it should only send a message.
  virtual void call_at(millis at, std::function<void()> fn) = 0;
  /// Drops every pending callback (the runtime does so when it shuts down); the
  /// clock keeps working for later `call_at`s.
  virtual void cancel_all() = 0;
};

/// The real clock: `std::chrono::system_clock`, with one timer thread.
std::shared_ptr<clock> make_system_clock();

/// A clock that only moves when told. `advance` runs the callbacks that come due
/// on the calling thread, in time order.
class manual_clock : public clock {
public:
  explicit manual_clock(millis start = 1'700'000'000'000) : now_(start) {}

  millis now() const override;
  void call_at(millis at, std::function<void()> fn) override;
  void cancel_all() override;

  /// Moves time forward by `ms` and fires every callback due by then.
  void advance(millis ms);
  /// How many callbacks are armed and not yet fired.
  std::size_t pending() const;

private:
  mutable std::mutex mtx_;
  millis now_;
  std::multimap<millis, std::function<void()>> timers_;
};

} // namespace jobrt
