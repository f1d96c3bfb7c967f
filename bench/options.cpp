// jobrt-bench's command line: sizes, option parsing and --help.

#include "options.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <stdexcept>

#include <unistd.h>

namespace bench {

sizes default_sizes() {
  // Fits in about a minute on a 2-core machine; --full has the sizes of the targets.
  return {5'000, 100, 20, 10'000, 300, 20'000, 5'000, {1'000, 5'000}, {1, 8, 64, 512}, 5'000,
          1'000, 200, 3'000, 300, 10'000, 10'000, 5'000, 16, 50};
}

namespace {

sizes full_sizes() {
  return {100'000, 1'000, 50, 10'000, 2'000, 1'000'000, 100'000,
          {10'000, 100'000, 1'000'000}, {1, 8, 64, 512}, 100'000, 10'000, 1'000,
          30'000, 3'000, 10'000, 10'000, 100'000, 64, 200};
}
sizes smoke_sizes() {
  return {300, 10, 5, 200, 20, 300, 200, {200, 400}, {1, 8}, 0, 20, 10, 40, 40, 50, 20, 200, 4, 5};
}

const char* const scenario_names[] = {"noop-mem", "noop-durable", "checkpoint", "control",
                                      "recovery", "memory",       "scaling",    "signal",
                                      "http",     "soak",         "schedules",
                                      "fanout",   "nodes"};

} // namespace

void print_help() {
  std::cout <<
    R"(jobrt-bench: benchmarks of the jobrt runtime, each with a baseline measured in the same run.

usage: jobrt-bench [options]

  --scenario NAME   run one scenario (default: all):
                      noop-mem      1. no-op jobs, in memory (storage_kind::memory): submit and
                                       drain rate, vs a 2-thread pool and a bare CAF
                                       spawn-per-job program; and on LMDB without fsync
                      noop-durable  2. no-op jobs, durable: 1 and 16 submitter threads, vs raw LMDB
                      checkpoint    3. jobs of K steps with a checkpoint after each
                      control       4. pause/resume/cancel round trips with 10k jobs queued
                      recovery      5. restart with N unfinished jobs: time until queued, first run
                      memory        6. RSS per queued, running and paused job
                      scaling       7. rates of 1 and 2 by N and by max_running, both policies
                      signal        8. runtime::signal to a running job and to one that waits
                                       for a signal, in memory and durable, vs a bare CAF
                                       round trip and a raw LMDB fsynced commit
                      http          POST /api/jobs to jobrt-server over loopback (keep-alive,
                                       1, 16 and 256 connections, durable and --no-fsync),
                                       vs in-process submits with as many in flight
                      schedules     10. N recurring schedules ("* * * * *", bench.noop) on a
                                       manual clock, all fired by one advance to their tick:
                                       ticks/s to the last completion, vs a submit_many drain
                                       of N no-op jobs (in memory and durable); the time to
                                       create them and list_schedules() with N
                      fanout        11. one parent job spawns K no-op children (spawn_child)
                                       in one step, waits for them (wait_for_children) and
                                       sums their outputs (children()): submit to the
                                       parent's completion, with the split, vs a submit_many
                                       drain of K no-op jobs (in memory and durable)
                      nodes         12. worker nodes: N no-op jobs drained locally, through 1
                                       and through 2 worker processes (this executable
                                       re-run as --worker-node; a pure coordinator), vs a
                                       bare CAF remote request/reply baseline on loopback;
                                       messages, payload bytes and coordinator CPU per job;
                                       a job of 1 ms busy steps, each checkpointed, local
                                       vs through one worker with the same slots
                      soak          1M no-op jobs submitted and completed while 100k paused
                                    jobs are held: memory and rate (only when named; --n
                                    sets the job count, a tenth of it is paused)
  --n N             job count of the chosen scenario(s) (scaling: the single N to run)
  --full            big sizes (N up to 1M; several minutes and a few GiB of RAM)
  --smoke           tiny sizes, to check that every scenario works (used by CTest)
  --policy P        CAF scheduler policy: stealing | sharing | both (default: the
                    runtime's own choice for each run of scenarios 1-6, that is sharing
                    with one worker thread or an LMDB store, stealing in memory; both
                    for scaling)
  --threads T       CAF worker threads of the runtimes and the CAF baselines (default 0 =
                    the runtime's default: one fewer than the cores, at least two)
  --cap C           max_running for scenarios 1-4 (default 8)
  --lmdb-batch B    records per transaction of the raw LMDB baseline (default 1000)
  --server PATH     jobrt-server for the http scenario (default: the one of the same
                    build, <dir of jobrt-bench>/../examples/server/jobrt-server; the
                    scenario is skipped with a note when there is none)
  --dir DIR         scratch directory (default: $TMPDIR or /tmp, jobrt-bench-<pid>)
  --json            print the results as JSON on stdout instead of the table
  --plot FILE.png   draw the scaling curves with gnuplot
  --quiet           no progress line on stderr
  --help            this text

Rates are jobs (or checkpoints) per second; "drain" is from the first submit to the
last completion. Each row shows the absolute figure, its baseline, the ratio, and the
target it is held to (pass/miss). Timings on a shared machine are noisy: trust ratios.
)";
}

namespace {

std::size_t parse_size(const std::string& opt, const char* v) {
  char* end = nullptr;
  auto x = std::strtoull(v, &end, 10);
  if (end == v || *end != '\0')
    throw std::invalid_argument(opt + ": expected a number, got '" + v + "'");
  return static_cast<std::size_t>(x);
}

} // namespace

config parse(int argc, char** argv) {
  config c;
  bool sizes_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc)
        throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      print_help();
      std::exit(0);
    } else if (a == "--full") {
      c.full = true;
    } else if (a == "--smoke") {
      c.smoke = true;
    } else if (a == "--json") {
      c.json_out = true;
    } else if (a == "--quiet") {
      c.quiet = true;
    } else if (a == "--plot") {
      c.plot = value();
    } else if (a == "--scenario") {
      c.scenario = value();
      if (std::find(std::begin(scenario_names), std::end(scenario_names), c.scenario)
          == std::end(scenario_names))
        throw std::invalid_argument("unknown scenario '" + c.scenario + "' (see --help)");
    } else if (a == "--policy") {
      std::string p = value();
      if (p == "both")
        c.policies = {"stealing", "sharing"};
      else if (p == "stealing" || p == "sharing")
        c.policies = {p};
      else
        throw std::invalid_argument("--policy: stealing, sharing or both");
    } else if (a == "--n") {
      c.n = parse_size(a, value());
      if (*c.n == 0)
        throw std::invalid_argument("--n must be at least 1");
    } else if (a == "--threads") {
      c.threads = parse_size(a, value());
    } else if (a == "--cap") {
      c.cap = std::max<std::size_t>(1, parse_size(a, value()));
    } else if (a == "--lmdb-batch") {
      c.lmdb_batch = std::max<std::size_t>(1, parse_size(a, value()));
    } else if (a == "--server") {
      c.server = value();
    } else if (a == "--dir") {
      c.dir = value();
    } else {
      throw std::invalid_argument("unknown option '" + a + "' (see --help)");
    }
  }
  if (c.full && c.smoke)
    throw std::invalid_argument("--full and --smoke exclude each other");
  c.sz = c.full ? full_sizes() : c.smoke ? smoke_sizes() : default_sizes();
  (void)sizes_set;
  if (c.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    c.dir = std::string{tmp != nullptr && *tmp != '\0' ? tmp : "/tmp"} + "/jobrt-bench-"
            + std::to_string(getpid());
  }
  return c;
}

} // namespace bench
