#include "jobrt/registry.hpp"

#include <mutex>

namespace jobrt {

registry& registry::global() {
  static registry instance;
  return instance;
}

result<void> registry::add(job_type_info info, factory make) {
  if (info.name.empty())
    return error{errc::invalid_argument, "a job type needs a name"};
  if (!make)
    return error{errc::invalid_argument, "job type '" + info.name + "' has no factory"};
  std::unique_lock guard{mtx_};
  auto name = info.name;
  auto [it, added] = types_.try_emplace(name, entry{std::move(info), std::move(make)});
  if (!added)
    return error{errc::invalid_argument, "job type '" + name + "' is already registered"};
  return {};
}

std::vector<job_type_info> registry::list() const {
  std::shared_lock guard{mtx_};
  std::vector<job_type_info> out;
  out.reserve(types_.size());
  for (const auto& kv : types_)
    out.push_back(kv.second.info);
  return out;
}

std::optional<job_type_info> registry::find(std::string_view name) const {
  std::shared_lock guard{mtx_};
  auto i = types_.find(name);
  if (i == types_.end())
    return std::nullopt;
  return i->second.info;
}

namespace {

error unknown_type(std::string_view type) {
  return error{errc::unknown_job_type, "unknown job type '" + std::string{type} + "'"};
}

} // namespace

result<void> registry::validate(std::string_view type, const boost::json::value& params) const {
  auto j = create(type, params);
  if (!j)
    return j.error();
  return {};
}

result<std::unique_ptr<job_base>> registry::create(std::string_view type,
                                                   const boost::json::value& params,
                                                   const boost::json::value* state) const {
  factory make;
  {
    std::shared_lock guard{mtx_};
    auto i = types_.find(type);
    if (i == types_.end())
      return unknown_type(type);
    make = i->second.make;
  }
  try {
    auto j = make(params, state);
    if (!j && j.error().code == errc::invalid_params)
      return error{errc::invalid_params,
                   "invalid parameters for '" + std::string{type} + "': " + j.error().message};
    return j;
  } catch (const std::exception& e) {
    return error{errc::invalid_params,
                 "job type '" + std::string{type} + "' threw while being created: " + e.what()};
  }
}

} // namespace jobrt
