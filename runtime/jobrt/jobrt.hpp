#pragma once

/// Everything a host service needs: the facade, the job authoring API, the
/// registry and the types they use.

#include "jobrt/clock.hpp"
#include "jobrt/error.hpp"
#include "jobrt/events.hpp"
#include "jobrt/fields.hpp"
#include "jobrt/job.hpp"
#include "jobrt/limits.hpp"
#include "jobrt/nodes.hpp"
#include "jobrt/options.hpp"
#include "jobrt/record.hpp"
#include "jobrt/registry.hpp"
#include "jobrt/runtime.hpp"
#include "jobrt/services.hpp"
#include "jobrt/stats.hpp"
#include "jobrt/status.hpp"
#include "jobrt/worker.hpp"
