/// The `context` a job's code receives, and how the job actor acts on what the
/// job asked for through it (`settle`): a checkpoint, an ending, the next step.

#include <algorithm>
#include <chrono>
#include <cmath>

#include "actors/job_actor_state.hpp"
#include "actors/test_hooks.hpp"

namespace jobrt::job_actor_detail {

// -- job_context ------------------------------------------------------------------------

job_id job_context::id() const {
  return cur().start.id;
}

std::uint32_t job_context::attempt() const {
  return cur().start.attempt;
}

std::string_view job_context::node() const {
  return cur().start.node;
}

void job_context::progress(double fraction, std::string_view stage, std::string_view message) {
  auto& p = cur().prog;
  p.fraction = std::isfinite(fraction) ? std::clamp(fraction, 0.0, 1.0) : 0.0;
  set_text(stage, message);
}

void job_context::progress_indeterminate(std::string_view stage, std::string_view message) {
  cur().prog.fraction.reset();
  set_text(stage, message);
}

void job_context::progress_detail(boost::json::value detail) {
  canonicalize_numbers(detail);
  cur().prog.detail = has_non_finite(detail) ? boost::json::value{} : std::move(detail);
  cur().progress_dirty = true;
}

void job_context::checkpoint() {
  cur().want_checkpoint = true;
  settle_outside_step();
}

result<job_id> job_context::spawn_child(std::string_view type, boost::json::value params,
                                        const submit_options& opts) {
  auto& c = cur();
  const auto& env = *self_->state.env;
  if (c.outcome)
    return error{errc::illegal_transition, "a job cannot spawn a child after its run ended"};
  if (env.store == nullptr)
    return error{errc::invalid_argument, "a job on a worker node cannot spawn children: "
                                         "the store they are written to is the coordinator's"};
  if (!opts.idempotency_key.empty() || opts.run_at != 0 || !opts.after.empty())
    return error{errc::invalid_argument, "a child takes no idempotency key, run_at or after: "
                                         "it starts once its parent's checkpoint is durable"};
  if (auto ok = env.types->validate(type, params); !ok)
    return ok.error();
  canonicalize_numbers(params);
  if (has_non_finite(params))
    return error{errc::invalid_params, "parameters hold a number that is not finite"};
  if (auto size = json_size(params); size > env.opts.max_payload_bytes)
    return error{errc::payload_too_large, "parameters are " + std::to_string(size)
                                            + " bytes, over the limit of "
                                            + std::to_string(env.opts.max_payload_bytes)};
  const auto defaults = env.types->find(type)->options;
  auto child = std::make_shared<job_record>();
  child->id = env.next_id();
  child->type = std::string{type};
  child->params = std::move(params);
  child->owner = opts.owner.empty() ? c.owner : opts.owner;
  child->priority = opts.priority;
  child->created_at = env.clock->now();
  child->max_attempts = std::max<std::uint32_t>(
    1, opts.max_attempts != 0 ? opts.max_attempts : defaults.max_attempts);
  child->timeout_ms = opts.timeout_ms != 0 ? opts.timeout_ms : defaults.timeout_ms;
  child->parent = id();
  c.children.push_back(child->id);
  c.new_children.push_back(std::move(child));
  c.want_checkpoint = true;
  return c.children.back();
}

void job_context::wait_for_children() {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::awaiting_children;
  o.children = cur().children;
  cur().want_checkpoint = true; // the run after the children goes on from here
  set_outcome(std::move(o));
}

const std::vector<job_id>& job_context::child_ids() const {
  return cur().children;
}

result<std::vector<job_record>> job_context::children() const {
  if (self_->state.env->store == nullptr)
    return error{errc::invalid_argument, "a job on a worker node cannot read its children: "
                                         "the store is the coordinator's"};
  std::vector<job_record> out;
  out.reserve(cur().children.size());
  for (auto child : cur().children) {
    auto rec = self_->state.env->store->get(child);
    if (rec)
      out.push_back(std::move(*rec));
    else if (rec.error().code != errc::not_found)
      return rec.error();
  }
  return out;
}

void job_context::log(std::string_view message) {
  log_line(cur().type + " #" + std::to_string(id()) + ": " + std::string{message});
}

void job_context::complete(boost::json::value output) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::completed;
  canonicalize_numbers(output);
  o.output = std::move(output);
  set_outcome(std::move(o));
}

void job_context::fail(std::string message) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.error = std::move(message);
  set_outcome(std::move(o));
}

void job_context::fail_transient(std::string message) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.error = std::move(message);
  o.transient = true;
  set_outcome(std::move(o));
}

void job_context::rate_limited(std::chrono::milliseconds retry_after) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::rate_limited;
  o.retry_after_ms = std::max<millis>(0, retry_after.count());
  set_outcome(std::move(o));
}

void job_context::wait_for_signal(std::chrono::milliseconds timeout) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::awaiting_signal;
  o.retry_after_ms = std::max<millis>(0, timeout.count());
  set_outcome(std::move(o));
}

void job_context::suspend() {
  cur().suspended = true;
}

void job_context::next_step() {
  unsuspend();
  settle_outside_step();
}

void job_context::next_step_after(std::chrono::milliseconds delay) {
  cur().step_delay = std::max(delay, std::chrono::milliseconds{0});
  unsuspend();
  settle_outside_step();
}

void job_context::max_suspended(std::chrono::milliseconds limit) {
  cur().max_suspended = std::max(limit, std::chrono::milliseconds{0});
}

const jobrt::services& job_context::services() const {
  return self_->state.env->opts.services;
}

caf::event_based_actor* job_context::self() {
  self_->state.reusable = false;
  return self_;
}

void job_context::unsuspend() {
  auto& c = cur();
  c.suspended = false;
  if (c.overdue_armed) {
    c.overdue_armed = false;
    ++c.suspension;
  }
}

void job_context::set_text(std::string_view stage, std::string_view message) {
  auto& p = cur().prog;
  if (!stage.empty())
    p.stage.assign(stage.data(), stage.size());
  p.message.assign(message.data(), message.size());
  cur().progress_dirty = true;
}

void job_context::set_outcome(proto::job_outcome o) {
  if (!cur().outcome)
    cur().outcome = std::move(o); // the first ending wins
  settle_outside_step();
}

void job_context::settle_outside_step() {
  if (!cur().in_step)
    settle(self_);
}

// -- acting on what the job asked for ------------------------------------------------

namespace {

void maybe_send_progress(job_actor* self) {
  auto& cur = self->state.cur;
  if (!cur.progress_dirty)
    return;
  if (std::chrono::steady_clock::now() - cur.progress_sent
      >= bounded_wait(self->state.env->opts.progress_interval))
    send_progress(self, 0);
}

void queue_step(job_actor* self) {
  auto& st = self->state;
  auto& cur = st.cur;
  if (cur.step_queued || !st.busy)
    return;
  cur.step_queued = true;
  if (cur.step_delay.count() > 0) {
    // Paced steps wait on the runtime's clock, like every other timer: tests
    // drive them with a manual clock, and a delay of centuries saturates there.
    // The clock holds only a weak handle, so a long delay keeps no actor alive.
    caf::actor_addr me = self->address();
    auto run = st.run;
    st.env->clock->call_at(saturating_add(st.env->clock->now(), cur.step_delay.count()),
                           [me, run] {
                             if (auto a = caf::actor_cast<caf::actor>(me))
                               caf::anon_send(a, proto::step_atom::value, run);
                           });
    cur.step_delay = std::chrono::milliseconds{0};
    return;
  }
  self->send(self, proto::step_atom::value, st.run);
}

/// Writes state and progress as one checkpoint, then settles again.
void write_checkpoint(job_actor* self) {
  auto& st = self->state;
  auto& cur = st.cur;
  cur.want_checkpoint = false;
  checkpoint cp;
  try {
    cp.state = cur.job->save_state();
    canonicalize_numbers(cp.state);
  } catch (const std::exception& e) {
    fail_now(self, std::string{"saving the job's state threw: "} + e.what());
    return;
  }
  if (has_non_finite(cp.state)) {
    fail_now(self, "checkpoint state holds a number that is not finite (JSON cannot store it)");
    return;
  }
  auto size = json_size(cp.state);
  if (size > st.env->opts.max_payload_bytes) {
    fail_now(self, "checkpoint state is " + std::to_string(size) + " bytes, over the limit of "
                     + std::to_string(st.env->opts.max_payload_bytes));
    return;
  }
  cp.progress = cur.prog;
  cp.at = st.env->clock->now();
  cp.signals_taken = cur.signals_taken;
  cp.children = cur.children;
  cp.awaiting_children =
    cur.outcome && cur.outcome->what == proto::job_outcome::kind::awaiting_children;
  auto checkpoint_at = cp.at;
  storage::write_batch batch;
  // The children it spawned since the last checkpoint: in the same commit as
  // the checkpoint that lists them, so neither is durable without the other.
  auto children = std::move(cur.new_children);
  cur.new_children.clear();
  for (const auto& child : children)
    batch.put_record(child);
  batch.put_checkpoint(cur.start.id, std::move(cp));
  // The signals the job took are in the state it saves: in the same commit,
  // they are not delivered again.
  if (cur.signals_taken != 0)
    batch.erase_signals(cur.start.id, cur.signals_taken);
  cur.checkpoint_in_flight = true;
  auto asked_at = std::chrono::steady_clock::now();
  auto run = st.run;
  // Once the checkpoint is durable, the job goes on. A cancel or stop can end
  // the job while it is in flight: the outcome then belongs to a job that is over.
  auto on_saved = [self, run, checkpoint_at, asked_at,
                   children = std::move(children)](const result<void>& r) {
    auto& st = self->state;
    if (r && !children.empty()) // they exist now, whatever becomes of this run
      self->send(st.scheduler, proto::children_atom::value, st.cur.start.id, children);
    if (!st.busy || st.run != run) {
      test_hooks::report(test_hooks::sighting::stale_dropped, 0);
      return;
    }
    st.cur.checkpoint_in_flight = false;
    st.env->checkpoint_latency->record(std::chrono::steady_clock::now() - asked_at);
    if (!r) {
      // The failure replaces any ending the job chose; like every ending, it
      // waits for a resume if the job was paused meanwhile.
      proto::job_outcome failed;
      failed.what = proto::job_outcome::kind::failed;
      failed.error = "checkpoint could not be saved: " + r.error().message;
      st.cur.outcome = std::move(failed);
      settle(self);
      return;
    }
    send_progress(self, checkpoint_at);
    settle(self);
  };
  if (st.env->commits == commit_site::in_place) { // see actors/env.hpp
    on_saved(st.env->store->commit(batch));
    return;
  }
  self->request(st.env->persistence, caf::infinite, proto::write_atom::value, std::move(batch))
    .then(
      [=](const proto::write_ack& ack) {
        on_saved(ack.failure ? result<void>{*ack.failure} : result<void>{});
      },
      [=](caf::error& err) {
        on_saved(error{errc::storage_error, self->system().render(err)});
      });
}

/// Whether the job runs again after this ending (and so needs its checkpoint).
bool resumes_later(const proto::job_outcome& o) {
  using kind = proto::job_outcome::kind;
  return o.what == kind::rate_limited || o.what == kind::awaiting_signal
         || o.what == kind::awaiting_children || (o.what == kind::failed && o.transient);
}

/// Arms the timer after which a suspended run that no reply moved on fails.
void arm_overdue(job_actor* self) {
  auto& st = self->state;
  auto& cur = st.cur;
  auto limit = cur.max_suspended.value_or(st.env->opts.max_suspended);
  if (limit.count() <= 0)
    return;
  cur.overdue_armed = true;
  caf::actor_addr me = self->address();
  auto run = st.run;
  auto suspension = cur.suspension;
  st.env->clock->call_at(saturating_add(st.env->clock->now(), limit.count()),
                         [me, run, suspension] {
                           if (auto a = caf::actor_cast<caf::actor>(me))
                             caf::anon_send(a, proto::overdue_atom::value, run, suspension);
                         });
}

} // namespace

void send_progress(job_actor* self, millis checkpoint_at) {
  auto& cur = self->state.cur;
  cur.progress_dirty = false;
  cur.progress_sent = std::chrono::steady_clock::now();
  self->send(self->state.scheduler, proto::progress_atom::value, cur.start.id, cur.prog,
             checkpoint_at);
}

std::optional<proto::job_outcome> transient_failure(std::string what) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::failed;
  o.error = std::move(what);
  o.transient = true;
  return o;
}

void on_overdue(job_actor* self, std::uint64_t run, std::uint64_t suspension) {
  auto& st = self->state;
  auto& cur = st.cur;
  if (run != st.run || !st.busy || !cur.suspended || !cur.overdue_armed
      || cur.suspension != suspension || cur.outcome)
    return;
  auto limit = cur.max_suspended.value_or(st.env->opts.max_suspended);
  cur.outcome = transient_failure("suspended for " + std::to_string(limit.count())
                                  + " ms with no reply moving it on (max_suspended)");
  settle(self);
}

/// Acts on what the last step (or a reply handler) asked for: a checkpoint
/// first, then the ending, else the next step.
///
/// A paused job acts on nothing. Replies to its requests still reach their
/// handlers while it is paused (CAF runs response handlers whatever the
/// behavior), and what they ask for (an ending, a checkpoint, the next step) is
/// held here until the job is resumed; a cancel drops it. So a pause the caller
/// saw acknowledged holds until the caller changes it.
void settle(job_actor* self) {
  auto& st = self->state;
  auto& cur = st.cur;
  if (cur.paused)
    report_if_paused_at_rest(self); // for tests: what it holds back cannot step
  if (!st.busy || cur.checkpoint_in_flight || cur.paused)
    return;
  // A run that ends in completion, a permanent failure or a cancel needs no
  // checkpoint: writing one in its own commit before the final record would let
  // a crash between the two restart the job after its last step.
  if (cur.want_checkpoint && cur.outcome && !resumes_later(*cur.outcome)
      && cur.new_children.empty()) // children are written with a checkpoint, always
    cur.want_checkpoint = false;
  if (cur.want_checkpoint) {
    write_checkpoint(self);
    return;
  }
  if (cur.outcome) {
    finish(self, std::move(*cur.outcome));
    return;
  }
  // The next step is queued (or its timer armed) before the progress goes out,
  // so whoever sees the progress sees a job whose pace is already set.
  if (!cur.suspended)
    queue_step(self);
  else if (!cur.overdue_armed)
    arm_overdue(self);
  maybe_send_progress(self);
}

} // namespace jobrt::job_actor_detail
