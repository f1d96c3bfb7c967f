#include "countdown.hpp"

namespace jobrt_examples {

void countdown_job::step(jobrt::context& ctx) {
  const auto n = params().n;
  if (n < 0) {
    ctx.fail("n must not be negative");
    return;
  }
  auto& i = state().i;
  if (i < n)
    ++i;
  ctx.progress(n > 0 ? static_cast<double>(i) / static_cast<double>(n) : 1.0, "counting",
               std::to_string(n - i) + " to go");
  if (i >= n) {
    ctx.complete(boost::json::object{{"counted", i}});
    return;
  }
  if (i % 10 == 0)
    ctx.checkpoint();
  if (auto pace = params().pace_ms.value_or(0); pace > 0)
    ctx.next_step_after(std::chrono::milliseconds{pace});
}

JOBRT_REGISTER_JOB(countdown_job);

} // namespace jobrt_examples
