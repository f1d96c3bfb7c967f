// The child process of the kill test: `example_file_copy_child DATA_DIR FROM TO`.
// Starts a runtime on DATA_DIR, submits a paced file_copy job (or recovers the one
// the store holds), and reports on stdout, one line each, flushed:
//   job <id>            the job it runs
//   checkpointed <n>    a checkpoint with n files copied is durable (once)
//   finished <status>   the job ended (the test kills the process before that)

#include <condition_variable>
#include <iostream>
#include <mutex>

#include <boost/json.hpp>

#include "file_copy.hpp"
#include "jobrt/jobrt.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: example_file_copy_child DATA_DIR FROM TO\n";
    return 2;
  }
  jobrt::runtime_options opts;
  opts.data_dir = argv[1];
  opts.durable = false; // committed writes survive SIGKILL (the page cache stays)
  opts.progress_interval = std::chrono::milliseconds{10};
  auto started = jobrt::runtime::start(opts);
  if (!started) {
    std::cerr << "runtime::start: " << started.error().message << "\n";
    return 1;
  }
  auto& rt = **started;

  std::mutex mtx;
  std::condition_variable cv;
  std::uint64_t events = 0;
  auto sub = rt.subscribe([&](const jobrt::job_event&) {
    {
      std::lock_guard guard{mtx};
      ++events;
    }
    cv.notify_all();
  });

  jobrt::job_id id = 0;
  jobrt::list_query q;
  q.statuses = {jobrt::job_status::queued, jobrt::job_status::running, jobrt::job_status::paused,
                jobrt::job_status::waiting};
  q.type = "file_copy";
  auto unfinished = rt.list(q);
  if (unfinished && !unfinished->jobs.empty()) {
    id = unfinished->jobs.front().id;
  } else {
    auto r = rt.submit("file_copy", {{"from_dir", argv[2]}, {"to_dir", argv[3]}, {"pace_ms", 100}});
    if (!r) {
      std::cerr << "submit: " << r.error().message << "\n";
      return 1;
    }
    id = *r;
  }
  std::cout << "job " << id << std::endl;

  bool reported = false;
  std::uint64_t seen = 0;
  while (true) {
    auto rec = rt.get(id);
    if (!rec) {
      std::cerr << "get: " << rec.error().message << "\n";
      return 1;
    }
    // file_copy checkpoints after every file, and its progress reaches the
    // scheduler only once that checkpoint is durable; `checkpoint_at` alone can
    // run ahead of the progress `get` shows, so both are required.
    std::int64_t files = 0;
    if (auto* d = rec->progress.detail.if_object())
      if (auto* f = d->if_contains("files"); f && f->is_int64())
        files = f->get_int64();
    // And `running` durable: a run's record may wait 2 ms to share a commit,
    // and a run killed before it is not counted (see the README, Durability).
    if (!reported && rec->checkpoint_at > 0 && files > 0
        && rec->status == jobrt::job_status::running) {
      std::cout << "checkpointed " << files << std::endl;
      reported = true;
    }
    if (jobrt::is_finished(rec->status)) {
      std::cout << "finished " << jobrt::to_string(rec->status) << std::endl;
      return 0;
    }
    std::unique_lock lock{mtx};
    cv.wait(lock, [&] { return events != seen; }); // the next event, then look again
    seen = events;
  }
}
