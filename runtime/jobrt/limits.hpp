#pragma once

/// Limits on how fast or how many jobs start, shared by the job authoring API
/// (`job_type_options::limits`) and the runtime's options
/// (`runtime_options::resources`).

#include <cstdint>
#include <string>

namespace jobrt {

/// A limit on how fast or how many jobs start: declared by a job type for
/// itself, or shared by several types through `runtime_options::resources`
/// (an external API they all call, say). Jobs held back by a limit stay queued
/// and never block jobs behind them that are free to run.
struct resource_limit {
  std::string name;
  /// At most `starts` starts in any window of `per_ms` (a sliding window: the
  /// limit holds for every window, not only for aligned ones); 0 = no rate limit.
  std::uint32_t starts = 0;
  std::int64_t per_ms = 0;
  /// At most this many running at once; 0 = no concurrency limit.
  std::uint32_t max_running = 0;
  /// What makes jobs share the limit: "" = all of them, "owner" = one limit per
  /// owner, "params.FIELD" = one limit per value of that top-level parameter.
  std::string key;
};

} // namespace jobrt
