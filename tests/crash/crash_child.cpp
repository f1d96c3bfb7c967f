/// The child process of the crash tests: it runs a runtime on DATA_DIR until it
/// is killed. On a fresh store it submits one long `sum` job; on every start it
/// keeps submitting small jobs. It reports on stdout, one line per fact:
///   ack ID            a submit was acknowledged (its record is durable)
///   progress ID F     the long job reported progress F (0..1)
/// The parent kills it with SIGKILL at a moment of its choosing.

#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "test_jobs.hpp"

JOBRT_REGISTER_JOB(test_jobs::sum_job);

namespace {

void say(const std::string& line) {
  auto text = line + "\n";
  // One write per line, so a kill never leaves half a line behind.
  [[maybe_unused]] auto n = ::write(STDOUT_FILENO, text.data(), text.size());
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: crash_child DATA_DIR\n");
    return 2;
  }
  jobrt::runtime_options opts;
  opts.data_dir = argv[1];
  opts.durable = true;
  opts.max_running = 2;
  opts.progress_interval = std::chrono::milliseconds(0);
  auto rt = jobrt::runtime::start(opts);
  if (!rt) {
    std::fprintf(stderr, "crash_child: %s\n", rt.error().message.c_str());
    return 1;
  }
  auto sub = (*rt)->subscribe([](const jobrt::job_event& e) {
    if (e.what == jobrt::job_event::kind::progress && e.id == 1 && e.progress.fraction)
      say("progress " + std::to_string(e.id) + " " + std::to_string(*e.progress.fraction));
  });
  if ((*rt)->list()->jobs.empty()) {
    auto id = (*rt)->submit("sum", {{"n", 400}, {"every", 10}, {"pace_ms", 2}});
    if (!id)
      return 1;
    say("ack " + std::to_string(*id));
  }
  for (;;) {
    auto id = (*rt)->submit("sum", {{"n", 5}, {"every", 5}});
    if (id)
      say("ack " + std::to_string(*id));
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // a steady trickle of work
  }
}
