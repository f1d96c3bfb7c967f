#define BOOST_TEST_MODULE crash_tests
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <set>
#include <sstream>
#include <string>

#include "reliability/child_process.hpp"
#include "test_jobs.hpp"

JOBRT_REGISTER_JOB(test_jobs::sum_job);

using namespace std::chrono_literals;
using jobrt::job_status;

namespace {

std::string child_path() {
  auto& suite = boost::unit_test::framework::master_test_suite();
  BOOST_REQUIRE_MESSAGE(suite.argc >= 2, "pass the crash_child path after --");
  return suite.argv[suite.argc - 1];
}

/// What a child said before it was killed.
struct child_report {
  std::set<jobrt::job_id> acked;
  double long_job_progress = 0;
};

/// Runs the child on `dir` and kills it with SIGKILL once the long job is past
/// `kill_at` and at least `min_acks` submits were acknowledged in this run.
child_report run_child_until(const std::string& dir, double kill_at, std::size_t min_acks) {
  auto proc = crash_support::spawn_child(child_path(), {dir});
  child_report report;
  std::size_t acks_this_run = 0;
  FILE* in = ::fdopen(proc.out, "r");
  char line[256];
  while (std::fgets(line, sizeof line, in) != nullptr) {
    std::istringstream words{line};
    std::string what;
    words >> what;
    if (what == "ack") {
      jobrt::job_id id = 0;
      words >> id;
      report.acked.insert(id);
      ++acks_this_run;
    } else if (what == "progress") {
      jobrt::job_id id = 0;
      words >> id >> report.long_job_progress;
    }
    if (report.long_job_progress >= kill_at && acks_this_run >= min_acks)
      break;
  }
  proc.kill();
  int status = proc.wait();
  std::fclose(in);
  BOOST_REQUIRE_MESSAGE(crash_support::sigkilled(status), "the child ended before it was killed");
  return report;
}

} // namespace

BOOST_AUTO_TEST_CASE(jobs_survive_sigkill_and_the_interrupted_job_resumes_from_its_checkpoint) {
  test_jobs::temp_dir dir;
  auto store = (dir.path / "store").string();
  std::set<jobrt::job_id> acked;
  // Three crashes at growing progress of the long job.
  for (double kill_at : {0.15, 0.4, 0.7}) {
    auto r = run_child_until(store, kill_at, 10);
    acked.insert(r.acked.begin(), r.acked.end());
  }
  BOOST_REQUIRE(acked.count(1) == 1);

  jobrt::runtime_options opts;
  opts.data_dir = store;
  opts.progress_interval = 0ms;
  auto rt = jobrt::runtime::start(opts);
  BOOST_REQUIRE_MESSAGE(rt.ok(), (rt ? "" : rt.error().message));
  test_jobs::event_log events;
  auto sub = (*rt)->subscribe(std::ref(events));

  // Every acknowledged submit is in the store.
  for (auto id : acked)
    BOOST_TEST((*rt)->get(id).ok(), "acknowledged job " << id << " is missing");

  // Every job reaches completion; the long one resumed from a checkpoint.
  for (auto id : acked) {
    auto rec = (*rt)->get(id);
    if (rec && rec->status != job_status::completed)
      BOOST_TEST(events.wait_status(id, job_status::completed, 60s), "job " << id);
  }
  auto long_job = (*rt)->get(1);
  BOOST_REQUIRE(long_job.ok());
  BOOST_TEST(long_job->status == job_status::completed);
  auto resumed_from = long_job->output.at("resumed_from").as_int64();
  BOOST_TEST(resumed_from > 0, "the long job started over instead of resuming");
  BOOST_TEST(resumed_from % 10 == 0, "resumed from a point that was not a checkpoint");
  BOOST_TEST(long_job->attempts >= 2u);

  // Same output as an uninterrupted run of the same job.
  auto fresh = (*rt)->submit("sum", {{"n", 400}, {"every", 10}});
  BOOST_REQUIRE(fresh.ok());
  BOOST_REQUIRE(events.wait_status(*fresh, job_status::completed));
  BOOST_TEST(long_job->output.at("total") == (*rt)->get(*fresh)->output.at("total"));
}
