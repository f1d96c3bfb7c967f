/// The child program of the node-loss tests: a coordinator (a runtime that owns
/// a durable LMDB store, accepts worker nodes and runs no job itself) or a
/// worker node, both with the `node_steps` job (node_loss_job.hpp). The tests
/// kill and freeze these processes (SIGKILL, SIGSTOP) and read what they write
/// on stdout, one line per fact, each with a single write(2) so that a kill
/// never leaves half a line behind.
///
///   node_loss_child coordinator DATA_DIR SECRET PORT NODE_TIMEOUT_MS
///                   [--submit N] [--keep M] [--steps S] [--every K] [--pace MS]
///     up PORT                 accepting worker nodes on PORT
///     submitted ID            a submit was acknowledged (the record is durable)
///     done ID OUTPUT          the job is completed (durable), with its output as JSON;
///                             also for jobs completed before this process started
///     stats K=V ...           the node counters, whenever they change
///     error WHAT MESSAGE      something failed that never should
///   --submit N submits N jobs at start; --keep M tops the unfinished jobs up to M
///   while it runs.
///
///   node_loss_child worker PORT SECRET NAME SLOTS
///     joined NODE_ID T        welcomed by the coordinator (again)
///     left RUNS_STOPPED T WHY it left the coordinator (it went away, or evicted it)
///     stopped RUNS_STOPPED T  runs taken back from it, in all
///     start ... / step ...    from the job (node_loss_job.hpp)
///
/// T is CLOCK_MONOTONIC in microseconds.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include "reliability/node_loss_job.hpp"

JOBRT_REGISTER_JOB(node_loss::steps_job);

namespace {

void say(const std::string& line) {
  auto text = line + "\n";
  [[maybe_unused]] auto n = ::write(STDOUT_FILENO, text.data(), text.size());
}

std::string t() {
  return std::to_string(node_loss::now_us());
}

int usage() {
  std::fprintf(stderr,
               "usage: node_loss_child coordinator DATA_DIR SECRET PORT NODE_TIMEOUT_MS "
               "[--submit N] [--keep M] [--steps S] [--every K] [--pace MS]\n"
               "       node_loss_child worker PORT SECRET NAME SLOTS\n");
  return 2;
}

int coordinator(int argc, char** argv) {
  if (argc < 6)
    return usage();
  int submit = 0, keep = 0;
  boost::json::object params{{"steps", 40}, {"every", 1}, {"pace_ms", 25}};
  for (int i = 6; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    auto value = std::atoi(argv[i + 1]);
    if (arg == "--submit")
      submit = value;
    else if (arg == "--keep")
      keep = value;
    else if (arg == "--steps")
      params["steps"] = value;
    else if (arg == "--every")
      params["every"] = value;
    else if (arg == "--pace")
      params["pace_ms"] = value;
    else
      return usage();
  }
  jobrt::runtime_options opts;
  opts.data_dir = argv[2];
  opts.durable = true;
  opts.max_running = 64;
  opts.worker_threads = 2;
  opts.workers.port = static_cast<std::uint16_t>(std::atoi(argv[4]));
  opts.workers.secret = argv[3];
  opts.workers.node_timeout = std::chrono::milliseconds(std::atoi(argv[5]));
  opts.workers.run_locally = false;
  auto started = jobrt::runtime::start(opts);
  if (!started) {
    say("error start " + started.error().message);
    return 1;
  }
  auto& rt = **started;
  say("up " + std::to_string(rt.workers_port().value_or(0)));

  auto submit_one = [&] {
    auto id = rt.submit("node_steps", params);
    if (id)
      say("submitted " + std::to_string(*id));
    else
      say("error submit " + id.error().message);
  };
  for (int i = 0; i < submit; ++i)
    submit_one();

  std::set<jobrt::job_id> reported;
  std::string last_stats;
  for (;;) {
    // Completed jobs, newest first: this process's and those of earlier ones.
    jobrt::list_query q;
    q.type = "node_steps";
    q.limit = 1000;
    std::size_t unfinished = 0;
    for (;;) {
      auto page = rt.list(q);
      if (!page) {
        say("error list " + page.error().message);
        break;
      }
      for (const auto& rec : page->jobs) {
        if (rec.status == jobrt::job_status::completed) {
          if (reported.insert(rec.id).second)
            say("done " + std::to_string(rec.id) + " " + boost::json::serialize(rec.output));
        } else if (!jobrt::is_finished(rec.status)) {
          ++unfinished;
        } else if (reported.insert(rec.id).second) {
          say("error finished " + std::to_string(rec.id) + " " + jobrt::to_string(rec.status)
              + " " + rec.error);
        }
      }
      if (page->next_cursor == 0)
        break;
      q.before = page->next_cursor;
    }
    for (auto n = unfinished; n < static_cast<std::size_t>(keep); ++n)
      submit_one();
    if (auto s = rt.stats()) {
      const auto& c = s->node_counters;
      auto line = "stats nodes=" + std::to_string(s->nodes.size())
                  + " joined=" + std::to_string(c.nodes_joined)
                  + " lost=" + std::to_string(c.nodes_lost)
                  + " refused=" + std::to_string(c.nodes_refused)
                  + " taken_back=" + std::to_string(c.runs_taken_back)
                  + " dropped=" + std::to_string(c.messages_dropped)
                  + " running=" + std::to_string(s->running)
                  + " queued=" + std::to_string(s->queued);
      if (line != last_stats)
        say(line);
      last_stats = line;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

int worker(int argc, char** argv) {
  if (argc < 6)
    return usage();
  jobrt::worker_options o;
  o.coordinator_port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  o.secret = argv[3];
  o.name = argv[4];
  o.slots = static_cast<std::size_t>(std::atoi(argv[5]));
  o.heartbeat_interval = std::chrono::milliseconds(200);
  o.reconnect_first = std::chrono::milliseconds(50);
  o.reconnect_last = std::chrono::milliseconds(400);
  o.worker_threads = 2;
  auto w = jobrt::worker::start(o);
  if (!w) {
    say("error start " + w.error().message);
    return 1;
  }
  bool connected = false;
  std::uint64_t stopped = 0, joins = 0;
  for (;;) {
    auto s = (*w)->stats();
    if (s.runs_stopped != stopped) {
      stopped = s.runs_stopped;
      say("stopped " + std::to_string(stopped) + " " + t());
    }
    // A leave and a join again between two looks still show as both.
    if (connected && (!s.connected || s.joins != joins)) {
      connected = false;
      say("left " + std::to_string(s.runs_stopped) + " " + t() + " " + s.last_error);
    }
    if (s.connected && s.joins != joins) {
      connected = true;
      say("joined " + std::to_string(s.node_id) + " " + t());
    }
    joins = s.joins;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

} // namespace

int main(int argc, char** argv) {
  node_loss::report = say;
  if (argc < 2)
    return usage();
  std::string mode = argv[1];
  if (mode == "coordinator")
    return coordinator(argc, argv);
  if (mode == "worker")
    return worker(argc, argv);
  return usage();
}
