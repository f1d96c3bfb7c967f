#pragma once

/// `countdown`: counts to `n`, one number per step, with a checkpoint every 10
/// steps: the smallest job, for demos and tests. Optional `pace_ms` between steps.
/// Output: {"counted": n}.

#include <cstdint>
#include <optional>

#include "jobrt/jobrt.hpp"

namespace jobrt_examples {

struct countdown_params {
  std::int64_t n = 0;
  std::optional<std::int64_t> pace_ms;
};
BOOST_DESCRIBE_STRUCT(countdown_params, (), (n, pace_ms))

struct countdown_state {
  std::int64_t i = 0; ///< numbers counted so far
};
BOOST_DESCRIBE_STRUCT(countdown_state, (), (i))

class countdown_job : public jobrt::job<countdown_params, countdown_state> {
public:
  static constexpr const char* name = "countdown";
  static constexpr const char* description = "Counts to n, one number per step";

  void step(jobrt::context& ctx) override;
};

} // namespace jobrt_examples
