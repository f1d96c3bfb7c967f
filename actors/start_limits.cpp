#include "actors/start_limits.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "jobrt/clock.hpp"

#include "actors/env.hpp"

namespace jobrt {

namespace {

constexpr std::string_view params_prefix = "params.";

bool keyed_by_params(const resource_limit& l) {
  return l.key.rfind(params_prefix, 0) == 0;
}

/// The key under which a job counts against limit `l`.
std::string key_of(const resource_limit& l, const std::string& owner,
                   const boost::json::value& params) {
  if (l.key == "owner")
    return owner;
  if (keyed_by_params(l) && params.is_object()) {
    auto* v = params.get_object().if_contains(l.key.substr(params_prefix.size()));
    if (v == nullptr)
      return {};
    return v->is_string() ? std::string{v->get_string()} : boost::json::serialize(*v);
  }
  return {};
}

} // namespace

start_limits::start_limits(const registry& types, const runtime_options& opts)
  : registry_(types), opts_(opts) {
}

std::uint16_t start_limits::intern(const std::string& name) {
  if (auto i = type_index_.find(name); i != type_index_.end())
    return i->second;
  type_slot slot;
  slot.name = name;
  if (auto info = registry_.find(name)) {
    slot.options = info->options;
    slot.cap = info->options.max_running;
    auto add_limit = [&](const resource_limit& l) {
      auto same = std::find_if(limits_.begin(), limits_.end(),
                               [&](const resource_limit& x) { return x.name == l.name; });
      auto idx = static_cast<std::uint16_t>(same - limits_.begin());
      if (same == limits_.end())
        limits_.push_back(l);
      slot.limits.push_back(idx);
      slot.keys_from_params = slot.keys_from_params || keyed_by_params(l);
    };
    for (const auto& own : info->options.limits) {
      auto l = own;
      l.name = name + "/" + own.name; // a type's own limit is not shared
      add_limit(l);
    }
    for (const auto& used : info->options.uses) {
      const auto& shared = opts_.resources;
      auto r = std::find_if(shared.begin(), shared.end(),
                            [&](const resource_limit& x) { return x.name == used; });
      if (r != shared.end())
        add_limit(*r);
      else
        log_line("job type '" + name + "' uses unknown resource '" + used + "'");
    }
  }
  if (auto o = opts_.max_running_per_type.find(name); o != opts_.max_running_per_type.end())
    slot.cap = o->second;
  auto idx = static_cast<std::uint16_t>(types_.size());
  types_.push_back(std::move(slot));
  type_index_.emplace(name, idx);
  return idx;
}

std::vector<std::string> start_limits::paused_types() const {
  std::vector<std::string> names;
  for (const auto& slot : types_)
    if (slot.paused)
      names.push_back(slot.name);
  return names;
}

std::vector<std::string> start_limits::keys_for(std::uint16_t type, const std::string& owner,
                                                const boost::json::value& params) const {
  std::vector<std::string> keys;
  for (auto li : types_[type].limits)
    keys.push_back(key_of(limits_[li], owner, params));
  return keys;
}

bool start_limits::allows(const job_entry& e, millis now, millis& free_at) {
  const auto& slot = types_[e.type];
  if (slot.paused || (slot.cap != 0 && slot.running >= slot.cap))
    return false;
  for (std::size_t i = 0; i < slot.limits.size() && i < e.limit_keys.size(); ++i) {
    const auto& l = limits_[slot.limits[i]];
    auto found = uses_.find({slot.limits[i], e.limit_keys[i]});
    if (found == uses_.end())
      continue;
    auto& use = found->second;
    if (l.max_running > 0 && use.running >= l.max_running)
      return false;
    if (l.starts > 0 && l.per_ms > 0) {
      while (!use.recent_starts.empty()
             && saturating_add(use.recent_starts.front(), l.per_ms) <= now)
        use.recent_starts.pop_front();
      if (use.recent_starts.size() >= l.starts) {
        auto at = saturating_add(use.recent_starts.front(), l.per_ms);
        free_at = free_at == 0 ? at : std::min(free_at, at);
        return false;
      }
    }
  }
  return true;
}

job_id start_limits::pick_next(job_table& jobs, millis now, millis& free_at,
                               const std::function<bool(const job_entry&)>& placeable) {
  auto wanted = [&](const job_entry& e) {
    return allows(e, now, free_at) && (!placeable || placeable(e));
  };
  auto every = opts_.fairness_every;
  job_id id = 0;
  if (every > 0 && (starts_ + 1) % every == 0)
    id = jobs.find_ready(wanted, true);
  if (id == 0)
    id = jobs.find_ready(wanted, false);
  if (id != 0)
    ++starts_;
  return id;
}

void start_limits::take(job_entry& e, millis now) {
  e.holds_slot = true;
  ++running_;
  auto& slot = types_[e.type];
  ++slot.running;
  for (std::size_t i = 0; i < slot.limits.size() && i < e.limit_keys.size(); ++i) {
    auto& use = uses_[{slot.limits[i], e.limit_keys[i]}];
    ++use.running;
    if (limits_[slot.limits[i]].starts > 0)
      use.recent_starts.push_back(now);
  }
}

void start_limits::release(job_entry& e) {
  if (!e.holds_slot)
    return;
  e.holds_slot = false;
  --running_;
  auto& slot = types_[e.type];
  --slot.running;
  for (std::size_t i = 0; i < slot.limits.size() && i < e.limit_keys.size(); ++i) {
    auto use = uses_.find({slot.limits[i], e.limit_keys[i]});
    if (use != uses_.end() && use->second.running > 0)
      --use->second.running;
  }
}

} // namespace jobrt
