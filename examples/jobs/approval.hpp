#pragma once

/// `approval`: waits for a person (or another system) to approve, without
/// holding a slot. Its first step checkpoints and waits for a signal
/// (`waiting`, `waiting_for: "signal"`); the signal `approve` with
/// `{"by": NAME}` completes it with {"approved_by": NAME}, `reject` (optional
/// `{"reason": TEXT}`) fails it. Any other signal is ignored and the job waits
/// again. Without a signal it fails after `timeout_s` (default 3600 s), counted
/// from the last signal it got. Try it: submit `approval`, then
/// `POST /api/jobs/{id}/signals/approve` with `{"by": "ops"}`.

#include <cstdint>
#include <optional>
#include <string>

#include "jobrt/jobrt.hpp"

namespace jobrt_examples {

struct approval_params {
  std::optional<std::int64_t> timeout_s; ///< how long to wait for a signal; default 3600
};
BOOST_DESCRIBE_STRUCT(approval_params, (), (timeout_s))

struct approval_state {
  bool asked = false;      ///< the first wait has begun
  bool signalled = false;  ///< a signal arrived since the last wait began
  std::string decision;    ///< "", "approve" or "reject"
  std::string by;          ///< who approved ("by" of the payload)
  std::string reason;      ///< why it was rejected ("reason" of the payload)
};
BOOST_DESCRIBE_STRUCT(approval_state, (), (asked, signalled, decision, by, reason))

class approval_job : public jobrt::job<approval_params, approval_state> {
public:
  static constexpr const char* name = "approval";
  static constexpr const char* description =
    "Waits for the signal 'approve' ({\"by\": NAME}) or 'reject' ({\"reason\": TEXT})";

  void step(jobrt::context& ctx) override;
  void on_signal(jobrt::context& ctx, const jobrt::job_signal& s) override;
};

} // namespace jobrt_examples
