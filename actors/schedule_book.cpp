#include "actors/schedule_book.hpp"

#include <algorithm>
#include <deque>
#include <limits>

namespace jobrt {

std::vector<millis> due_ticks(const tick_rule& rule, millis anchor, millis after, millis now,
                              std::size_t keep, std::uint64_t& count) {
  count = 0;
  if (now <= after || keep == 0)
    return {};
  // Start from the shortest window back from `now` (a minute, then four times
  // longer each time) that holds `keep` ticks, or from `after` if that is
  // nearer: after a long outage, only the ticks that may fire are walked.
  millis from = after;
  constexpr millis longest = std::numeric_limits<millis>::max() / 4;
  for (millis window = 60'000;; window = window < longest ? window * 4 : longest * 4) {
    if (window >= now - after)
      break;
    std::size_t held = 0;
    for (auto t = rule.next_after(now - window, anchor); t && *t <= now && held < keep;
         t = rule.next_after(*t, anchor))
      ++held;
    if (held >= keep) {
      from = now - window;
      break;
    }
  }
  std::deque<millis> newest;
  for (auto t = rule.next_after(from, anchor); t && *t <= now; t = rule.next_after(*t, anchor)) {
    newest.push_back(*t);
    if (newest.size() > keep)
      newest.pop_front();
    ++count;
  }
  return {newest.begin(), newest.end()};
}

tick_plan plan_ticks(const schedule_info& s, const tick_rule& rule, millis now,
                     bool previous_unfinished, bool was_queued) {
  const auto& o = s.options;
  tick_plan plan;
  plan.last_tick = s.last_tick;
  const std::size_t keep =
    o.on_missed == missed_ticks::run_each ? std::max<std::uint32_t>(1, o.max_catch_up) : 1;
  std::uint64_t count = 0;
  auto due = due_ticks(rule, s.created_at, s.last_tick, now, keep, count);
  if (due.empty())
    return plan;
  if (previous_unfinished && o.on_overlap == overlapping_ticks::queue) {
    plan.wait_for_previous = true;
    return plan;
  }
  const millis newest = due.back();
  const bool on_time = was_queued || now - newest <= std::max<millis>(0, o.grace_ms);
  switch (o.on_missed) {
    case missed_ticks::skip:
      if (on_time)
        plan.fire = {newest};
      break;
    case missed_ticks::run_once:
      plan.fire = {newest};
      break;
    case missed_ticks::run_each:
      plan.fire = std::move(due);
      break;
  }
  plan.last_tick = newest;
  if (previous_unfinished && o.on_overlap == overlapping_ticks::skip) {
    plan.fire.clear();
  } else if (o.on_overlap == overlapping_ticks::queue && plan.fire.size() > 1) {
    // One at a time: the next waits for this one's job.
    plan.fire.resize(1);
    plan.last_tick = plan.fire.front();
    return plan;
  }
  plan.skipped = count > plan.fire.size() ? count - plan.fire.size() : 0;
  return plan;
}

// -- schedule_book ----------------------------------------------------------------------

schedule_entry* schedule_book::find(const std::string& name) {
  auto i = entries_.find(name);
  return i == entries_.end() ? nullptr : &i->second;
}

schedule_entry& schedule_book::put(schedule_entry e) {
  auto name = e.info.name;
  erase(name);
  auto& stored = entries_.emplace(name, std::move(e)).first->second;
  update_due(stored);
  return stored;
}

void schedule_book::erase(const std::string& name) {
  if (auto d = due_of_.find(name); d != due_of_.end()) {
    by_due_.erase({d->second, name});
    due_of_.erase(d);
  }
  if (auto e = entries_.find(name); e != entries_.end()) {
    auto range = queued_behind_.equal_range(e->second.info.last_job);
    for (auto i = range.first; i != range.second; ++i)
      if (i->second == name) {
        queued_behind_.erase(i);
        break;
      }
    entries_.erase(e);
  }
}

void schedule_book::update_due(schedule_entry& e) {
  const auto& name = e.info.name;
  if (auto d = due_of_.find(name); d != due_of_.end()) {
    by_due_.erase({d->second, name});
    due_of_.erase(d);
  }
  auto range = queued_behind_.equal_range(e.info.last_job);
  for (auto i = range.first; i != range.second; ++i)
    if (i->second == name) {
      queued_behind_.erase(i);
      break;
    }
  if (e.waits_for_previous) {
    queued_behind_.emplace(e.info.last_job, name);
    return;
  }
  if (e.info.paused || e.writing)
    return;
  if (auto next = e.rule.next_after(e.info.last_tick, e.info.created_at)) {
    due_of_[name] = *next;
    by_due_.emplace(*next, name);
  }
}

millis schedule_book::earliest_due() const {
  return by_due_.empty() ? 0 : by_due_.begin()->first;
}

std::vector<std::string> schedule_book::due_at(millis now) const {
  std::vector<std::string> out;
  for (auto i = by_due_.begin(); i != by_due_.end() && i->first <= now; ++i)
    out.push_back(i->second);
  return out;
}

std::vector<std::string> schedule_book::waiting_for(job_id id) const {
  std::vector<std::string> out;
  auto range = queued_behind_.equal_range(id);
  for (auto i = range.first; i != range.second; ++i)
    out.push_back(i->second);
  return out;
}

std::vector<schedule_info> schedule_book::list() const {
  std::vector<schedule_info> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) {
    out.push_back(e.info);
    auto& s = out.back();
    s.next_tick = 0;
    if (!s.paused)
      s.next_tick = e.rule.next_after(s.last_tick, s.created_at).value_or(0);
  }
  return out;
}

} // namespace jobrt
