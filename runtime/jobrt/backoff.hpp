#pragma once

/// Retry backoff: exponential, capped, with jitter. A pure function, so that its
/// sequence and bounds can be checked without a clock.

#include <algorithm>
#include <cstdint>

namespace jobrt {

/// The delay before retry number `attempt` (1 = after the first failed run):
/// `d = min(max_ms, base_ms * 2^(attempt-1))`, then "equal jitter": the result
/// lies in [d/2, d], placed by `unit` (a random number in [0, 1)). Retries of many
/// jobs that failed together therefore spread out instead of arriving at once.
constexpr std::int64_t backoff_delay(std::uint32_t attempt, std::int64_t base_ms,
                                     std::int64_t max_ms, double unit) noexcept {
  base_ms = std::max<std::int64_t>(base_ms, 0);
  max_ms = std::max<std::int64_t>(max_ms, 0);
  std::int64_t d = base_ms;
  for (std::uint32_t i = 1; i < attempt && d < max_ms; ++i)
    d = d > max_ms / 2 ? max_ms : d * 2; // doubling past max_ms could wrap
  d = std::min(d, max_ms);
  unit = std::clamp(unit, 0.0, 1.0);
  auto half = d / 2;
  return half + static_cast<std::int64_t>(static_cast<double>(d - half) * unit);
}

} // namespace jobrt
