#define BOOST_TEST_MODULE recovery_tests
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include <lmdb.h> // only to plant a corrupt record, as a bad disk would

#include "actors/lifecycle.hpp"
#include "storage/job_store.hpp"

#include "test_jobs.hpp"

// Recovery from the records a crash leaves behind. Each test writes the records
// straight into an LMDB store (no runtime has run on it), closes the store, then
// starts a runtime on that directory, on a manual clock, and checks what becomes
// of each job. Waits are for facts (a status in the store, a stats count) with a
// deadline; time moves only when a test advances the clock.

using namespace std::chrono_literals;
using jobrt::job_id;
using jobrt::job_record;
using jobrt::job_status;
namespace json = boost::json;
namespace storage = jobrt::storage;

namespace {

struct approval_state {
  bool approved = false;
  std::string by;
};
BOOST_DESCRIBE_STRUCT(approval_state, (), (approved, by))

/// Waits for a signal, then completes with the name of the signal it took.
struct approval_job : jobrt::job<jobrt::no_fields, approval_state> {
  static constexpr const char* name = "approval";
  static constexpr const char* description = "Waits for a signal, then completes";
  void on_signal(jobrt::context&, const jobrt::job_signal& s) override {
    state().approved = true;
    state().by = s.name;
  }
  void step(jobrt::context& ctx) override {
    if (state().approved)
      ctx.complete({{"approved_by", state().by}});
    else
      ctx.wait_for_signal(std::chrono::hours(1));
  }
};

/// The runtime clock's start; records are written relative to it.
constexpr jobrt::millis t0 = 1'700'000'000'000;

/// The big-endian key of a job in the store's `jobs` database.
std::string be_key(job_id id) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[7 - i] = static_cast<char>((id >> (8 * i)) & 0xff);
  return out;
}

/// Flips a byte inside the stored bytes of record `id`, straight in LMDB, in a
/// store directory that no job_store has open.
void corrupt_record(const std::string& path, job_id id) {
  MDB_env* env = nullptr;
  BOOST_REQUIRE_EQUAL(mdb_env_create(&env), 0);
  BOOST_REQUIRE_EQUAL(mdb_env_set_maxdbs(env, 8), 0);
  BOOST_REQUIRE_EQUAL(mdb_env_open(env, path.c_str(), MDB_NOTLS, 0644), 0);
  MDB_txn* t = nullptr;
  MDB_dbi dbi;
  BOOST_REQUIRE_EQUAL(mdb_txn_begin(env, nullptr, 0, &t), 0);
  BOOST_REQUIRE_EQUAL(mdb_dbi_open(t, "jobs", 0, &dbi), 0);
  auto key = be_key(id);
  MDB_val k{key.size(), key.data()}, v;
  BOOST_REQUIRE_EQUAL(mdb_get(t, dbi, &k, &v), 0);
  std::string bad(static_cast<const char*>(v.mv_data), v.mv_size);
  bad[bad.size() - 5] ^= 0x5a;
  MDB_val nv{bad.size(), bad.data()};
  BOOST_REQUIRE_EQUAL(mdb_put(t, dbi, &k, &nv, 0), 0);
  BOOST_REQUIRE_EQUAL(mdb_txn_commit(t), 0);
  mdb_env_close(env);
}

/// A record as a job of `type` has it after a submit at `t0`.
job_record make_record(job_id id, const std::string& type, json::value params, job_status s) {
  job_record r;
  r.id = id;
  r.type = type;
  r.params = std::move(params);
  r.status = s;
  r.created_at = t0 - 60'000;
  r.max_attempts = 3;
  return r;
}

job_record running(job_id id, const std::string& type, json::value params) {
  auto r = make_record(id, type, std::move(params), job_status::running);
  r.attempts = 1;
  r.started_at = t0 - 30'000;
  return r;
}

job_record waiting(job_id id, const std::string& type, json::value params, jobrt::millis wake_at,
                   std::string waiting_for) {
  auto r = make_record(id, type, std::move(params), job_status::waiting);
  r.wake_at = wake_at;
  r.waiting_for = std::move(waiting_for);
  return r;
}

/// A store directory with records written as a crash left them, and the
/// runtime started on it afterwards.
struct crashed_store {
  test_jobs::temp_dir dir;
  std::string path = (dir.path / "store").string();
  std::shared_ptr<jobrt::manual_clock> clock = std::make_shared<jobrt::manual_clock>(t0);
  std::unique_ptr<jobrt::runtime> rt;

  crashed_store() { test_jobs::reset_hooks(); }

  ~crashed_store() {
    if (rt)
      rt->shutdown();
  }

  std::unique_ptr<storage::job_store> open_store() {
    storage::store_config cfg;
    cfg.path = path;
    auto s = storage::job_store::open(cfg);
    BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
    return std::move(*s);
  }

  /// Writes one batch into the store, as the process that crashed would have.
  void write(const std::function<void(storage::write_batch&)>& fill) {
    auto store = open_store();
    storage::write_batch b;
    fill(b);
    auto r = store->commit(b);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  }

  /// The record as the store holds it (the runtime must not be running).
  job_record stored(job_id id) {
    auto store = open_store();
    auto r = store->get(id);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return *r;
  }

  void start(std::size_t max_running = 2) {
    jobrt::runtime_options o;
    o.storage = jobrt::storage_kind::lmdb;
    o.data_dir = path;
    o.durable = false;
    o.max_running = max_running;
    o.progress_interval = std::chrono::milliseconds(0);
    o.clock = clock;
    auto r = jobrt::runtime::start(o);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r ? "" : r.error().message));
    rt = std::move(*r);
  }

  void stop() {
    rt->shutdown();
    rt.reset();
  }

  job_record get(job_id id) {
    auto r = rt->get(id);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r ? "" : r.error().message));
    return *r;
  }

  jobrt::runtime_stats stats() {
    auto s = rt->stats();
    BOOST_REQUIRE(s.ok());
    return *s;
  }

  /// Polls until `fact` holds, for at most 30 s of real time; the clock stays.
  bool eventually(const std::function<bool()>& fact) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!fact()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(1ms); // a poll interval, not a wait for time to pass
    }
    return true;
  }

  /// Waits until job `id` has status `s`, then returns its record.
  job_record when(job_id id, job_status s) {
    BOOST_REQUIRE_MESSAGE(eventually([&] { return get(id).status == s; }),
                          "job " << id << " never became " << jobrt::to_string(s)
                                 << "; it is " << jobrt::to_string(get(id).status));
    return get(id);
  }

  /// Waits until no job runs and none is queued: what recovery started is done.
  void settle() {
    BOOST_REQUIRE(eventually([&] {
      auto s = stats();
      return s.running == 0 && s.queued == 0;
    }));
  }
};

} // namespace

JOBRT_REGISTER_JOB(test_jobs::sum_job);
JOBRT_REGISTER_JOB(test_jobs::busy_job);
JOBRT_REGISTER_JOB(approval_job);

BOOST_FIXTURE_TEST_SUITE(recovery, crashed_store)

// -- running jobs: the run a crash cut short ------------------------------------------------

BOOST_AUTO_TEST_CASE(a_running_job_resumes_from_its_checkpoint_after_a_crash) {
  write([](storage::write_batch& b) {
    b.put_record(running(1, "sum", {{"n", 20}, {"every", 10}}));
    jobrt::checkpoint cp;
    cp.state = {{"i", 10}, {"total", 55}, {"resumed_from", -1}};
    cp.progress.fraction = 0.5;
    cp.at = t0 - 10'000;
    b.put_checkpoint(1, cp);
  });
  start();
  auto done = when(1, job_status::completed);
  BOOST_TEST(done.output.at("resumed_from").as_int64() == 10);
  BOOST_TEST(done.output.at("total").as_int64() == 210); // 1 + ... + 20: nothing added twice
  BOOST_TEST(done.attempts == 2u); // the run the crash cut short counts
}

BOOST_AUTO_TEST_CASE(a_running_job_without_a_checkpoint_runs_again_from_scratch) {
  write([](storage::write_batch& b) { b.put_record(running(1, "sum", {{"n", 5}})); });
  start();
  auto done = when(1, job_status::completed);
  BOOST_TEST(done.output.at("resumed_from").as_int64() == -1);
  BOOST_TEST(done.output.at("total").as_int64() == 15);
  BOOST_TEST(done.attempts == 2u);
}

// -- queued jobs ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(queued_jobs_start_in_priority_order_after_a_crash) {
  // The lowest priority has the lowest id: id order alone would start it first.
  write([](storage::write_batch& b) {
    std::int32_t priority[] = {0, 10, 5, -3};
    const char* tag[] = {"p0", "p10", "p5", "p-3"};
    for (job_id id = 1; id <= 4; ++id) {
      auto r = make_record(id, "busy", {{"steps", 1}, {"tag", tag[id - 1]}}, job_status::queued);
      r.priority = priority[id - 1];
      b.put_record(r);
    }
  });
  start(1);
  for (job_id id = 1; id <= 4; ++id)
    when(id, job_status::completed);
  std::lock_guard guard{test_jobs::order_mtx};
  std::vector<std::string> expected{"p10", "p5", "p0", "p-3"};
  BOOST_TEST(test_jobs::start_order == expected, boost::test_tools::per_element());
}

// -- waiting jobs ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_waiting_job_whose_time_passed_during_the_crash_wakes_at_once) {
  write([](storage::write_batch& b) {
    b.put_record(waiting(1, "sum", {{"n", 3}}, t0 - 5'000, "scheduled"));
  });
  start();
  auto done = when(1, job_status::completed); // the clock never moves in this test
  BOOST_TEST(done.output.at("total").as_int64() == 6);
  BOOST_TEST(done.started_at == t0);
}

BOOST_AUTO_TEST_CASE(a_waiting_job_whose_time_is_still_ahead_waits_for_its_timer) {
  write([](storage::write_batch& b) {
    b.put_record(waiting(1, "sum", {{"n", 3}}, t0 + 5'000, "scheduled"));
  });
  start();
  BOOST_TEST(stats().recovered == 1u); // a stats reply: recovery is applied by now
  BOOST_TEST(get(1).status == job_status::waiting);
  BOOST_TEST(get(1).wake_at == t0 + 5'000);
  clock->advance(4'999);
  BOOST_TEST(get(1).status == job_status::waiting);
  BOOST_TEST(get(1).attempts == 0u);
  clock->advance(1);
  auto done = when(1, job_status::completed);
  BOOST_TEST(done.started_at == t0 + 5'000);
}

BOOST_AUTO_TEST_CASE(a_job_waiting_for_a_signal_that_was_stored_before_the_crash_wakes_at_recovery) {
  const std::string signal_reason = jobrt::lifecycle::to_string(jobrt::lifecycle::wait_reason::signal);
  write([&](storage::write_batch& b) {
    auto r = waiting(1, "approval", json::object{}, t0 + 3'600'000, signal_reason);
    r.attempts = 1;
    b.put_record(r);
    auto s = std::make_shared<jobrt::job_signal>();
    s->seq = 1;
    s->name = "approve";
    s->at = t0 - 1'000;
    b.put_signal(1, s);
  });
  start();
  auto done = when(1, job_status::completed); // the clock never moves: no timeout woke it
  BOOST_TEST(done.output.at("approved_by").as_string() == "approve");
}

BOOST_AUTO_TEST_CASE(a_job_waiting_for_a_signal_with_none_stored_keeps_waiting) {
  const std::string signal_reason = jobrt::lifecycle::to_string(jobrt::lifecycle::wait_reason::signal);
  write([&](storage::write_batch& b) {
    auto r = waiting(1, "approval", json::object{}, t0 + 3'600'000, signal_reason);
    r.attempts = 1;
    b.put_record(r);
  });
  start();
  BOOST_TEST(stats().recovered == 1u);
  BOOST_TEST(get(1).status == job_status::waiting);
  BOOST_TEST(get(1).waiting_for == signal_reason);
  BOOST_REQUIRE(rt->signal(1, "approve", nullptr).ok());
  BOOST_TEST(when(1, job_status::completed).output.at("approved_by").as_string() == "approve");
}

// -- paused jobs ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_paused_job_stays_paused_after_a_crash_and_resumes_on_request) {
  write([](storage::write_batch& b) {
    b.put_record(make_record(1, "sum", {{"n", 3}}, job_status::paused));
    b.put_record(make_record(2, "sum", {{"n", 4}}, job_status::queued));
  });
  start();
  when(2, job_status::completed); // the runtime runs what it may
  settle();
  BOOST_TEST(get(1).status == job_status::paused);
  BOOST_TEST(get(1).attempts == 0u);
  BOOST_REQUIRE(rt->resume(1).ok());
  BOOST_TEST(when(1, job_status::completed).output.at("total").as_int64() == 6);
}

// -- finished and corrupt records -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(finished_jobs_stay_exactly_as_they_were_written) {
  write([](storage::write_batch& b) {
    auto completed = make_record(1, "sum", {{"n", 3}}, job_status::completed);
    completed.attempts = 1;
    completed.started_at = t0 - 50'000;
    completed.finished_at = t0 - 40'000;
    completed.output = {{"total", 6}, {"resumed_from", -1}};
    completed.progress.fraction = 1.0;
    b.put_record(completed);
    auto failed = make_record(2, "sum", {{"n", 3}}, job_status::failed);
    failed.attempts = 3;
    failed.started_at = t0 - 50'000;
    failed.finished_at = t0 - 40'000;
    failed.error = "upstream said no";
    b.put_record(failed);
    auto cancelled = make_record(3, "sum", {{"n", 3}}, job_status::cancelled);
    cancelled.finished_at = t0 - 40'000;
    b.put_record(cancelled);
    b.put_record(make_record(4, "sum", {{"n", 4}}, job_status::queued));
  });
  std::vector<json::value> before;
  for (job_id id = 1; id <= 3; ++id)
    before.push_back(jobrt::to_json(stored(id)));
  BOOST_TEST(stored(2).error == "upstream said no");
  start();
  when(4, job_status::completed);
  settle();
  for (job_id id = 1; id <= 3; ++id)
    BOOST_TEST(jobrt::to_json(get(id)) == before[id - 1], "job " << id << " as the runtime has it");
  stop();
  for (job_id id = 1; id <= 3; ++id)
    BOOST_TEST(jobrt::to_json(stored(id)) == before[id - 1], "job " << id << " as stored");
}

BOOST_AUTO_TEST_CASE(a_corrupt_record_is_quarantined_and_the_other_jobs_recover) {
  write([](storage::write_batch& b) {
    for (job_id id = 1; id <= 3; ++id)
      b.put_record(make_record(id, "sum", {{"n", 3}}, job_status::queued));
  });
  corrupt_record(path, 2);
  start();
  when(1, job_status::completed);
  when(3, job_status::completed);
  auto s = stats();
  BOOST_TEST(s.quarantined == 1u);
  BOOST_TEST(s.recovered == 2u);
  BOOST_TEST(rt->get(2).error().code == jobrt::errc::not_found);
}

// -- counting -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(recovery_counts_every_unfinished_job_and_no_finished_one) {
  write([](storage::write_batch& b) {
    b.put_record(running(1, "sum", {{"n", 3}}));
    b.put_record(make_record(2, "sum", {{"n", 3}}, job_status::queued));
    b.put_record(waiting(3, "sum", {{"n", 3}}, t0 + 5'000, "retry"));
    b.put_record(make_record(4, "sum", {{"n", 3}}, job_status::paused));
    b.put_record(make_record(5, "sum", {{"n", 3}}, job_status::completed));
    b.put_record(make_record(6, "sum", {{"n", 3}}, job_status::failed));
    b.put_record(make_record(7, "sum", {{"n", 3}}, job_status::cancelled));
  });
  start();
  BOOST_TEST(stats().recovered == 4u);
  when(1, job_status::completed);
  when(2, job_status::completed);
  settle();
  auto s = stats();
  BOOST_TEST(s.recovered == 4u);
  BOOST_TEST(s.jobs_by_status[job_status::waiting] == 1u);
  BOOST_TEST(s.jobs_by_status[job_status::paused] == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
