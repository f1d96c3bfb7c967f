#pragma once

/// The data a job is made of: its record, its progress, its checkpoint, and the
/// events subscribers receive. Plain structs with JSON codecs; no behaviour.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "jobrt/error.hpp"
#include "jobrt/status.hpp"

namespace jobrt {

/// Job ids grow with every submit, so id order is submission order.
using job_id = std::uint64_t;

/// Wall-clock milliseconds since the Unix epoch; 0 means "not yet".
using millis = std::int64_t;

/// What a job submitted `after` other jobs does when one of them failed or was
/// cancelled (`submit_options::on_dependency_failure`).
enum class dependency_failure : std::uint8_t {
  fail,   ///< it fails, naming the dependency
  cancel, ///< it is cancelled
  run,    ///< it runs anyway
};

/// What a job last said about how far it is.
struct progress {
  /// 0..1, or empty when the job cannot tell (indeterminate).
  std::optional<double> fraction;
  /// A short name for the current phase, e.g. "categorizing".
  std::string stage;
  /// A sentence for humans, e.g. "row 300 of 1200".
  std::string message;
  /// Structured detail of the job's choosing; null when none.
  boost::json::value detail;
};

/// The whole stored record of one job, as `runtime::get` returns it.
struct job_record {
  job_id id = 0;
  std::string type;
  boost::json::value params;
  std::string owner;
  std::int32_t priority = 0;
  job_status status = job_status::queued;
  jobrt::progress progress;
  millis created_at = 0;
  millis started_at = 0;  ///< first start of the current attempt
  millis finished_at = 0; ///< when it became completed, failed or cancelled
  millis checkpoint_at = 0; ///< time of the last durable checkpoint
  /// While waiting: when its timer re-queues it. The largest `millis` for a job
  /// that waits for no time: for jobs (`after`, children), or for a signal
  /// without a timeout.
  millis wake_at = 0;
  /// While waiting: "rate_limit", "retry" (backoff after a transient error),
  /// "scheduled" (a delayed start), "signal", "dependencies" (jobs it was
  /// submitted `after`) or "children" (`context::wait_for_children`). Empty otherwise.
  std::string waiting_for;
  std::uint32_t max_attempts = 1; ///< runs allowed before a transient error fails it
  millis timeout_ms = 0;          ///< longest run; 0 = no limit
  std::string idempotency_key;    ///< empty: none; scoped by `owner`
  /// Runs started: a failed run, the running one, and a run cut short by a crash
  /// or shutdown all count; a rate-limit wait does not.
  std::uint32_t attempts = 0;
  std::string error;            ///< last error message, empty if none
  boost::json::value output;    ///< the completed job's output, null otherwise
  /// The job that spawned it (`context::spawn_child`); 0 for none.
  job_id parent = 0;
  /// It runs only once these jobs have finished (`submit_options::after`).
  std::vector<job_id> after;
  dependency_failure on_dependency_failure = dependency_failure::fail;
  /// The children it spawned, from its checkpoint (read, not stored here).
  std::vector<job_id> children;
  /// The worker node that runs it now (`node_stats::name`); empty when it runs
  /// in the coordinator's process or does not run. Live: not stored.
  std::string node;
};

/// A checkpoint: the job's saved state and its progress, written together.
struct checkpoint {
  boost::json::value state;
  jobrt::progress progress;
  millis at = 0;
  /// The last signal the job had taken (`job_signal::seq`) when it saved this
  /// state; later signals are delivered again after a restart. 0: none.
  std::uint64_t signals_taken = 0;
  /// The children the job had spawned when it saved this state, in order.
  std::vector<job_id> children;
  /// Saved as the job began to wait for its children: a run from this
  /// checkpoint starts only once they have all finished (after a crash too).
  bool awaiting_children = false;
};

/// A signal sent to a job with `runtime::signal`: durable before it is
/// acknowledged, delivered to the job (`job_base::on_signal`) in `seq` order.
struct job_signal {
  std::uint64_t seq = 0; ///< grows with every signal of the job, from 1
  std::string name;
  boost::json::value payload;
  millis at = 0; ///< when it was sent
};

/// A filter and page for `runtime::list`. Results are newest first.
struct list_query {
  std::vector<job_status> statuses; ///< empty: any status
  std::string type;                 ///< empty: any type
  std::string owner;                ///< empty: any owner
  std::size_t limit = 50;           ///< at most this many records (capped at 1000)
  job_id before = 0;                ///< the cursor: only ids below it; 0 = start
};

struct list_page {
  std::vector<job_record> jobs;
  job_id next_cursor = 0; ///< pass as `before` for the next page; 0 = no more
};

/// What subscribers receive: a status change or a progress update of one job.
struct job_event {
  enum class kind : std::uint8_t { status, progress };
  kind what = kind::status;
  job_id id = 0;
  std::string type;
  std::string owner;
  job_status status = job_status::queued;
  jobrt::progress progress;
  std::string error; ///< set on a failure
  millis at = 0;
};

// -- JSON codecs ----------------------------------------------------------------

/// `sp`: where the JSON is allocated (a monotonic resource makes a throwaway
/// value cheap); the default heap if none.
boost::json::value to_json(const progress& p, boost::json::storage_ptr sp = {});
boost::json::value to_json(const job_record& r, boost::json::storage_ptr sp = {});
boost::json::value to_json(const checkpoint& c);
boost::json::value to_json(const job_event& e);

/// Decoders never throw: a document of the wrong shape gives `corrupt_record`.
result<progress> progress_from_json(const boost::json::value& v);
result<job_record> record_from_json(const boost::json::value& v);
result<checkpoint> checkpoint_from_json(const boost::json::value& v);

const char* to_string(dependency_failure d) noexcept;
/// False (and `out` unchanged) for an unknown name ("fail", "cancel", "run").
bool parse_dependency_failure(std::string_view name, dependency_failure& out) noexcept;

} // namespace jobrt
