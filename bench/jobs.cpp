// The bench job types. Compiled into the jobrt-bench executable itself (not a
// static library) so that the linker keeps their static registrations.

#include <chrono>
#include <cstdint>

#include <boost/describe.hpp>

#include "bench.hpp"
#include "jobrt/job.hpp"
#include "jobrt/registry.hpp"

namespace bench {

std::atomic<std::int64_t> first_hold_step_ns{0};
std::atomic<std::int64_t> listen_started{0};
std::atomic<std::int64_t> waiter_steps{0};
std::atomic<std::int64_t> waiter_step_ns{0};

void link_jobs() {
  // nop: calling it makes this translation unit part of the link
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

struct k_params {
  std::int64_t k = 1;
};
BOOST_DESCRIBE_STRUCT(k_params, (), (k))

struct k_state {
  std::int64_t i = 0;
};
BOOST_DESCRIBE_STRUCT(k_state, (), (i))

struct noop_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = noop_type;
  static constexpr const char* description = "Completes in its first step";
  void step(jobrt::context& ctx) override {
    noop_work();
    ctx.complete();
  }
};
JOBRT_REGISTER_JOB(noop_job);

struct ckpt_job : jobrt::job<k_params, k_state> {
  static constexpr const char* name = ckpt_type;
  static constexpr const char* description = "k steps, a checkpoint after each";
  void step(jobrt::context& ctx) override {
    ++state().i;
    ctx.checkpoint();
    if (state().i >= params().k)
      ctx.complete();
  }
};
JOBRT_REGISTER_JOB(ckpt_job);

struct steps_job : jobrt::job<k_params, k_state> {
  static constexpr const char* name = steps_type;
  static constexpr const char* description = "k steps without checkpoints, then completes";
  void step(jobrt::context& ctx) override {
    noop_work();
    if (++state().i >= params().k)
      ctx.complete();
  }
};
JOBRT_REGISTER_JOB(steps_job);

struct hold_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = hold_type;
  static constexpr const char* description = "Runs once, then stays running (suspended)";
  void step(jobrt::context& ctx) override {
    std::int64_t expected = 0;
    first_hold_step_ns.compare_exchange_strong(expected, now_ns());
    ctx.suspend();
  }
};
JOBRT_REGISTER_JOB(hold_job);

struct listen_job : jobrt::job<k_params, k_state> {
  static constexpr const char* name = listen_type;
  static constexpr const char* description =
    "Stays running (suspended) and completes after k signals";
  void step(jobrt::context& ctx) override {
    ++listen_started;
    ctx.suspend(); // only signals move it on
  }
  void on_signal(jobrt::context& ctx, const jobrt::job_signal&) override {
    if (++state().i >= params().k)
      ctx.complete();
  }
};
JOBRT_REGISTER_JOB(listen_job);

struct waiter_job : jobrt::job<k_params, k_state> {
  static constexpr const char* name = waiter_type;
  static constexpr const char* description =
    "Waits for a signal, k times in a row (a checkpoint before each wait), then completes";
  void step(jobrt::context& ctx) override {
    waiter_step_ns = now_ns();
    ++waiter_steps;
    if (state().i >= params().k)
      return ctx.complete();
    // The signals taken so far are in the state: they are not delivered again.
    ctx.checkpoint();
    ctx.wait_for_signal(std::chrono::hours(1));
  }
  void on_signal(jobrt::context&, const jobrt::job_signal&) override { ++state().i; }
};
JOBRT_REGISTER_JOB(waiter_job);

struct spin_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = spin_type;
  static constexpr const char* description = "Steps forever, doing nothing";
  void step(jobrt::context&) override { noop_work(); }
};
JOBRT_REGISTER_JOB(spin_job);

} // namespace bench
