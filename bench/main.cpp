// jobrt-bench: throughput, control latency, recovery, memory, scaling and signals of the
// jobrt runtime, each next to a baseline measured in the same run (a plain thread
// pool, a bare CAF 0.17.6 program, raw LMDB). See bench/README.md.
//
// options.cpp parses the command line, the scenario_*.cpp files measure (with the
// helpers of harness.cpp), and report.cpp prints the rows they add.

#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "bench.hpp"
#include "harness.hpp"
#include "options.hpp"
#include "report.hpp"
#include "scenarios.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  using namespace bench;
  link_jobs();
  // Hidden modes: the child processes of the nodes scenario (scenario_nodes.cpp).
  if (argc >= 2 && std::string{argv[1]} == "--worker-node")
    return worker_node_main(argc, argv);
  if (argc >= 2 && std::string{argv[1]} == "--caf-echo")
    return caf_echo_main(argc, argv);
  config c;
  try {
    c = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "jobrt-bench: " << e.what() << "\n";
    return 2;
  }
  std::string cmd;
  for (int i = 0; i < argc; ++i)
    cmd += (i ? " " : "") + std::string{argv[i]};
  progress.set_quiet(c.quiet);
  fs::create_directories(c.dir);
  auto m = machine();
  m.workers = workers(c);
  auto want = [&](const char* name) { return c.scenario.empty() || c.scenario == name; };
  // "": each run gets the policy the runtime chooses for its store (policy_for).
  auto main_policies = c.policies.empty() ? std::vector<std::string>{""} : c.policies;
  auto scale_policies =
    c.policies.empty() ? std::vector<std::string>{"stealing", "sharing"} : c.policies;
  int rc = 0;
  auto t0 = now_ns();
  try {
    // Memory first, while the heap is fresh (freed memory of other scenarios would be reused).
    for (const auto& policy : main_policies)
      if (want("memory"))
        scenario_memory(c, policy);
    for (const auto& policy : main_policies) {
      if (want("noop-mem"))
        scenario_noop_mem(c, policy);
      if (want("noop-durable"))
        scenario_noop_durable(c, policy);
      if (want("checkpoint"))
        scenario_checkpoint(c, policy);
      if (want("control"))
        scenario_control(c, policy);
      if (want("recovery"))
        scenario_recovery(c, policy);
      if (want("signal"))
        scenario_signal(c, policy);
      if (want("schedules"))
        scenario_schedules(c, policy);
      if (want("fanout"))
        scenario_fanout(c, policy);
      if (want("nodes"))
        scenario_nodes(c, policy);
    }
    if (want("scaling"))
      scenario_scaling(c, scale_policies);
    if (want("http"))
      scenario_http(c);
    // Minutes long: only when asked for by name (and at tiny size in --smoke).
    if (c.scenario == "soak" || (c.smoke && c.scenario.empty()))
      for (const auto& policy : main_policies)
        scenario_soak(c, policy);
  } catch (const std::exception& e) {
    progress.finish();
    std::cerr << "jobrt-bench: failed: " << e.what() << "\n";
    rc = 1;
  }
  progress.finish();
  if (!c.quiet)
    std::cerr << "[jobrt-bench] done in " << fmt(static_cast<double>(now_ns() - t0) / 1e9, 1)
              << " s\n";
  if (c.json_out)
    print_json(m, cmd);
  else
    print_table(m, cmd);
  if (!c.plot.empty())
    write_plot(c, scale_policies);
  std::error_code ec;
  fs::remove_all(c.dir, ec);
  return rc;
}
