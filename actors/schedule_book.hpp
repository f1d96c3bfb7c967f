#pragma once

/// The scheduler's recurring schedules: each one's stored form, its parsed rule,
/// and when it is next due; and the plan of what a schedule's due ticks do.
///
/// A plain class, no actor: the scheduler owns one (actors/scheduler_schedules.cpp
/// does the messages, the writes and the timer), and its tests drive it directly.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "jobrt/schedule.hpp"
#include "jobrt/tick_rule.hpp"

namespace jobrt {

struct schedule_entry {
  schedule_info info; ///< as last written (its commit may be in flight)
  tick_rule rule;
  /// A tick's jobs are being committed: the schedule is not due again until
  /// that commit is done.
  bool writing = false;
  /// `on_overlap = queue`: its due ticks wait for `info.last_job` to finish.
  bool waits_for_previous = false;
};

/// What a schedule's due ticks do now (see `plan_ticks`).
struct tick_plan {
  std::vector<millis> fire; ///< the ticks that submit a job, oldest first
  millis last_tick = 0;     ///< the schedule's new `last_tick`
  std::uint64_t skipped = 0; ///< due ticks that submit nothing
  /// Nothing fires and `last_tick` stays: the previous job is unfinished and
  /// the schedule queues behind it.
  bool wait_for_previous = false;
};

/// The newest `keep` ticks in (after, now], oldest first, and (in `count`) how
/// many ticks it walked: the whole interval's when they are few, else those of
/// a window back from `now` that holds the `keep` newest. Cheap however long
/// ago `after` is: it does not walk every tick of a year-long outage.
std::vector<millis> due_ticks(const tick_rule& rule, millis anchor, millis after, millis now,
                              std::size_t keep, std::uint64_t& count);

/// What the ticks of `s` that are due at `now` do, under its policies:
/// - the newest due tick is on time if it is at most `grace_ms` old; every
///   other due tick was missed;
/// - missed ticks: skip (none fires), run_once (the newest due tick fires for
///   all), run_each (each fires, at most `max_catch_up` of them, the newest);
/// - `previous_unfinished` (the job of the last fired tick has not finished):
///   skip (nothing fires, the ticks are handled), queue (nothing fires, and
///   the ticks wait), allow (they fire). A queued schedule fires one tick at a
///   time, so that its jobs never run together.
/// `was_queued`: the schedule waited for its previous job, which has ended;
/// its ticks count as on time (they were not missed, they queued).
/// Empty `fire` with `last_tick` = the schedule's if nothing is due.
tick_plan plan_ticks(const schedule_info& s, const tick_rule& rule, millis now,
                     bool previous_unfinished, bool was_queued = false);

class schedule_book {
public:
  schedule_entry* find(const std::string& name);
  /// Inserts or replaces `e` (by name), due at its next tick.
  schedule_entry& put(schedule_entry e);
  void erase(const std::string& name);

  /// Recomputes when `e` is next due: after its `last_tick`, unless it is
  /// paused, writing or waiting for its previous job. Call after changing any
  /// of those.
  void update_due(schedule_entry& e);
  /// The time the earliest schedule is due; 0 if none is.
  millis earliest_due() const;
  /// The names of the schedules due at `now`, earliest first.
  std::vector<std::string> due_at(millis now) const;
  /// The schedules queued behind job `id` (their previous job), which just ended.
  std::vector<std::string> waiting_for(job_id id) const;

  /// Every schedule, by name, with `next_tick` filled in.
  std::vector<schedule_info> list() const;
  std::size_t size() const { return entries_.size(); }

private:
  std::map<std::string, schedule_entry> entries_;
  std::map<std::string, millis> due_of_; ///< name -> its key in `by_due_`
  std::set<std::pair<millis, std::string>> by_due_;
  std::multimap<job_id, std::string> queued_behind_; ///< previous job -> schedule
};

} // namespace jobrt
