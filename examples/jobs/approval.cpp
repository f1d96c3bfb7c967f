#include "approval.hpp"

#include <chrono>

namespace jobrt_examples {

namespace {

/// The string member `key` of a JSON object payload, or `fallback`.
std::string payload_text(const boost::json::value& payload, const char* key,
                         const char* fallback) {
  if (const auto* obj = payload.if_object())
    if (const auto* v = obj->if_contains(key); v && v->is_string() && !v->get_string().empty())
      return std::string{v->get_string()};
  return fallback;
}

} // namespace

void approval_job::on_signal(jobrt::context&, const jobrt::job_signal& s) {
  auto& st = state();
  st.signalled = true;
  if (!st.decision.empty())
    return; // the first decision stands
  if (s.name == "approve") {
    st.decision = "approve";
    st.by = payload_text(s.payload, "by", "anonymous");
  } else if (s.name == "reject") {
    st.decision = "reject";
    st.reason = payload_text(s.payload, "reason", "no reason given");
  }
}

void approval_job::step(jobrt::context& ctx) {
  auto& st = state();
  if (st.decision == "approve") {
    ctx.progress(1.0, "approved", "approved by " + st.by);
    ctx.complete(boost::json::object{{"approved_by", st.by}});
    return;
  }
  if (st.decision == "reject") {
    ctx.fail("rejected: " + st.reason);
    return;
  }
  auto timeout_s = params().timeout_s.value_or(3600);
  constexpr std::int64_t max_timeout_s = 10LL * 366 * 24 * 3600; // seconds -> ms must not wrap
  if (timeout_s <= 0 || timeout_s > max_timeout_s) {
    ctx.fail("timeout_s must be 1 to " + std::to_string(max_timeout_s) + " (ten years)");
    return;
  }
  if (st.asked && !st.signalled) {
    ctx.fail("no approval within " + std::to_string(timeout_s) + " s");
    return;
  }
  st.asked = true;
  st.signalled = false;
  ctx.progress(0.0, "waiting for approval", "send the signal 'approve' or 'reject'");
  ctx.checkpoint();
  ctx.wait_for_signal(std::chrono::seconds{timeout_s});
}

JOBRT_REGISTER_JOB(approval_job);

} // namespace jobrt_examples
