#pragma once

/// The registry of job types: a job type is registered by name, once, next to
/// its definition, with `JOBRT_REGISTER_JOB(my_job);`. The runtime creates jobs
/// from (name, JSON parameters) through it.

#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/json/value.hpp>

#include "jobrt/error.hpp"
#include "jobrt/fields.hpp"
#include "jobrt/job.hpp"

namespace jobrt {

/// What the registry knows of one job type.
struct job_type_info {
  std::string name;
  std::string description;
  std::vector<field_info> params;
  job_type_options options;
};

class registry {
public:
  /// Builds a job from parameters and, when resuming, its checkpointed state.
  using factory = std::function<result<std::unique_ptr<job_base>>(
    const boost::json::value& params, const boost::json::value* state)>;

  /// The registry `JOBRT_REGISTER_JOB` adds to, and the runtime uses by default.
  static registry& global();

  /// Registers `Job` (see job.hpp for what it declares). Returns false, and
  /// changes nothing, if its name is taken.
  template <class Job>
  bool add();

  /// Registers a type by hand. `invalid_argument` if the name is empty or taken.
  result<void> add(job_type_info info, factory make);

  /// Every registered type, sorted by name.
  std::vector<job_type_info> list() const;
  /// The type's description, or empty if unknown.
  std::optional<job_type_info> find(std::string_view name) const;

  /// Checks that `type` exists and `params` decode; `unknown_job_type` or
  /// `invalid_params` otherwise.
  result<void> validate(std::string_view type, const boost::json::value& params) const;

  /// Creates a job. `state` is null for a fresh start.
  result<std::unique_ptr<job_base>> create(std::string_view type,
                                           const boost::json::value& params,
                                           const boost::json::value* state = nullptr) const;

private:
  struct entry {
    job_type_info info;
    factory make;
  };
  mutable std::shared_mutex mtx_;
  std::map<std::string, entry, std::less<>> types_;
};

namespace detail {

template <class Job, class = void>
struct has_options : std::false_type {};
template <class Job>
struct has_options<Job, std::void_t<decltype(Job::options())>> : std::true_type {};

} // namespace detail

template <class Job>
bool registry::add() {
  static_assert(std::is_base_of_v<job_base, Job>, "a job type derives from jobrt::job<P, S>");
  job_type_info info;
  info.name = Job::name;
  info.description = Job::description;
  info.params = describe_fields<typename Job::params_type>();
  if constexpr (detail::has_options<Job>::value)
    info.options = Job::options();
  auto make = [](const boost::json::value& params,
                 const boost::json::value* state) -> result<std::unique_ptr<job_base>> {
    auto j = std::make_unique<Job>();
    if (auto r = j->load(params, state); !r)
      return r.error();
    return std::unique_ptr<job_base>{std::move(j)};
  };
  return add(std::move(info), std::move(make)).ok();
}

} // namespace jobrt

#define JOBRT_CONCAT_IMPL(a, b) a##b
#define JOBRT_CONCAT(a, b) JOBRT_CONCAT_IMPL(a, b)

/// Registers a job type with the global registry, at namespace scope, next to
/// the job's definition.
#define JOBRT_REGISTER_JOB(JobClass)                                           \
  [[maybe_unused]] static const bool JOBRT_CONCAT(jobrt_registered_, __LINE__) \
    = ::jobrt::registry::global().add<JobClass>()
