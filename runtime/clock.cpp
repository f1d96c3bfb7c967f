#include "jobrt/clock.hpp"

#include <chrono>
#include <vector>

namespace jobrt {

namespace {

millis system_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// One thread sleeping until the earliest deadline. Deadlines are wall times, so
/// a timer armed from a restored record fires at once if its time has passed.
class system_clock_impl : public clock {
public:
  system_clock_impl() : worker_([this] { run(); }) {}

  ~system_clock_impl() override {
    {
      std::lock_guard guard{mtx_};
      stopped_ = true;
      timers_.clear();
    }
    cv_.notify_one();
    worker_.join();
  }

  millis now() const override { return system_now(); }

  void call_at(millis at, std::function<void()> fn) override {
    {
      std::lock_guard guard{mtx_};
      if (stopped_)
        return;
      timers_.emplace(at, std::move(fn));
    }
    cv_.notify_one();
  }

  void cancel_all() override {
    {
      std::lock_guard guard{mtx_};
      timers_.clear();
    }
    cv_.notify_one();
  }

private:
  void run() {
    std::unique_lock lock{mtx_};
    while (!stopped_) {
      if (timers_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto due = timers_.begin()->first;
      auto now = system_now();
      if (due > now) {
        // `due - now` may be centuries: wait at most `max_single_wait` (converting
        // more to the condition variable's nanoseconds would overflow), then look again.
        cv_.wait_for(lock, bounded_wait(std::chrono::milliseconds(due - now)));
        continue;
      }
      auto fn = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::multimap<millis, std::function<void()>> timers_;
  std::thread worker_;
};

} // namespace

std::shared_ptr<clock> make_system_clock() {
  return std::make_shared<system_clock_impl>();
}

millis manual_clock::now() const {
  std::lock_guard guard{mtx_};
  return now_;
}

void manual_clock::call_at(millis at, std::function<void()> fn) {
  {
    std::lock_guard guard{mtx_};
    if (at > now_) {
      timers_.emplace(at, std::move(fn));
      return;
    }
  }
  fn(); // already due
}

void manual_clock::cancel_all() {
  std::lock_guard guard{mtx_};
  timers_.clear();
}

void manual_clock::advance(millis ms) {
  std::unique_lock lock{mtx_};
  auto until = saturating_add(now_, ms);
  while (!timers_.empty() && timers_.begin()->first <= until) {
    auto i = timers_.begin();
    now_ = std::max(now_, i->first);
    auto fn = std::move(i->second);
    timers_.erase(i);
    lock.unlock();
    fn();
    lock.lock();
  }
  now_ = until;
}

std::size_t manual_clock::pending() const {
  std::lock_guard guard{mtx_};
  return timers_.size();
}

} // namespace jobrt
