#pragma once

/// What may start now: the global cap, each job type's cap and pause, and the
/// declared limits (at most N running, at most N starts per period) per key;
/// and the pick of the next job to start. A plain class, no actor: the
/// scheduler owns one, and its tests drive it with any clock value.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "jobrt/options.hpp"
#include "jobrt/registry.hpp"

#include "actors/job_table.hpp"

namespace jobrt {

/// A job type as the scheduler knows it.
struct type_slot {
  std::string name;
  std::size_t cap = 0; ///< 0: only the global cap applies
  std::size_t running = 0;
  job_type_options options; ///< the type's declared defaults
  bool paused = false;      ///< no new job of this type starts
  std::vector<std::uint16_t> limits; ///< indexes into the declared limits
  bool keys_from_params = false;     ///< a limit is keyed by a parameter
};

class start_limits {
public:
  /// `types` and `opts` must outlive this object.
  start_limits(const registry& types, const runtime_options& opts);

  /// The index of type `name`, added on first sight with its declared options
  /// (a type the registry does not know gets the global defaults).
  std::uint16_t intern(const std::string& name);
  /// Whether `name` was ever interned.
  bool interned(const std::string& name) const { return type_index_.count(name) != 0; }

  type_slot& type(std::uint16_t index) { return types_[index]; }
  const type_slot& type(std::uint16_t index) const { return types_[index]; }
  /// The names of the paused types.
  std::vector<std::string> paused_types() const;

  /// The keys a job of `type` counts under, one per limit of the type. Only a
  /// type whose `keys_from_params` is set reads `params`.
  std::vector<std::string> keys_for(std::uint16_t type, const std::string& owner,
                                    const boost::json::value& params) const;

  /// Whether a job may start now, by its type and its limits. A rate limit that
  /// holds it back lowers `free_at` to when it frees up (0: no such time).
  bool allows(const job_entry& e, millis now, millis& free_at);

  /// Whether the global cap leaves a slot free.
  bool has_free_slot() const { return running_ < opts_.max_running; }
  std::size_t running() const { return running_; }

  /// The next job to start, or 0: priority first, then submission order; but
  /// every `fairness_every`-th start takes the oldest queued job whatever its
  /// priority, so that a stream of high-priority jobs cannot starve a low one.
  /// A job returned counts as a start for that rule.
  /// `placeable(entry)`, if given, says whether the job has somewhere to run
  /// now (a free slot on a worker node, say).
  job_id pick_next(job_table& jobs, millis now, millis& free_at,
                   const std::function<bool(const job_entry&)>& placeable = {});

  /// Counts a start of `e` against its type and every limit; and lets go of it.
  void take(job_entry& e, millis now);
  void release(job_entry& e);

private:
  /// One key's use of a declared limit.
  struct key_use {
    std::deque<millis> recent_starts; ///< within the last `per_ms`
    std::uint32_t running = 0;
  };

  const registry& registry_;
  const runtime_options& opts_;
  std::vector<type_slot> types_;
  std::unordered_map<std::string, std::uint16_t> type_index_;
  std::vector<resource_limit> limits_;
  std::map<std::pair<std::uint16_t, std::string>, key_use> uses_;
  std::size_t running_ = 0;
  std::uint64_t starts_ = 0;
};

} // namespace jobrt
