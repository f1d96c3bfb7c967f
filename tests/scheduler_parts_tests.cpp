// The scheduler's plain parts, without actors: the job table, the start limits,
// the write outbox, recovery's plan and retention's, the flow table and the
// schedule book.

#define BOOST_TEST_MODULE scheduler_parts
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "jobrt/options.hpp"
#include "jobrt/registry.hpp"

#include "actors/flow_table.hpp"
#include "actors/job_table.hpp"
#include "actors/schedule_book.hpp"
#include "actors/lifecycle.hpp"
#include "actors/recovery_plan.hpp"
#include "actors/retention_plan.hpp"
#include "actors/start_limits.hpp"
#include "actors/write_outbox.hpp"
#include "storage/job_store.hpp"

using namespace jobrt;
using namespace std::chrono_literals;

namespace {

job_entry queued_entry(job_id id, std::int32_t priority = 0, std::uint16_t type = 0) {
  job_entry e;
  e.id = id;
  e.priority = priority;
  e.type = type;
  e.status = job_status::queued;
  return e;
}

/// A registry with types declared by hand: no job code is ever built here.
struct limits_fixture {
  registry types;
  runtime_options opts;

  void declare(const std::string& name, job_type_options o) {
    job_type_info info;
    info.name = name;
    info.options = std::move(o);
    auto added = types.add(std::move(info), [](const boost::json::value&, const boost::json::value*)
                                              -> result<std::unique_ptr<job_base>> {
      return error{errc::invalid_argument, "not built in these tests"};
    });
    BOOST_REQUIRE(added.ok());
  }
};

job_record record_of(job_id id, job_status status, const std::string& type = "t") {
  job_record r;
  r.id = id;
  r.type = type;
  r.status = status;
  r.max_attempts = 3;
  return r;
}

void store_records(storage::job_store& store, const std::vector<job_record>& records) {
  storage::write_batch batch;
  for (const auto& r : records)
    batch.put_record(r);
  BOOST_REQUIRE(store.commit(batch).ok());
}

} // namespace

// -- job table -------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(job_table_)

BOOST_AUTO_TEST_CASE(an_added_job_is_counted_under_its_status_until_forgotten) {
  job_table jobs;
  jobs.add(queued_entry(1));
  auto paused = queued_entry(2);
  paused.status = job_status::paused;
  jobs.add(std::move(paused));
  BOOST_TEST(jobs.count(job_status::queued) == 1u);
  BOOST_TEST(jobs.count(job_status::paused) == 1u);
  jobs.forget(1);
  BOOST_TEST(jobs.count(job_status::queued) == 0u);
  BOOST_TEST(jobs.find(1) == nullptr);
  BOOST_TEST(jobs.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_move_the_table_allows_changes_status_and_counts) {
  job_table jobs;
  auto& e = jobs.add(queued_entry(1));
  BOOST_REQUIRE(jobs.move(e, job_event_kind::start).ok());
  BOOST_TEST(e.status == job_status::running);
  BOOST_TEST(jobs.count(job_status::queued) == 0u);
  BOOST_TEST(jobs.count(job_status::running) == 1u);
}

BOOST_AUTO_TEST_CASE(a_move_the_table_refuses_leaves_the_job_and_the_counts_alone) {
  job_table jobs;
  auto& e = jobs.add(queued_entry(1));
  auto r = jobs.move(e, job_event_kind::complete); // queued -> completed is no edge
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.error().code == errc::illegal_transition);
  BOOST_TEST(e.status == job_status::queued);
  BOOST_TEST(jobs.count(job_status::queued) == 1u);
  BOOST_TEST(jobs.count(job_status::completed) == 0u);
}

BOOST_AUTO_TEST_CASE(a_job_enqueued_twice_is_queued_once) {
  job_table jobs;
  auto& e = jobs.add(queued_entry(1));
  jobs.enqueue(e);
  jobs.enqueue(e);
  BOOST_TEST(jobs.queued() == 1u);
  jobs.dequeue(e);
  jobs.dequeue(e);
  BOOST_TEST(jobs.queued() == 0u);
}

BOOST_AUTO_TEST_CASE(the_ready_job_is_the_highest_priority_then_the_oldest) {
  job_table jobs;
  for (auto [id, priority] : {std::pair{1, 0}, {2, 5}, {3, 5}, {4, 1}})
    jobs.enqueue(jobs.add(queued_entry(id, priority)));
  auto any = [](const job_entry&) { return true; };
  BOOST_TEST(jobs.find_ready(any, false) == 2u);
  BOOST_TEST(jobs.find_ready(any, true) == 1u);
  auto not_two = [](const job_entry& e) { return e.id != 2; };
  BOOST_TEST(jobs.find_ready(not_two, false) == 3u);
}

BOOST_AUTO_TEST_CASE(a_forgotten_job_is_never_ready) {
  job_table jobs;
  jobs.enqueue(jobs.add(queued_entry(1)));
  jobs.forget(1);
  BOOST_TEST(jobs.find_ready([](const job_entry&) { return true; }, false) == 0u);
  BOOST_TEST(jobs.queued() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// -- start limits ----------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(start_limits_, limits_fixture)

BOOST_AUTO_TEST_CASE(a_type_at_its_cap_is_held_back_and_others_pass_it) {
  job_type_options capped;
  capped.max_running = 1;
  declare("capped", capped);
  start_limits limits{types, opts};
  job_table jobs;
  auto capped_type = limits.intern("capped");
  auto other_type = limits.intern("other");
  jobs.enqueue(jobs.add(queued_entry(1, 0, capped_type)));
  jobs.enqueue(jobs.add(queued_entry(2, 0, capped_type)));
  jobs.enqueue(jobs.add(queued_entry(3, 0, other_type)));
  millis free_at = 0;
  auto first = limits.pick_next(jobs, 0, free_at);
  BOOST_TEST(first == 1u);
  jobs.dequeue(*jobs.find(first));
  limits.take(*jobs.find(first), 0);
  BOOST_TEST(limits.pick_next(jobs, 0, free_at) == 3u);
  limits.release(*jobs.find(first));
  BOOST_TEST(limits.pick_next(jobs, 0, free_at) == 2u);
}

BOOST_AUTO_TEST_CASE(a_paused_type_starts_nothing) {
  start_limits limits{types, opts};
  job_table jobs;
  auto t = limits.intern("t");
  jobs.enqueue(jobs.add(queued_entry(1, 0, t)));
  limits.type(t).paused = true;
  millis free_at = 0;
  BOOST_TEST(limits.pick_next(jobs, 0, free_at) == 0u);
  BOOST_TEST(limits.paused_types() == std::vector<std::string>{"t"});
  limits.type(t).paused = false;
  BOOST_TEST(limits.pick_next(jobs, 0, free_at) == 1u);
}

BOOST_AUTO_TEST_CASE(a_rate_limit_per_owner_holds_each_owner_and_says_when_it_frees) {
  job_type_options o;
  o.limits.push_back(resource_limit{"per_owner", 1, 1000, 0, "owner"});
  declare("rated", o);
  start_limits limits{types, opts};
  auto t = limits.intern("rated");
  auto a1 = queued_entry(1, 0, t);
  a1.owner = "a";
  a1.limit_keys = limits.keys_for(t, "a", {});
  auto a2 = queued_entry(2, 0, t);
  a2.owner = "a";
  a2.limit_keys = a1.limit_keys;
  auto b1 = queued_entry(3, 0, t);
  b1.owner = "b";
  b1.limit_keys = limits.keys_for(t, "b", {});
  limits.take(a1, 100);
  millis free_at = 0;
  BOOST_TEST(!limits.allows(a2, 500, free_at));
  BOOST_TEST(free_at == 1100);
  BOOST_TEST(limits.allows(b1, 500, free_at));
  BOOST_TEST(limits.allows(a2, 1100, free_at)); // the window has passed
}

BOOST_AUTO_TEST_CASE(a_limit_keyed_by_a_parameter_uses_its_value) {
  job_type_options o;
  o.limits.push_back(resource_limit{"per_account", 0, 0, 1, "params.account"});
  declare("keyed", o);
  start_limits limits{types, opts};
  auto t = limits.intern("keyed");
  BOOST_TEST(limits.type(t).keys_from_params);
  boost::json::value p1 = {{"account", "acme"}};
  boost::json::value p2 = {{"account", 7}};
  BOOST_TEST(limits.keys_for(t, "", p1) == std::vector<std::string>{"acme"});
  BOOST_TEST(limits.keys_for(t, "", p2) == std::vector<std::string>{"7"});
  BOOST_TEST(limits.keys_for(t, "", {}) == std::vector<std::string>{""});
}

BOOST_AUTO_TEST_CASE(every_nth_start_takes_the_oldest_job_whatever_its_priority) {
  opts.fairness_every = 3;
  start_limits limits{types, opts};
  job_table jobs;
  auto t = limits.intern("t");
  jobs.enqueue(jobs.add(queued_entry(1, 0, t))); // the old, low-priority job
  for (job_id id = 2; id <= 5; ++id)
    jobs.enqueue(jobs.add(queued_entry(id, 10, t)));
  std::vector<job_id> order;
  for (int i = 0; i < 3; ++i) {
    millis free_at = 0;
    auto id = limits.pick_next(jobs, 0, free_at);
    order.push_back(id);
    jobs.dequeue(*jobs.find(id));
  }
  BOOST_TEST(order == (std::vector<job_id>{2, 3, 1}));
}

BOOST_AUTO_TEST_CASE(the_global_cap_counts_every_start_until_released) {
  opts.max_running = 1;
  start_limits limits{types, opts};
  auto e = queued_entry(1, 0, limits.intern("t"));
  BOOST_TEST(limits.has_free_slot());
  limits.take(e, 0);
  BOOST_TEST(e.holds_slot);
  BOOST_TEST(!limits.has_free_slot());
  limits.release(e);
  limits.release(e); // once only
  BOOST_TEST(limits.running() == 0u);
  BOOST_TEST(limits.has_free_slot());
}

BOOST_AUTO_TEST_SUITE_END()

// -- write outbox ------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(write_outbox_)

BOOST_AUTO_TEST_CASE(a_take_empties_the_outbox) {
  write_outbox out;
  BOOST_TEST(out.empty());
  out.add(storage::write_batch{}, nullptr);
  out.add(storage::write_batch{}, nullptr);
  BOOST_TEST(out.size() == 2u);
  BOOST_TEST(out.take().ends.size() == 2u);
  BOOST_TEST(out.empty());
  BOOST_TEST(out.take().ends.empty());
}

BOOST_AUTO_TEST_CASE(a_departure_counts_the_writes_a_caller_waits_for) {
  write_outbox out;
  out.add(storage::write_batch{}, nullptr);
  out.add(storage::write_batch{}, nullptr, proto::write_urgency::can_wait);
  out.add(storage::write_batch{}, nullptr);
  BOOST_TEST(out.take().awaited == 2u);
  out.add(storage::write_batch{}, nullptr, proto::write_urgency::can_wait);
  BOOST_TEST(out.take().awaited == 0u); // the count starts again with each departure
}

BOOST_AUTO_TEST_CASE(writes_leave_together_each_ending_where_it_was_made) {
  write_outbox out;
  storage::write_batch two;
  two.put_setting("a", "1");
  two.put_setting("b", "2");
  out.add(std::move(two), nullptr);
  out.add_record(std::make_shared<const job_record>(record_of(1, job_status::running)),
                 job_status::queued, nullptr);
  out.add(storage::write_batch{}, nullptr);
  auto d = out.take();
  BOOST_TEST(d.batch.size() == 3u);
  BOOST_TEST(d.ends == (std::vector<std::size_t>{2, 3, 3}));
  BOOST_TEST(d.callbacks.size() == 3u);
}

BOOST_AUTO_TEST_CASE(each_callback_gets_its_own_writes_outcome_in_order) {
  write_outbox out;
  std::vector<std::string> heard;
  auto note = [&](std::string name) {
    return [&heard, name](result<void> r) { heard.push_back(name + (r ? ":ok" : ":failed")); };
  };
  out.add(storage::write_batch{}, note("first"));
  out.add(storage::write_batch{}, note("second"));
  auto d = out.take();
  write_outbox::settle(std::move(d.callbacks),
                       {result<void>{}, result<void>{error{errc::storage_error, "full"}}});
  BOOST_TEST(heard == (std::vector<std::string>{"first:ok", "second:failed"}));
}

BOOST_AUTO_TEST_CASE(a_write_the_writer_did_not_answer_counts_as_failed) {
  write_outbox out;
  std::vector<bool> ok;
  out.add(storage::write_batch{}, [&](result<void> r) { ok.push_back(r.ok()); });
  out.add(storage::write_batch{}, [&](result<void> r) { ok.push_back(r.ok()); });
  write_outbox::settle(out.take().callbacks, {result<void>{}});
  BOOST_TEST(ok == (std::vector<bool>{true, false}));
}

BOOST_AUTO_TEST_SUITE_END()

// -- recovery's plan ----------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(recovery_plan_)

BOOST_AUTO_TEST_CASE(a_running_job_is_planned_back_to_the_queue_with_its_record_fixed) {
  auto store = storage::job_store::open_in_memory();
  store_records(*store, {record_of(1, job_status::running), record_of(2, job_status::queued)});
  std::vector<job_id> seen;
  auto plan = plan_recovery(*store, [&](const storage::job_summary& s) { seen.push_back(s.id); });
  BOOST_TEST(seen.size() == 2u);
  BOOST_TEST(plan.interrupted == std::vector<job_id>{1});
  BOOST_REQUIRE(store->commit(plan.fixes).ok());
  BOOST_TEST(store->get(1)->status == job_status::queued);
  BOOST_TEST(plan.last_id == 2u);
  BOOST_TEST(plan.problems.empty());
}

BOOST_AUTO_TEST_CASE(a_job_waiting_for_a_signal_with_one_stored_wakes_at_once) {
  auto store = storage::job_store::open_in_memory();
  auto signalled = record_of(1, job_status::queued);
  BOOST_REQUIRE(lifecycle::wait(signalled, 1'000'000, lifecycle::wait_reason::signal).ok());
  auto retrying = record_of(2, job_status::queued);
  BOOST_REQUIRE(lifecycle::wait(retrying, 1'000'000, lifecycle::wait_reason::retry).ok());
  store_records(*store, {signalled, retrying});
  storage::write_batch signals;
  for (job_id id : {1, 2}) {
    job_signal s;
    s.seq = 1;
    s.name = "go";
    signals.put_signal(id, std::make_shared<const job_signal>(s));
  }
  BOOST_REQUIRE(store->commit(signals).ok());
  auto plan = plan_recovery(*store, [](const storage::job_summary&) {});
  BOOST_TEST(plan.wake_now == std::vector<job_id>{1});
  BOOST_TEST(plan.interrupted.empty());
}

BOOST_AUTO_TEST_CASE(paused_types_are_read_back_from_their_setting) {
  auto store = storage::job_store::open_in_memory();
  storage::write_batch batch;
  batch.put_setting(paused_types_setting, encode_paused_types({"mail", "export"}));
  BOOST_REQUIRE(store->commit(batch).ok());
  auto plan = plan_recovery(*store, [](const storage::job_summary&) {});
  BOOST_TEST(plan.paused_types == (std::vector<std::string>{"mail", "export"}));
}

BOOST_AUTO_TEST_CASE(finished_jobs_are_not_part_of_the_plan) {
  auto store = storage::job_store::open_in_memory();
  auto done = record_of(1, job_status::queued);
  BOOST_REQUIRE(lifecycle::start(done, 1).ok());
  BOOST_REQUIRE(lifecycle::complete(done, {}, 2).ok());
  store_records(*store, {done});
  std::size_t seen = 0;
  auto plan = plan_recovery(*store, [&](const storage::job_summary&) { ++seen; });
  BOOST_TEST(seen == 0u);
  BOOST_TEST(plan.fixes.empty());
}

BOOST_AUTO_TEST_SUITE_END()

// -- retention's plan ------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(retention_plan_)

job_record finished(job_id id, job_status status, millis at) {
  auto r = record_of(id, job_status::queued);
  BOOST_REQUIRE(lifecycle::start(r, at).ok());
  if (status == job_status::completed)
    BOOST_REQUIRE(lifecycle::complete(r, {}, at).ok());
  else
    BOOST_REQUIRE(lifecycle::fail(r, "broken", at).ok());
  return r;
}

BOOST_AUTO_TEST_CASE(a_job_is_past_retention_only_once_its_period_has_passed) {
  retention_periods periods{{job_status::completed, 1000ms}};
  storage::job_summary s;
  s.status = job_status::completed;
  s.finished_at = 5000;
  BOOST_TEST(!past_retention(periods, s, 5999));
  BOOST_TEST(past_retention(periods, s, 6000));
  s.status = job_status::failed; // no period: kept for ever
  BOOST_TEST(!past_retention(periods, s, 1'000'000));
}

BOOST_AUTO_TEST_CASE(a_retention_of_centuries_never_wraps_into_the_past) {
  retention_periods periods{{job_status::completed, std::chrono::milliseconds::max()}};
  storage::job_summary s;
  s.status = job_status::completed;
  s.finished_at = 5000;
  BOOST_TEST(!past_retention(periods, s, 6000));
}

BOOST_AUTO_TEST_CASE(the_erase_plan_skips_busy_jobs_and_stops_at_its_limit) {
  auto store = storage::job_store::open_in_memory();
  store_records(*store, {finished(1, job_status::completed, 10), finished(2, job_status::completed, 10),
                         finished(3, job_status::completed, 10), finished(4, job_status::failed, 10)});
  auto completed = [](const storage::job_summary& s) { return s.status == job_status::completed; };
  auto plan = plan_erase(*store, completed, [](job_id id) { return id == 1; }, 1);
  BOOST_TEST(plan.ids == std::vector<job_id>{2});
  BOOST_TEST(plan.problem.empty());
  BOOST_REQUIRE(store->commit(plan.writes).ok());
  BOOST_TEST(!store->get(2).ok());
  BOOST_TEST(store->get(1).ok());
  BOOST_TEST(store->get(4).ok());
}

BOOST_AUTO_TEST_CASE(erasing_a_job_frees_its_idempotency_key) {
  auto store = storage::job_store::open_in_memory();
  auto r = finished(1, job_status::completed, 10);
  r.owner = "acme";
  r.idempotency_key = "order-7";
  storage::write_batch batch;
  batch.put_record(r);
  batch.put_unique_key("acme", "order-7", 1);
  BOOST_REQUIRE(store->commit(batch).ok());
  storage::write_batch erase;
  add_erase(*store, erase, 1);
  BOOST_REQUIRE(store->commit(erase).ok());
  auto key = store->find_unique_key("acme", "order-7");
  BOOST_REQUIRE(key.ok());
  BOOST_TEST(!key->has_value());
}

BOOST_AUTO_TEST_SUITE_END()

// -- the flow table ---------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(flow_table_)

BOOST_AUTO_TEST_CASE(a_job_waiting_for_two_is_freed_by_the_second_to_end) {
  flow_table flows;
  flows.wait(10, {}, {1, 2});
  BOOST_TEST(!flows.ended(1, job_status::completed).at(0).freed);
  auto touched = flows.ended(2, job_status::completed);
  BOOST_REQUIRE(touched.size() == 1u);
  BOOST_TEST(touched[0].id == 10u);
  BOOST_TEST(touched[0].freed);
  BOOST_TEST(flows.find(10) == nullptr);
}

BOOST_AUTO_TEST_CASE(a_dependency_named_twice_counts_once) {
  flow_table flows;
  flows.wait(10, {}, {1, 1, 1});
  BOOST_TEST(flows.find(10)->pending == 1u);
  BOOST_TEST(flows.ended(1, job_status::completed).at(0).freed);
}

BOOST_AUTO_TEST_CASE(a_freed_job_learns_which_dependency_failed_or_was_cancelled) {
  flow_table flows;
  flow_table::waiter known;
  known.note(7, job_status::cancelled); // ended before the wait began
  flows.wait(10, known, {1, 2});
  flows.ended(1, job_status::failed);
  auto freed = flows.ended(2, job_status::completed);
  BOOST_REQUIRE(freed.size() == 1u);
  BOOST_TEST(freed[0].w.failed == 1u);
  BOOST_TEST(freed[0].w.cancelled == 7u);
}

BOOST_AUTO_TEST_CASE(a_forgotten_or_renewed_wait_is_not_counted_twice) {
  flow_table flows;
  flows.wait(10, {}, {1, 2});
  flows.wait(10, {}, {1, 2}); // waits anew (after a resume, say)
  BOOST_TEST(flows.ended(1, job_status::completed).size() == 1u); // once, not twice
  BOOST_TEST(flows.find(10)->pending == 1u);
  flows.forget(10);
  BOOST_TEST(flows.ended(2, job_status::completed).empty());
}

BOOST_AUTO_TEST_CASE(waiting_for_nothing_keeps_no_entry) {
  flow_table flows;
  flows.wait(10, {}, {});
  BOOST_TEST(flows.find(10) == nullptr);
  BOOST_TEST(flows.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// -- the schedule book --------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(schedule_book_)

constexpr millis minute = 60'000;
constexpr millis start = 1'767'607'200'000; // 2026-01-05 10:00 UTC

schedule_info every_minute(missed_ticks missed, overlapping_ticks overlap) {
  schedule_info s;
  s.name = "s";
  s.spec = "* * * * *";
  s.created_at = start;
  s.last_tick = start;
  s.options.on_missed = missed;
  s.options.on_overlap = overlap;
  s.options.max_catch_up = 3;
  s.options.grace_ms = 1000;
  return s;
}

tick_rule rule_of(const schedule_info& s) {
  auto r = tick_rule::parse(s.spec, "UTC");
  BOOST_REQUIRE(r.ok());
  return *r;
}

BOOST_AUTO_TEST_CASE(the_due_ticks_of_a_year_long_outage_are_found_without_walking_them_all) {
  auto s = every_minute(missed_ticks::run_each, overlapping_ticks::allow);
  std::uint64_t count = 0;
  auto year = 365 * 24 * 60 * minute;
  auto due = due_ticks(rule_of(s), s.created_at, s.last_tick, start + year, 3, count);
  BOOST_TEST(due == (std::vector<millis>{start + year - 2 * minute, start + year - minute,
                                         start + year}));
  BOOST_TEST(count < 10'000u); // counted in a window, not over the year
}

BOOST_AUTO_TEST_CASE(an_on_time_tick_fires_whatever_the_missed_policy) {
  for (auto missed : {missed_ticks::skip, missed_ticks::run_once, missed_ticks::run_each}) {
    auto s = every_minute(missed, overlapping_ticks::allow);
    auto plan = plan_ticks(s, rule_of(s), start + minute, false);
    BOOST_TEST(plan.fire == std::vector<millis>{start + minute});
    BOOST_TEST(plan.last_tick == start + minute);
  }
}

BOOST_AUTO_TEST_CASE(late_ticks_follow_the_missed_policy) {
  auto late = start + 5 * minute + 30'000;
  auto skip = every_minute(missed_ticks::skip, overlapping_ticks::allow);
  BOOST_TEST(plan_ticks(skip, rule_of(skip), late, false).fire.empty());
  auto once = every_minute(missed_ticks::run_once, overlapping_ticks::allow);
  BOOST_TEST(plan_ticks(once, rule_of(once), late, false).fire
             == std::vector<millis>{start + 5 * minute});
  auto each = every_minute(missed_ticks::run_each, overlapping_ticks::allow);
  auto plan = plan_ticks(each, rule_of(each), late, false);
  BOOST_TEST(plan.fire.size() == 3u);
  BOOST_TEST(plan.skipped >= 1u); // counted from the window the newest three are in
}

BOOST_AUTO_TEST_CASE(an_unfinished_previous_job_skips_or_holds_the_tick) {
  auto skip = every_minute(missed_ticks::run_once, overlapping_ticks::skip);
  auto skipped = plan_ticks(skip, rule_of(skip), start + minute, true);
  BOOST_TEST(skipped.fire.empty());
  BOOST_TEST(skipped.last_tick == start + minute);
  auto queue = every_minute(missed_ticks::run_once, overlapping_ticks::queue);
  auto held = plan_ticks(queue, rule_of(queue), start + minute, true);
  BOOST_TEST(held.wait_for_previous);
  BOOST_TEST(held.last_tick == start);
}

BOOST_AUTO_TEST_CASE(the_book_is_due_at_its_earliest_unpaused_schedule) {
  schedule_book book;
  auto a = every_minute(missed_ticks::run_once, overlapping_ticks::allow);
  auto b = a;
  b.name = "b";
  b.spec = "*/5 * * * *";
  book.put(schedule_entry{b, rule_of(b)});
  book.put(schedule_entry{a, rule_of(a)});
  BOOST_TEST(book.earliest_due() == start + minute);
  book.find("s")->info.paused = true;
  book.update_due(*book.find("s"));
  BOOST_TEST(book.earliest_due() == start + 5 * minute);
  BOOST_TEST(book.due_at(start + 5 * minute) == std::vector<std::string>{"b"});
}

BOOST_AUTO_TEST_SUITE_END()
