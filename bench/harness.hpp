#pragma once

// jobrt-bench's runtime helpers: scratch directories, store modes, starting a
// runtime, polling its stats, submitting jobs, the no-op drain run, a host actor
// system, the machine description and the progress line.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"

#include "jobrt/runtime.hpp"

#include "options.hpp"

namespace bench {

namespace json = boost::json;

// -- progress line on stderr ----------------------------------------------------------

class progress_line {
public:
  progress_line();
  void set_quiet(bool q) { quiet_ = q; }
  void begin(const std::string& label);
  void update(const std::string& text);
  void finish();

private:
  std::mutex mtx_;
  bool quiet_ = false;
  bool tty_;
  std::string label_;
  std::int64_t last_ = 0;
};

extern progress_line progress;

// -- machine ----------------------------------------------------------------------------

struct machine_info {
  std::string cpu, kernel, date, host;
  unsigned cores = 0;
  std::size_t workers = 0; ///< CAF worker threads of the runtimes (and baselines) of this run
};

machine_info machine();

// -- runtime helpers ------------------------------------------------------------------

/// `name` under the scratch directory, removed if it exists.
std::string scratch(const config& c, const std::string& name);

/// Where a benchmark's runtime keeps its jobs.
enum class store_mode {
  memory, ///< storage_kind::memory
  lmdb,   ///< LMDB without fsync (durable = false)
  durable ///< LMDB, every commit fsynced (the default)
};

std::string name_of(store_mode m);

void set_store(jobrt::runtime_options& o, store_mode m, const std::string& dir);

/// The worker threads the runtimes of this run get; baselines get as many.
std::size_t workers(const config& c);

/// The middle value of the rates; of an even number, the mean of the two middle ones.
double median_of(std::vector<double> v);

/// The scheduler policy of a run on store `m`: `asked` (--policy), or if that is
/// empty the runtime's own choice for such a runtime.
std::string policy_for(const config& c, const std::string& asked, store_mode m);

std::unique_ptr<jobrt::runtime> start_rt(const config& c, const std::string& dir, store_mode m,
                                         std::size_t max_running, const std::string& policy);

jobrt::runtime_stats stats_of(jobrt::runtime& rt);

/// Polls stats() every `interval` until `done` holds; returns the steady-clock ns
/// at which it was observed. Throws after `timeout`.
std::int64_t wait_for(jobrt::runtime& rt, const std::function<bool(const jobrt::runtime_stats&)>& done,
                      const std::function<std::string(const jobrt::runtime_stats&)>& show,
                      std::chrono::seconds timeout = std::chrono::seconds{600},
                      std::chrono::microseconds interval = std::chrono::microseconds{2000});

struct submitted {
  std::vector<jobrt::job_id> ids;
  std::int64_t t0 = 0, t1 = 0;
  double rate() const {
    return static_cast<double>(ids.size()) / (static_cast<double>(t1 - t0) / 1e9);
  }
};

/// Submits `n` jobs from `threads` threads (each submit returns once durable).
submitted submit_many(jobrt::runtime& rt, const char* type, const json::value& params,
                      std::size_t n, std::size_t threads);

/// Submits `n` jobs with `runtime::submit_many`, `chunk` per call (one commit each).
submitted submit_bulk(jobrt::runtime& rt, const char* type, const json::value& params,
                      std::size_t n, std::size_t chunk);

/// Runs `f(id)` for every id from `threads` threads; throws on the first error.
void for_all(const std::vector<jobrt::job_id>& ids, std::size_t threads,
             const std::function<jobrt::result<void>(jobrt::job_id)>& f, const char* what);

json::value empty_params();

// -- the no-op drain run, shared by scenarios 1, 2 and 7 and the soak --------------------

struct drain_result {
  double submit_rate = 0;
  double drain_rate = 0;
  std::size_t events = 0; ///< completion events a subscriber saw
  double record_bytes = 0; ///< average stored record size (after the run)
  double commits_per_job = 0; ///< store commits (fsyncs, when durable) per job
};

drain_result run_noop(const config& c, const std::string& policy, store_mode mode, std::size_t n,
                      std::size_t cap, std::size_t submitters, bool subscribe,
                      bool measure_record = false, std::size_t bulk_chunk = 0);

/// Three runs of `once()` (one when smoking), each between two baseline drains:
/// `n` no-op jobs in one submit_many call. Returns the baseline rates and the
/// runs, whose medians a scenario compares: a run of 10k jobs lasts a fraction of
/// a second, and the machine is shared. `what` names the run on the progress line.
template <class Run, class Once>
std::pair<std::vector<double>, std::vector<Run>>
runs_between_baselines(const config& c, const std::string& policy, store_mode mode,
                       std::size_t n, const std::string& label, const std::string& what,
                       Once once) {
  const std::size_t reps = c.smoke ? 1 : 3;
  std::pair<std::vector<double>, std::vector<Run>> out;
  auto baseline = [&] {
    progress.begin(label + " baseline: submit_many drain");
    out.first.push_back(run_noop(c, policy, mode, n, c.cap, 1, false, false, n).drain_rate);
  };
  baseline();
  for (std::size_t r = 0; r < reps; ++r) {
    progress.begin(label + " " + what + " (" + std::to_string(r + 1) + "/"
                   + std::to_string(reps) + ")");
    out.second.push_back(once());
    baseline();
  }
  progress.finish();
  return out;
}

// -- submits from completion handlers (scenarios 2 and 9) --------------------------------

struct async_load {
  double rate = 0;        ///< answers per second, first submit to last answer
  double drain_rate = 0;  ///< completions per second, first submit to the last one
  double commits_per_job = 0; ///< store commits (fsyncs, when durable) per job
  std::vector<double> us; ///< each submit, sent to answered, in microseconds
};

/// `n` no-op submits with `conc` in flight from one thread (`submit_async`; each
/// answer issues the next), on a runtime of its own: what a service on an event
/// loop does.
async_load run_async_submits(const config& c, store_mode mode, std::size_t conc, std::size_t n);

// -- a host actor system (scenarios 4 and 8) --------------------------------------------

/// An actor system the bench owns, for `runtime::start(sys, opts)`.
struct host_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  host_system(const std::string& policy, std::size_t threads, std::size_t max_throughput);
};

inline constexpr std::size_t fixed_max_throughput = 64;

} // namespace bench
