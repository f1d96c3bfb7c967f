#pragma once

/// What the SIGKILL crash-loop suites (crash_loop, schedule_crash, flow_crash)
/// share beside their child process (child_process.hpp): their common options
/// (child, kills, seed), the start of a loop (its store and random numbers),
/// the start-up kill delay, opening the store after a kill and the runtime of
/// the final clean run, and named checks that collect findings.
/// Include after <boost/test/unit_test.hpp> (and BOOST_TEST_MODULE).

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "jobrt/runtime.hpp"
#include "reliability/child_process.hpp"
#include "storage/job_store.hpp"
#include "test_jobs.hpp"

namespace crash_support {

// -- options --------------------------------------------------------------------------

/// The options every crash loop takes: `CHILD [--kills N] [--seed S]`, or
/// JOBRT_CRASH_LOOP_KILLS / JOBRT_CRASH_LOOP_SEED in the environment.
struct loop_args {
  std::string child;
  int kills = 0;
  std::uint64_t seed = 0;
};

/// Reads the options of the test module's command line (after `--`) into `o`,
/// `kills` to begin with (the seed from the clock). `extra(arg, i)` is asked
/// about every other `--` argument (and may take the next one with `++i`);
/// it returns whether it took it. `child_name` names the child in the message
/// for a missing path.
template <class Extra>
void read_loop_args(loop_args& o, int kills, const char* child_name, Extra&& extra) {
  auto& suite = boost::unit_test::framework::master_test_suite();
  o.kills = kills;
  o.seed = static_cast<std::uint64_t>(
    std::chrono::steady_clock::now().time_since_epoch().count() % 1'000'000'007);
  if (auto* k = std::getenv("JOBRT_CRASH_LOOP_KILLS"))
    o.kills = std::atoi(k);
  if (auto* s = std::getenv("JOBRT_CRASH_LOOP_SEED"))
    o.seed = std::stoull(s);
  for (int i = 1; i < suite.argc; ++i) {
    std::string arg = suite.argv[i];
    if (arg == "--kills" && i + 1 < suite.argc)
      o.kills = std::atoi(suite.argv[++i]);
    else if (arg == "--seed" && i + 1 < suite.argc)
      o.seed = std::stoull(suite.argv[++i]);
    else if (extra(arg, i))
      continue;
    else if (arg.rfind("--", 0) != 0)
      o.child = arg;
  }
  BOOST_REQUIRE_MESSAGE(!o.child.empty(), "pass the " << child_name << " path after --");
  BOOST_REQUIRE(o.kills > 0);
}

inline void read_loop_args(loop_args& o, int kills, const char* child_name) {
  read_loop_args(o, kills, child_name, [](const std::string&, int&) { return false; });
}

/// Prints the seed and the number of kills as a loop starts: `NAME: seed S, N kills ...`.
inline void announce(const char* name, const loop_args& o) {
  std::cout << name << ": seed " << o.seed << ", " << o.kills
            << " kills (replay with --seed " << o.seed << ")" << std::endl;
}

/// A crash loop under way: it prints the seed and the number of kills, and
/// holds the store (in a temporary directory) and the random numbers drawn
/// from the seed.
struct loop_start {
  loop_start(const char* name, const loop_args& o) : rng{o.seed} { announce(name, o); }

  test_jobs::temp_dir dir;
  std::string store = (dir.path / "store").string();
  std::mt19937_64 rng;
};

// -- the moment of a kill ---------------------------------------------------------------

/// A kill in start-up: 0 to a little over `startup_ms` (how long the last child
/// that got through start-up took) after the start, so that a slow build (a
/// sanitizer) gets the same mix.
inline std::chrono::milliseconds startup_kill_delay(std::mt19937_64& rng, std::int64_t startup_ms) {
  return std::chrono::milliseconds(
    std::uniform_int_distribution<std::int64_t>(0, startup_ms * 6 / 5 + 5)(rng));
}

// -- the store ---------------------------------------------------------------------------

/// Opens the store at `path` (no process has it); `what` names the step in
/// the message if it cannot be opened.
inline std::unique_ptr<jobrt::storage::job_store> open_store(
  const std::string& path, const std::string& what = "opening the store") {
  jobrt::storage::store_config cfg;
  cfg.path = path;
  auto opened = jobrt::storage::job_store::open(cfg);
  BOOST_REQUIRE_MESSAGE(opened.ok(), what << ": " << (opened ? "" : opened.error().message));
  return std::move(*opened);
}

/// The options of a loop's final clean run on `store`: not durable, eight jobs
/// at a time.
inline jobrt::runtime_options final_run_options(const std::string& store) {
  jobrt::runtime_options o;
  o.data_dir = store;
  o.durable = false;
  o.max_running = 8;
  return o;
}

/// Starts a runtime with `o` (the store is no other process's any more).
inline std::unique_ptr<jobrt::runtime> start_runtime(const jobrt::runtime_options& o) {
  auto rt = jobrt::runtime::start(o);
  BOOST_REQUIRE_MESSAGE(rt.ok(), (rt ? "" : rt.error().message));
  return std::move(*rt);
}

// -- findings, by check ------------------------------------------------------------------

/// The named checks; each keeps what differed (capped).
struct checks {
  std::map<std::string, std::vector<std::string>> failed;

  void fail(const std::string& check, std::string what) {
    auto& v = failed[check];
    if (v.size() < 20)
      v.push_back(std::move(what));
  }
  bool ok() const { return failed.empty(); }
  /// One Boost assertion per check that failed, naming it and listing what differed.
  void report(const std::string& where) const {
    for (const auto& [check, whats] : failed) {
      std::string text;
      for (const auto& w : whats)
        text += "\n  " + w;
      BOOST_ERROR(check << where << ":" << text);
    }
  }
};

} // namespace crash_support
