#pragma once

/// What every actor of one runtime shares: the store (read-only for all but the
/// persistence actor), the job types, the clock, the options, and a log.

#include <memory>
#include <string_view>

#include "caf/actor.hpp"

#include "jobrt/clock.hpp"
#include "jobrt/registry.hpp"
#include "jobrt/runtime.hpp"
#include "storage/job_store.hpp"

namespace jobrt {

struct actor_env {
  storage::job_store* store = nullptr;
  const registry* types = nullptr;
  std::shared_ptr<jobrt::clock> clock;
  runtime_options opts;
  caf::actor persistence;
  caf::actor events;
};

using env_ptr = std::shared_ptr<const actor_env>;

/// Writes one line to stderr, prefixed with "jobrt: ", whole even across threads.
void log_line(std::string_view message);

} // namespace jobrt
