/// The facade's calls: each one's asynchronous form sends one request to the
/// scheduler; its future and synchronous forms wrap that.

#include <algorithm>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "jobrt/runtime.hpp"
#include "jobrt/tick_rule.hpp"

#include "facade/runtime_impl.hpp"

namespace json = boost::json;

namespace jobrt {

namespace {

/// Owners are index keys, and LMDB keys hold at most 511 bytes.
constexpr std::size_t max_owner_bytes = 256;

/// Parses JSON text from a caller; never throws. The error names the byte offset.
result<json::value> parse_params(std::string_view text, std::size_t limit) {
  if (text.size() > limit)
    return error{errc::payload_too_large, "parameters are " + std::to_string(text.size())
                                            + " bytes, over the limit of "
                                            + std::to_string(limit)};
  json::stream_parser p;
  json::error_code ec;
  auto used = p.write(text.data(), text.size(), ec);
  if (!ec)
    p.finish(ec);
  if (ec)
    return error{errc::malformed_json, "malformed JSON at byte " + std::to_string(used) + ": "
                                         + ec.message()};
  return p.release();
}

/// Checks one submit on the caller's thread: the owner, the type, the
/// parameters and their size. Nothing reaches the actors unless it passes.
result<void> check_submit(const runtime_options& opts, std::string_view type,
                          const json::value& params, const submit_options& so) {
  if (so.owner.size() > max_owner_bytes)
    return error{errc::invalid_argument, "owner is " + std::to_string(so.owner.size())
                                           + " bytes, over the limit of "
                                           + std::to_string(max_owner_bytes)};
  constexpr std::size_t most_after = 1000;
  if (so.after.size() > most_after)
    return error{errc::invalid_argument, "a job can run after at most "
                                           + std::to_string(most_after) + " jobs (got "
                                           + std::to_string(so.after.size()) + ")"};
  if (std::find(so.after.begin(), so.after.end(), job_id{0}) != so.after.end())
    return error{errc::invalid_argument, "`after` names job 0, which no job is"};
  if (!so.after.empty() && so.run_at != 0)
    return error{errc::invalid_argument, "a job with `after` takes no run_at: it starts "
                                         "when the jobs it runs after have finished"};
  if (auto ok = opts.types->validate(type, params); !ok)
    return ok.error();
  if (has_non_finite(params))
    return error{errc::invalid_params, "parameters hold a number that is not finite"};
  auto size = json_size(params);
  if (size > opts.max_payload_bytes)
    return error{errc::payload_too_large, "parameters are " + std::to_string(size)
                                            + " bytes, over the limit of "
                                            + std::to_string(opts.max_payload_bytes)};
  return {};
}

/// Answers without asking the scheduler (a refusal, an empty bulk submit): the
/// handler runs on the calling thread, as a reply would run it.
template <class T>
void answer_now(completion<T> done, result<T> r) {
  proto::make_reply<T>(std::move(done))->set_value(std::move(r));
}

/// The same check for a signal's name and payload.
result<void> check_signal(const runtime_options& opts, std::string_view name,
                          const json::value& payload) {
  constexpr std::size_t max_signal_name = 128;
  if (name.empty() || name.size() > max_signal_name)
    return error{errc::invalid_argument, "a signal's name must be 1 to "
                                           + std::to_string(max_signal_name) + " bytes long (got "
                                           + std::to_string(name.size()) + ")"};
  if (has_non_finite(payload))
    return error{errc::invalid_argument,
                 "a signal's payload holds a number that is not finite (JSON cannot store it)"};
  auto size = json_size(payload);
  if (size > opts.max_payload_bytes)
    return error{errc::payload_too_large, "the signal's payload is " + std::to_string(size)
                                            + " bytes, over the limit of "
                                            + std::to_string(opts.max_payload_bytes)};
  return {};
}

/// Checks a schedule on the caller's thread: its name, rule, options, and the
/// submit its ticks make.
result<void> check_schedule(const runtime_options& opts, std::string_view name,
                            std::string_view spec, std::string_view type,
                            const json::value& params, const schedule_options& so) {
  if (auto ok = check_schedule_name(name); !ok)
    return ok;
  if (auto rule = tick_rule::parse(spec, so.time_zone); !rule)
    return rule.error();
  constexpr std::uint32_t most_catch_up = 10'000;
  if (so.max_catch_up < 1 || so.max_catch_up > most_catch_up)
    return error{errc::invalid_argument, "max_catch_up must be 1 to "
                                           + std::to_string(most_catch_up) + " (got "
                                           + std::to_string(so.max_catch_up) + ")"};
  if (so.grace_ms < 0 || so.timeout_ms < 0)
    return error{errc::invalid_argument, "grace_ms and timeout_ms cannot be negative"};
  submit_options ticks;
  ticks.owner = so.owner;
  return check_submit(opts, type, params, ticks);
}

} // namespace

// -- asynchronous forms: each sends one request to the scheduler ------------------------

void runtime::submit_async(std::string_view type, const json::value& params,
                           const submit_options& opts, completion<submitted> done) {
  auto& rt = *impl_;
  if (auto ok = check_submit(rt.opts, type, params, opts); !ok)
    return answer_now<submitted>(std::move(done), ok.error());
  proto::submit_request req{std::string{type}, params, opts};
  canonicalize_numbers(req.params);
  rt.call(std::move(done), proto::submit_atom::value, std::move(req));
}

void runtime::submit_json_async(std::string_view type, std::string_view params_json,
                                const submit_options& opts, completion<submitted> done) {
  auto params = parse_params(params_json, impl_->opts.max_payload_bytes);
  if (!params)
    return answer_now<submitted>(std::move(done), params.error());
  submit_async(type, *params, opts, std::move(done));
}

void runtime::submit_many_async(std::string_view type, std::vector<json::value> params,
                                const submit_options& opts,
                                completion<std::vector<job_id>> done) {
  auto& rt = *impl_;
  if (!opts.idempotency_key.empty())
    return answer_now<std::vector<job_id>>(
      std::move(done), error{errc::invalid_argument,
                             "an idempotency key names one job; submit_many takes none"});
  for (std::size_t i = 0; i < params.size(); ++i)
    if (auto ok = check_submit(rt.opts, type, params[i], opts); !ok)
      return answer_now<std::vector<job_id>>(
        std::move(done), error{ok.error().code, "job " + std::to_string(i) + ": "
                                                  + ok.error().message});
  if (params.empty())
    return answer_now<std::vector<job_id>>(std::move(done), std::vector<job_id>{});
  proto::bulk_submit_request req{std::string{type}, std::move(params), opts};
  for (auto& p : req.params)
    canonicalize_numbers(p);
  rt.call(std::move(done), proto::submit_atom::value, std::move(req));
}

void runtime::pause_async(job_id id, completion<void> done) {
  impl_->call(std::move(done), proto::pause_atom::value, id);
}

void runtime::resume_async(job_id id, completion<void> done) {
  impl_->call(std::move(done), proto::resume_atom::value, id);
}

void runtime::cancel_async(job_id id, completion<void> done) {
  impl_->call(std::move(done), proto::cancel_atom::value, id);
}

void runtime::retry_async(job_id id, completion<void> done) {
  impl_->call(std::move(done), proto::retry_atom::value, id);
}

void runtime::signal_async(job_id id, std::string_view name, json::value payload,
                           completion<void> done) {
  canonicalize_numbers(payload);
  if (auto ok = check_signal(impl_->opts, name, payload); !ok)
    return answer_now<void>(std::move(done), ok.error());
  job_signal s;
  s.name = std::string{name};
  s.payload = std::move(payload);
  impl_->call(std::move(done), proto::signal_atom::value, id, std::move(s));
}

void runtime::remove_async(job_id id, completion<void> done) {
  impl_->call(std::move(done), proto::remove_atom::value, id);
}

void runtime::clear_async(job_status status, completion<std::size_t> done) {
  impl_->call(std::move(done), proto::clear_atom::value, status);
}

void runtime::force_fail_async(job_id id, std::string reason, completion<void> done) {
  impl_->call(std::move(done), proto::force_fail_atom::value, id, std::move(reason));
}

void runtime::pause_type_async(std::string_view type, bool pause_running,
                               completion<void> done) {
  impl_->call(std::move(done), proto::pause_type_atom::value, std::string{type}, pause_running);
}

void runtime::resume_type_async(std::string_view type, completion<void> done) {
  impl_->call(std::move(done), proto::resume_type_atom::value, std::string{type}, false);
}

void runtime::get_async(job_id id, completion<job_record> done) {
  impl_->call(std::move(done), proto::get_atom::value, id);
}

void runtime::actor_of_async(job_id id, completion<caf::actor> done) {
  impl_->call(std::move(done), proto::actor_of_atom::value, id);
}

void runtime::wait_async(job_id id, completion<job_record> done) {
  impl_->call(std::move(done), proto::wait_atom::value, id);
}

void runtime::list_async(const list_query& q, completion<list_page> done) {
  auto& rt = *impl_;
  std::shared_lock reading{rt.store_mtx};
  if (!rt.store)
    return answer_now<list_page>(std::move(done),
                                 error{errc::shutting_down, "the runtime is shut down"});
  auto page = rt.store->list(q);
  reading.unlock();
  if (!page)
    return answer_now<list_page>(std::move(done), page.error());
  rt.call(std::move(done), proto::live_progress_atom::value, std::move(*page));
}

void runtime::stats_async(completion<runtime_stats> done) {
  impl_->call(std::move(done), proto::stats_atom::value);
}

void runtime::schedule_async(std::string_view name, std::string_view spec, std::string_view type,
                             const json::value& params, const schedule_options& opts,
                             completion<schedule_info> done) {
  auto& rt = *impl_;
  if (auto ok = check_schedule(rt.opts, name, spec, type, params, opts); !ok)
    return answer_now<schedule_info>(std::move(done), ok.error());
  schedule_info s;
  s.name = std::string{name};
  s.spec = std::string{spec};
  s.type = std::string{type};
  s.params = params;
  canonicalize_numbers(s.params);
  s.options = opts;
  if (s.options.time_zone.empty())
    s.options.time_zone = "UTC";
  rt.call(std::move(done), proto::schedule_atom::value, std::move(s));
}

void runtime::unschedule_async(std::string_view name, completion<void> done) {
  if (auto ok = check_schedule_name(name); !ok)
    return answer_now<void>(std::move(done), ok);
  impl_->call(std::move(done), proto::unschedule_atom::value, std::string{name});
}

void runtime::pause_schedule_async(std::string_view name, completion<void> done) {
  if (auto ok = check_schedule_name(name); !ok)
    return answer_now<void>(std::move(done), ok);
  impl_->call(std::move(done), proto::pause_schedule_atom::value, std::string{name}, true);
}

void runtime::resume_schedule_async(std::string_view name, completion<void> done) {
  if (auto ok = check_schedule_name(name); !ok)
    return answer_now<void>(std::move(done), ok);
  impl_->call(std::move(done), proto::pause_schedule_atom::value, std::string{name}, false);
}

void runtime::list_schedules_async(completion<std::vector<schedule_info>> done) {
  impl_->call(std::move(done), proto::list_schedules_atom::value);
}

// -- futures: the asynchronous forms, answered through a promise -----------------------

std::future<result<submitted>> runtime::submit_async(std::string_view type,
                                                     const json::value& params,
                                                     const submit_options& opts) {
  return impl::as_future<submitted>(
    [&](auto done) { submit_async(type, params, opts, std::move(done)); });
}

std::future<result<submitted>> runtime::submit_json_async(std::string_view type,
                                                          std::string_view params_json,
                                                          const submit_options& opts) {
  return impl::as_future<submitted>(
    [&](auto done) { submit_json_async(type, params_json, opts, std::move(done)); });
}

std::future<result<std::vector<job_id>>>
runtime::submit_many_async(std::string_view type, std::vector<json::value> params,
                           const submit_options& opts) {
  return impl::as_future<std::vector<job_id>>(
    [&](auto done) { submit_many_async(type, std::move(params), opts, std::move(done)); });
}

std::future<result<void>> runtime::pause_async(job_id id) {
  return impl::as_future<void>([&](auto done) { pause_async(id, std::move(done)); });
}

std::future<result<void>> runtime::resume_async(job_id id) {
  return impl::as_future<void>([&](auto done) { resume_async(id, std::move(done)); });
}

std::future<result<void>> runtime::cancel_async(job_id id) {
  return impl::as_future<void>([&](auto done) { cancel_async(id, std::move(done)); });
}

std::future<result<void>> runtime::retry_async(job_id id) {
  return impl::as_future<void>([&](auto done) { retry_async(id, std::move(done)); });
}

std::future<result<void>> runtime::signal_async(job_id id, std::string_view name,
                                                json::value payload) {
  return impl::as_future<void>(
    [&](auto done) { signal_async(id, name, std::move(payload), std::move(done)); });
}

std::future<result<void>> runtime::remove_async(job_id id) {
  return impl::as_future<void>([&](auto done) { remove_async(id, std::move(done)); });
}

std::future<result<std::size_t>> runtime::clear_async(job_status status) {
  return impl::as_future<std::size_t>([&](auto done) { clear_async(status, std::move(done)); });
}

std::future<result<void>> runtime::force_fail_async(job_id id, std::string reason) {
  return impl::as_future<void>(
    [&](auto done) { force_fail_async(id, std::move(reason), std::move(done)); });
}

std::future<result<void>> runtime::pause_type_async(std::string_view type, bool pause_running) {
  return impl::as_future<void>(
    [&](auto done) { pause_type_async(type, pause_running, std::move(done)); });
}

std::future<result<void>> runtime::resume_type_async(std::string_view type) {
  return impl::as_future<void>([&](auto done) { resume_type_async(type, std::move(done)); });
}

std::future<result<job_record>> runtime::get_async(job_id id) {
  return impl::as_future<job_record>([&](auto done) { get_async(id, std::move(done)); });
}

std::future<result<caf::actor>> runtime::actor_of_async(job_id id) {
  return impl::as_future<caf::actor>([&](auto done) { actor_of_async(id, std::move(done)); });
}

std::future<result<job_record>> runtime::wait_async(job_id id) {
  return impl::as_future<job_record>([&](auto done) { wait_async(id, std::move(done)); });
}

std::future<result<list_page>> runtime::list_async(const list_query& q) {
  return impl::as_future<list_page>([&](auto done) { list_async(q, std::move(done)); });
}

std::future<result<runtime_stats>> runtime::stats_async() {
  return impl::as_future<runtime_stats>([&](auto done) { stats_async(std::move(done)); });
}

std::future<result<schedule_info>> runtime::schedule_async(std::string_view name,
                                                           std::string_view spec,
                                                           std::string_view type,
                                                           const json::value& params,
                                                           const schedule_options& opts) {
  return impl::as_future<schedule_info>(
    [&](auto done) { schedule_async(name, spec, type, params, opts, std::move(done)); });
}

std::future<result<void>> runtime::unschedule_async(std::string_view name) {
  return impl::as_future<void>([&](auto done) { unschedule_async(name, std::move(done)); });
}

std::future<result<void>> runtime::pause_schedule_async(std::string_view name) {
  return impl::as_future<void>([&](auto done) { pause_schedule_async(name, std::move(done)); });
}

std::future<result<void>> runtime::resume_schedule_async(std::string_view name) {
  return impl::as_future<void>([&](auto done) { resume_schedule_async(name, std::move(done)); });
}

std::future<result<std::vector<schedule_info>>> runtime::list_schedules_async() {
  return impl::as_future<std::vector<schedule_info>>(
    [&](auto done) { list_schedules_async(std::move(done)); });
}

// -- synchronous forms: the asynchronous ones, waited for --------------------------------

result<job_id> runtime::submit(std::string_view type, const json::value& params,
                               const submit_options& opts) {
  auto r = impl_->await<submitted>(
    [&](auto done) { submit_async(type, params, opts, std::move(done)); });
  if (!r)
    return r.error();
  return r->id;
}

result<std::vector<job_id>> runtime::submit_many(std::string_view type,
                                                 std::vector<json::value> params,
                                                 const submit_options& opts) {
  return impl_->await<std::vector<job_id>>(
    [&](auto done) { submit_many_async(type, std::move(params), opts, std::move(done)); });
}

result<job_id> runtime::submit_json(std::string_view type, std::string_view params_json,
                                    const submit_options& opts) {
  auto r = impl_->await<submitted>(
    [&](auto done) { submit_json_async(type, params_json, opts, std::move(done)); });
  if (!r)
    return r.error();
  return r->id;
}

result<void> runtime::pause(job_id id) {
  return impl_->await<void>([&](auto done) { pause_async(id, std::move(done)); });
}

result<void> runtime::resume(job_id id) {
  return impl_->await<void>([&](auto done) { resume_async(id, std::move(done)); });
}

result<void> runtime::cancel(job_id id) {
  return impl_->await<void>([&](auto done) { cancel_async(id, std::move(done)); });
}

result<void> runtime::retry(job_id id) {
  return impl_->await<void>([&](auto done) { retry_async(id, std::move(done)); });
}

result<void> runtime::signal(job_id id, std::string_view name, json::value payload) {
  return impl_->await<void>(
    [&](auto done) { signal_async(id, name, std::move(payload), std::move(done)); });
}

result<void> runtime::remove(job_id id) {
  return impl_->await<void>([&](auto done) { remove_async(id, std::move(done)); });
}

result<std::size_t> runtime::clear(job_status status) {
  return impl_->await<std::size_t>([&](auto done) { clear_async(status, std::move(done)); });
}

result<void> runtime::force_fail(job_id id, std::string reason) {
  return impl_->await<void>(
    [&](auto done) { force_fail_async(id, std::move(reason), std::move(done)); });
}

result<void> runtime::pause_type(std::string_view type, bool pause_running) {
  return impl_->await<void>(
    [&](auto done) { pause_type_async(type, pause_running, std::move(done)); });
}

result<void> runtime::resume_type(std::string_view type) {
  return impl_->await<void>([&](auto done) { resume_type_async(type, std::move(done)); });
}

result<job_record> runtime::get(job_id id) {
  return impl_->await<job_record>([&](auto done) { get_async(id, std::move(done)); });
}

result<caf::actor> runtime::actor_of(job_id id) {
  return impl_->await<caf::actor>([&](auto done) { actor_of_async(id, std::move(done)); });
}

result<list_page> runtime::list(const list_query& q) {
  return impl_->await<list_page>([&](auto done) { list_async(q, std::move(done)); });
}

result<runtime_stats> runtime::stats() {
  return impl_->await<runtime_stats>([&](auto done) { stats_async(std::move(done)); });
}

result<schedule_info> runtime::schedule(std::string_view name, std::string_view spec,
                                        std::string_view type, const json::value& params,
                                        const schedule_options& opts) {
  return impl_->await<schedule_info>(
    [&](auto done) { schedule_async(name, spec, type, params, opts, std::move(done)); });
}

result<void> runtime::unschedule(std::string_view name) {
  return impl_->await<void>([&](auto done) { unschedule_async(name, std::move(done)); });
}

result<void> runtime::pause_schedule(std::string_view name) {
  return impl_->await<void>([&](auto done) { pause_schedule_async(name, std::move(done)); });
}

result<void> runtime::resume_schedule(std::string_view name) {
  return impl_->await<void>([&](auto done) { resume_schedule_async(name, std::move(done)); });
}

result<std::vector<schedule_info>> runtime::list_schedules() {
  return impl_->await<std::vector<schedule_info>>(
    [&](auto done) { list_schedules_async(std::move(done)); });
}

/// Unlike the others, `wait` has a timeout of its own; a caller that gives up
/// takes its reply back from the job's waiters.
result<job_record> runtime::wait(job_id id, std::chrono::milliseconds timeout) {
  auto& rt = *impl_;
  proto::reply<job_record> rp;
  auto r = impl::await_for<job_record>(timeout, [&](completion<job_record> done) {
    rp = proto::make_reply<job_record>(std::move(done));
    rt.send(rp, proto::wait_atom::value, id);
  });
  // A final record is never a timeout: only the wait above gives one.
  if (r || r.error().code != errc::timeout)
    return r;
  caf::anon_send(rt.scheduler, proto::unwait_atom::value, id, std::move(rp));
  return error{errc::timeout, "job " + std::to_string(id) + " did not finish within "
                                + std::to_string(timeout.count()) + " ms"};
}

} // namespace jobrt
