#pragma once

/// Time, injected. The runtime reads wall time and arms every timer (rate-limit
/// waits, retries, delayed starts) through a `clock`, so that tests can drive
/// time by hand with `manual_clock` instead of sleeping.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "jobrt/record.hpp"

namespace jobrt {

// -- arithmetic on times that saturates ---------------------------------------------

/// `at + delay` in milliseconds, held at the ends of `millis` instead of wrapping:
/// a delay of 10^13 ms or a deadline in the year 9999 stays far in the future
/// rather than turning into the past. Every deadline the runtime computes goes
/// through this (or `saturating_add` of durations).
constexpr millis saturating_add(millis at, millis delay) noexcept {
  constexpr auto hi = std::numeric_limits<millis>::max();
  constexpr auto lo = std::numeric_limits<millis>::min();
  if (delay > 0 && at > hi - delay)
    return hi;
  if (delay < 0 && at < lo - delay)
    return lo;
  return at + delay;
}

/// The longest a thread or a timer of the runtime waits in one go. Standard
/// clocks count nanoseconds in 64 bits, so `steady_clock::now() + d` overflows
/// for a `d` of about 292 years; longer waits are made of several of these.
inline constexpr std::chrono::milliseconds max_single_wait{std::chrono::hours{24 * 366}};

/// `d`, at most `max_single_wait` and at least zero.
constexpr std::chrono::milliseconds bounded_wait(std::chrono::milliseconds d) noexcept {
  if (d.count() < 0)
    return std::chrono::milliseconds{0};
  return d < max_single_wait ? d : max_single_wait;
}

class clock {
public:
  virtual ~clock() = default;
  /// Wall time in milliseconds since the Unix epoch.
  virtual millis now() const = 0;
  /// Calls `fn` once, on the clock's own thread, when `now() >= at` (at once if
  /// `at` has passed). The callback must be quick: it should only send a message.
  /// Any `at` is valid, up to the largest `millis` (a timer that never fires in
  /// practice).
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

  /// Moves time forward by `ms` (saturating) and fires every callback due by then.
  void advance(millis ms);
  /// How many callbacks are armed and not yet fired.
  std::size_t pending() const;

private:
  mutable std::mutex mtx_;
  millis now_;
  std::multimap<millis, std::function<void()>> timers_;
};

} // namespace jobrt
