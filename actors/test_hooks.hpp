#pragma once

/// What a job actor tells a test about things that did NOT happen: that it saw
/// the step of a paused job and left it in the mailbox, or dropped what was
/// left of a run that had ended. A test cannot wait for "no step ran"; it can
/// wait for the actor to report that nothing is left that could run one, and
/// then count the steps.
///
/// In production no observer is set: a report costs one relaxed atomic load,
/// and nothing the actor does depends on it.

#include <atomic>

#include "jobrt/record.hpp"

namespace jobrt::test_hooks {

enum class sighting {
  /// A paused job has nothing left that could run before it is resumed: no
  /// checkpoint is in flight, and its step, if it has one, is in the mailbox,
  /// where the actor has seen it and left it (skipped). Reported again each
  /// time the actor sees that step again.
  paused_at_rest,
  /// A paused job was resumed: it may run again.
  resumed,
  /// A step or checkpoint reply of a run that had ended was dropped. The run's
  /// job is not known any more: the id is 0.
  stale_dropped,
};

/// Called on the job actor's thread, in the order the actor reports; it must
/// not block for long, nor call into the runtime.
using observer = void (*)(sighting what, job_id id);

/// The observer; set only by tests (null: none).
inline std::atomic<observer> current_observer{nullptr};

/// Sets (or, with null, clears) the observer. A test clears it before the
/// runtime it observes is shut down, or before what it observes goes away.
inline void observe(observer o) {
  current_observer.store(o, std::memory_order_relaxed);
}

/// Whether an observer is set (for reports that take work to make).
inline bool observed() {
  return current_observer.load(std::memory_order_relaxed) != nullptr;
}

inline void report(sighting what, job_id id) {
  if (auto o = current_observer.load(std::memory_order_relaxed))
    o(what, id);
}

} // namespace jobrt::test_hooks
