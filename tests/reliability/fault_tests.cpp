/// Faults: a full map, a data directory that cannot be used, a corrupt stored
/// record, and job code that throws or never answers. Each gives a clear error
/// (or a failed job) and loses nothing that was acknowledged.
///
///   fault_tests --color_output=false -- FAULT_HELPER

#define BOOST_TEST_MODULE fault_tests
#include <boost/test/unit_test.hpp>

#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "reliability/child_process.hpp"
#include "storage/codec.hpp"
#include "storage/job_store.hpp"
#include "test_jobs.hpp"

using namespace std::chrono_literals;
using jobrt::errc;
using jobrt::job_id;
using jobrt::job_status;

namespace {

/// Never takes another step: the reply it waits for never comes.
struct hang_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = "hang";
  static constexpr const char* description = "Suspends and never asks for its next step";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.max_attempts = 1;
    return o;
  }
  void step(jobrt::context& ctx) override { ctx.suspend(); }
};

} // namespace

JOBRT_REGISTER_JOB(test_jobs::sum_job);
JOBRT_REGISTER_JOB(test_jobs::gated_job);
JOBRT_REGISTER_JOB(test_jobs::thrower_job);
JOBRT_REGISTER_JOB(hang_job);

namespace {

std::string helper_path() {
  auto& suite = boost::unit_test::framework::master_test_suite();
  BOOST_REQUIRE_MESSAGE(suite.argc >= 2, "pass the fault_helper path after --");
  return suite.argv[suite.argc - 1];
}

/// A helper process with its stdout on a pipe.
struct helper_process {
  pid_t pid = -1;
  int out = -1;

  explicit helper_process(const std::vector<std::string>& args) {
    auto child = crash_support::spawn_child(helper_path(), args);
    pid = child.pid;
    out = child.out;
  }

  /// The first line it prints, waiting at most `limit`.
  std::string first_line(std::chrono::milliseconds limit = 30s) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + limit;
    char c = 0;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      pollfd p{out, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return line;
      if (::read(out, &c, 1) != 1 || c == '\n')
        return line;
      line += c;
    }
  }

  /// Waits for it to exit; returns its exit code (or 128 + signal).
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void kill() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      wait();
    }
  }

  ~helper_process() {
    kill();
    if (out >= 0)
      ::close(out);
  }
};

jobrt::runtime_options options_for(const std::string& dir) {
  jobrt::runtime_options o;
  o.data_dir = dir;
  o.durable = false;
  o.progress_interval = 0ms;
  return o;
}

/// Proves the runtime still works: a job completes, control calls answer.
void check_runtime_is_healthy(test_jobs::runtime_fixture& f) {
  auto stats = f.rt->stats();
  BOOST_REQUIRE_MESSAGE(stats.ok(), "stats: " << (stats ? "" : stats.error().message));

  auto sum = f.submit("sum", {{"n", 20}, {"every", 5}});
  BOOST_REQUIRE_MESSAGE(f.events.wait_status(sum, job_status::completed),
                        "a later job did not complete");
  BOOST_TEST(f.get(sum).output.at("total").as_int64() == 210);

  auto gated = f.submit("gated", {{"n", 1}});
  BOOST_REQUIRE(f.events.wait_status(gated, job_status::running));
  auto paused = f.rt->pause(gated);
  BOOST_TEST(paused.ok(), "pause: " << (paused ? "" : paused.error().message));
  auto resumed = f.rt->resume(gated);
  BOOST_TEST(resumed.ok(), "resume: " << (resumed ? "" : resumed.error().message));
  auto cancelled = f.rt->cancel(gated);
  BOOST_TEST(cancelled.ok(), "cancel: " << (cancelled ? "" : cancelled.error().message));
  BOOST_TEST(f.get(gated).status == job_status::cancelled);
  auto listed = f.rt->list();
  BOOST_TEST(listed.ok());
}

/// What filling a store gave: the acknowledged ids and the failure, if any.
struct fill_result {
  std::vector<job_id> acked;
  std::optional<jobrt::error> failure;
};

} // namespace

namespace {

struct blob_params {
  std::int64_t n = 0;
  std::string pad;
};
BOOST_DESCRIBE_STRUCT(blob_params, (), (n, pad))

struct blob_job : jobrt::job<blob_params> {
  static constexpr const char* name = "blob";
  static constexpr const char* description = "Carries a large parameter and completes";
  void step(jobrt::context& ctx) override { ctx.complete({{"n", params().n}}); }
};

} // namespace

JOBRT_REGISTER_JOB(blob_job);

namespace {

fill_result fill_blobs(jobrt::runtime& rt, std::size_t payload_bytes, std::size_t limit) {
  fill_result out;
  boost::json::value params = {{"n", 1}, {"pad", std::string(payload_bytes, 'x')}};
  for (std::size_t i = 0; i < limit; ++i) {
    auto id = rt.submit("blob", params);
    if (!id) {
      out.failure = id.error();
      return out;
    }
    out.acked.push_back(*id);
  }
  return out;
}

constexpr std::size_t tiny_map = std::size_t{256} << 10;

} // namespace

// -- a full map ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_tiny_map_fails_submits_with_storage_full_and_a_clear_message) {
  test_jobs::temp_dir dir;
  auto o = options_for((dir.path / "store").string());
  o.initial_map_size = tiny_map;
  o.max_map_size = tiny_map;
  auto rt = jobrt::runtime::start(o);
  BOOST_REQUIRE_MESSAGE(rt.ok(), (rt ? "" : rt.error().message));
  BOOST_REQUIRE((*rt)->pause_type("blob").ok()); // jobs stay queued: nothing else writes
  auto filled = fill_blobs(**rt, 4000, 10'000);
  BOOST_REQUIRE_MESSAGE(filled.failure.has_value(), "a 256 KiB map took 10,000 submits of 4 KB");
  BOOST_TEST(filled.failure->code == errc::storage_full,
             "failed with " << jobrt::to_string(filled.failure->code) << ": "
                            << filled.failure->message);
  BOOST_TEST(filled.failure->message.find("full") != std::string::npos, filled.failure->message);
  BOOST_TEST(filled.acked.size() > 10u);
  BOOST_TEST_MESSAGE("storage_full after " << filled.acked.size() << " submits: "
                                           << filled.failure->message);
}

BOOST_AUTO_TEST_CASE(every_job_acknowledged_before_the_map_filled_is_there_after_reopening) {
  test_jobs::temp_dir dir;
  auto o = options_for((dir.path / "store").string());
  o.initial_map_size = tiny_map;
  o.max_map_size = tiny_map;
  fill_result filled;
  {
    auto rt = jobrt::runtime::start(o);
    BOOST_REQUIRE_MESSAGE(rt.ok(), (rt ? "" : rt.error().message));
    BOOST_REQUIRE((*rt)->pause_type("blob").ok());
    filled = fill_blobs(**rt, 4000, 10'000);
    BOOST_REQUIRE(filled.failure.has_value());
    // Control calls still answer on a full store.
    BOOST_TEST((*rt)->stats().ok());
    BOOST_TEST((*rt)->get(filled.acked.back()).ok());
  }
  auto rt = jobrt::runtime::start(o);
  BOOST_REQUIRE_MESSAGE(rt.ok(), (rt ? "" : rt.error().message));
  for (auto id : filled.acked) {
    auto rec = (*rt)->get(id);
    BOOST_TEST(rec.ok(), "acknowledged job " << id << " is missing: "
                                             << (rec ? "" : rec.error().message));
  }
}

BOOST_AUTO_TEST_CASE(a_map_allowed_to_grow_takes_every_submit) {
  test_jobs::temp_dir dir;
  auto path = (dir.path / "store").string();
  auto o = options_for(path);
  o.initial_map_size = tiny_map;
  o.max_map_size = std::size_t{64} << 20;
  fill_result filled;
  {
    auto rt = jobrt::runtime::start(o);
    BOOST_REQUIRE_MESSAGE(rt.ok(), (rt ? "" : rt.error().message));
    BOOST_REQUIRE((*rt)->pause_type("blob").ok());
    filled = fill_blobs(**rt, 4000, 500); // about 2 MB: eight times the initial map
    BOOST_TEST(!filled.failure.has_value(),
               "submit " << filled.acked.size() + 1 << " failed: "
                         << (filled.failure ? filled.failure->message : ""));
  }
  jobrt::storage::store_config cfg;
  cfg.path = path;
  cfg.map_size = tiny_map;
  auto st = jobrt::storage::job_store::open(cfg);
  BOOST_REQUIRE(st.ok());
  BOOST_TEST((*st)->stats().map_size > tiny_map);
  BOOST_TEST((*st)->stats().records == 500u);
}

// -- a data directory that cannot be used --------------------------------------------

BOOST_AUTO_TEST_CASE(a_read_only_data_directory_fails_start_with_a_clear_error) {
  test_jobs::temp_dir dir;
  auto store = dir.path / "store";
  {
    auto rt = jobrt::runtime::start(options_for(store.string()));
    BOOST_REQUIRE(rt.ok());
  }
  std::filesystem::permissions(dir.path, std::filesystem::perms(0755));
  std::filesystem::permissions(store, std::filesystem::perms(0555));
  std::string line;
  if (::geteuid() == 0) {
    // Root ignores permissions: try as nobody, in a helper process.
    helper_process h({"as-nobody", "open", store.string()});
    line = h.first_line();
    int code = h.wait();
    if (code == 77 || code == 127) {
      std::filesystem::permissions(store, std::filesystem::perms(0755));
      BOOST_TEST_MESSAGE("skipped: cannot run the helper as nobody (" << line << ")");
      return;
    }
  } else {
    auto rt = jobrt::runtime::start(options_for(store.string()));
    line = rt ? "ok" : std::string{"error "} + jobrt::to_string(rt.error().code) + " "
                         + rt.error().message;
  }
  std::filesystem::permissions(store, std::filesystem::perms(0755));
  BOOST_TEST(line.rfind("error storage_error ", 0) == 0, line);
  BOOST_TEST(line.find("permission denied") != std::string::npos, line);
  BOOST_TEST(line.find(store.string()) != std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(a_data_directory_under_a_missing_parent_fails_start_with_a_clear_error) {
  test_jobs::temp_dir dir;
  auto store = (dir.path / "no-such-parent" / "store").string();
  auto rt = jobrt::runtime::start(options_for(store));
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().code == errc::storage_error);
  BOOST_TEST(rt.error().message.find("does not exist") != std::string::npos, rt.error().message);
  BOOST_TEST(rt.error().message.find(store) != std::string::npos, rt.error().message);
}

BOOST_AUTO_TEST_CASE(a_data_directory_held_by_another_live_process_fails_start_with_a_clear_error) {
  test_jobs::temp_dir dir;
  auto store = (dir.path / "store").string();
  helper_process holder({"hold", store});
  BOOST_REQUIRE_EQUAL(holder.first_line(), "ready");
  auto rt = jobrt::runtime::start(options_for(store));
  BOOST_REQUIRE(!rt.ok());
  BOOST_TEST(rt.error().code == errc::storage_error);
  BOOST_TEST(rt.error().message.find("in use by another process") != std::string::npos,
             rt.error().message);
}

BOOST_AUTO_TEST_CASE(a_data_directory_is_usable_again_once_the_process_holding_it_died) {
  test_jobs::temp_dir dir;
  auto store = (dir.path / "store").string();
  helper_process holder({"hold", store});
  BOOST_REQUIRE_EQUAL(holder.first_line(), "ready");
  holder.kill();
  auto rt = jobrt::runtime::start(options_for(store));
  BOOST_TEST(rt.ok(), (rt ? "" : rt.error().message));
}

// -- a corrupt stored record -----------------------------------------------------------

namespace {

/// Flips the last byte of job `id`'s stored record with raw LMDB (the JSON's closing brace).
void corrupt_record(const std::string& path, job_id id) {
  MDB_env* env = nullptr;
  BOOST_REQUIRE(mdb_env_create(&env) == 0);
  BOOST_REQUIRE(mdb_env_set_maxdbs(env, 16) == 0);
  BOOST_REQUIRE(mdb_env_set_mapsize(env, std::size_t{64} << 20) == 0);
  BOOST_REQUIRE(mdb_env_open(env, path.c_str(), MDB_NOTLS, 0644) == 0);
  MDB_txn* txn = nullptr;
  BOOST_REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi jobs = 0;
  BOOST_REQUIRE(mdb_dbi_open(txn, "jobs", 0, &jobs) == 0);
  auto key = jobrt::storage::codec::id_key(id);
  MDB_val k{key.size(), key.data()};
  MDB_val v{};
  BOOST_REQUIRE(mdb_get(txn, jobs, &k, &v) == 0);
  std::string bytes(static_cast<const char*>(v.mv_data), v.mv_size);
  bytes.back() ^= 0x5a;
  MDB_val nv{bytes.size(), bytes.data()};
  BOOST_REQUIRE(mdb_put(txn, jobs, &k, &nv, 0) == 0);
  BOOST_REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_corrupt_stored_record_is_quarantined_and_every_other_job_completes) {
  test_jobs::runtime_fixture f;
  BOOST_REQUIRE(f.rt->pause_type("sum").ok()); // all five stay queued until the restart
  std::vector<job_id> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(f.submit("sum", {{"n", 10 + i}, {"every", 3}}));
  f.sub.cancel();
  f.rt->shutdown();
  f.rt.reset();
  auto bad = ids[2];
  corrupt_record((f.dir.path / "store").string(), bad);

  f.start(4);
  auto stats = f.rt->stats();
  BOOST_REQUIRE(stats.ok());
  BOOST_TEST(stats->quarantined == 1u);
  auto rec = f.rt->get(bad);
  BOOST_TEST(!rec.ok(), "the corrupt record is still served");
  BOOST_REQUIRE(f.rt->resume_type("sum").ok());
  for (auto id : ids) {
    if (id == bad)
      continue;
    BOOST_TEST(f.events.wait_status(id, job_status::completed), "job " << id);
  }
  // The quarantine keeps the bytes for an operator.
  f.sub.cancel();
  f.rt->shutdown();
  f.rt.reset();
  jobrt::storage::store_config cfg;
  cfg.path = (f.dir.path / "store").string();
  auto st = jobrt::storage::job_store::open(cfg);
  BOOST_REQUIRE(st.ok());
  BOOST_TEST((*st)->stats().quarantined == 1u);
}

// -- job code that misbehaves ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_exception_from_job_code_fails_the_job_and_leaves_the_runtime_healthy) {
  test_jobs::runtime_fixture f;
  auto id = f.submit("thrower", boost::json::object{});
  BOOST_REQUIRE(f.events.wait_status(id, job_status::failed));
  BOOST_TEST(f.get(id).error.find("disk on fire") != std::string::npos, f.get(id).error);
  check_runtime_is_healthy(f);
}

BOOST_AUTO_TEST_CASE(a_job_that_never_answers_is_failed_by_its_timeout_and_the_runtime_stays_healthy) {
  test_jobs::runtime_fixture f;
  jobrt::submit_options so;
  so.timeout_ms = 200;
  so.max_attempts = 1;
  auto id = f.submit("hang", boost::json::object{}, so);
  BOOST_REQUIRE(f.events.wait_status(id, job_status::failed));
  BOOST_TEST(f.get(id).error.find("timed out") != std::string::npos, f.get(id).error);
  check_runtime_is_healthy(f);
}

BOOST_AUTO_TEST_CASE(a_job_that_never_answers_can_be_force_failed_and_the_runtime_stays_healthy) {
  test_jobs::runtime_fixture f;
  auto id = f.submit("hang", boost::json::object{});
  BOOST_REQUIRE(f.events.wait_status(id, job_status::running));
  auto res = f.rt->force_fail(id, "stuck: no answer");
  BOOST_REQUIRE_MESSAGE(res.ok(), (res ? "" : res.error().message));
  BOOST_TEST(f.get(id).status == job_status::failed);
  BOOST_TEST(f.get(id).error.find("stuck: no answer") != std::string::npos, f.get(id).error);
  check_runtime_is_healthy(f);
}
