/// Two ways a job that waits for a signal (`ctx.wait_for_signal`) keeps waiting
/// although a signal for it was acknowledged; it then runs only at its timeout
/// (two hours here). Both were fixed: the scheduler wakes a job at once when a
/// signal was sent after the last one its run took, and recovery wakes a job
/// that waits for a signal with one stored for it. CTest runs them
/// (signal_wake_tests).
///
/// 1. recovery: runtime::signal commits the signal, answers, and then wakes the
///    job in a commit of its own. A crash between the two commits leaves the
///    store with a job `waiting` for a signal and a signal stored for it; on
///    start, recovery re-arms the job's timer and nothing else, so the stored,
///    acknowledged signal does not wake it. The test writes that store state
///    (the first commit without the second) and starts a runtime on it.
/// 2. a signal that arrives as the run ends in wait_for_signal, without a crash:
///    while the job still has its actor, the scheduler hands the signal to it,
///    and the actor drops it because the run's ending is decided (take_signal
///    returns when `cur.outcome` is set); once the actor is gone but before the
///    `waiting` record is committed, the scheduler reads the stored record,
///    finds no waiting_for "signal" there yet, and does not wake it. Either way
///    the job then waits for a signal with one stored for it. The test sends
///    the signal as the job checkpoints before waiting (a durable store: an
///    fsync long), 40 times, and counts the jobs still waiting 2 s later
///    (5 to 8 of 40 on a 2-core machine).

#define BOOST_TEST_MODULE signal_wake_repro
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "reliability/crash_loop_job.hpp"
#include "storage/job_store.hpp"
#include "test_jobs.hpp"

JOBRT_REGISTER_JOB(crash_loop::approval_job);

using namespace std::chrono_literals;
using jobrt::job_status;

namespace {

jobrt::job_record wait_until_waiting(jobrt::runtime& r, jobrt::job_id id) {
  for (int i = 0; i < 500; ++i) {
    auto rec = r.get(id);
    BOOST_REQUIRE(rec.ok());
    if (rec->status == job_status::waiting)
      return *rec;
    std::this_thread::sleep_for(10ms);
  }
  BOOST_FAIL("job " << id << " never waited");
  return {};
}

std::unique_ptr<jobrt::runtime> start(const std::string& dir) {
  jobrt::runtime_options o;
  o.data_dir = dir;
  auto rt = jobrt::runtime::start(o);
  BOOST_REQUIRE_MESSAGE(rt.ok(), (rt ? "" : rt.error().message));
  return std::move(*rt);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_signal_stored_before_a_crash_wakes_a_job_that_waits_for_one) {
  test_jobs::temp_dir dir;
  auto store = (dir.path / "store").string();
  jobrt::job_id id = 0;
  {
    auto rt = start(store);
    id = *rt->submit("approval", boost::json::object{});
    BOOST_TEST(wait_until_waiting(*rt, id).waiting_for == "signal");
    rt->shutdown();
  }
  {
    // What runtime::signal commits before it answers; the crash comes before
    // the commit that wakes the job.
    jobrt::storage::store_config cfg;
    cfg.path = store;
    auto st = jobrt::storage::job_store::open(cfg);
    BOOST_REQUIRE(st.ok());
    auto sig = std::make_shared<jobrt::job_signal>();
    sig->seq = 1;
    sig->name = "ok.before-the-crash";
    jobrt::storage::write_batch b;
    b.put_signal(id, sig);
    BOOST_REQUIRE((*st)->commit(b).ok());
  }
  auto rt = start(store);
  auto done = rt->wait(id, 5s);
  BOOST_TEST_MESSAGE("after 5 s: " << (done ? jobrt::to_string(done->status) : "unfinished ("
                     + std::string{jobrt::to_string(rt->get(id)->status)} + " for "
                     + rt->get(id)->waiting_for + ")"));
  BOOST_TEST(done.ok(), "the job still waits although a signal is stored for it");
}

BOOST_AUTO_TEST_CASE(a_signal_sent_as_the_run_ends_in_a_wait_wakes_the_job) {
  test_jobs::temp_dir dir;
  auto rt = start((dir.path / "store").string());
  struct watch {
    std::mutex m;
    std::condition_variable cv;
    std::set<jobrt::job_id> running;
  } w;
  jobrt::event_filter f;
  f.progress = false;
  auto sub = rt->subscribe(
    [&w](const jobrt::job_event& e) {
      if (e.status != job_status::running)
        return;
      std::lock_guard g{w.m};
      w.running.insert(e.id);
      w.cv.notify_all();
    },
    f);
  constexpr int tries = 40;
  std::vector<jobrt::job_id> ids;
  for (int i = 0; i < tries; ++i) {
    auto id = *rt->submit("approval", boost::json::object{});
    {
      std::unique_lock lock{w.m};
      BOOST_REQUIRE(w.cv.wait_for(lock, 10s, [&] { return w.running.count(id) > 0; }));
    }
    // The job's first step checkpoints and waits for a signal; this signal
    // arrives while that checkpoint or the waiting record is being written.
    BOOST_REQUIRE(rt->signal(id, "ok." + std::to_string(i)).ok());
    ids.push_back(id);
  }
  int stuck = 0;
  for (auto id : ids) {
    auto done = rt->wait(id, 2s);
    if (!done) {
      auto rec = rt->get(id);
      ++stuck;
      BOOST_TEST_MESSAGE("job " << id << " is " << jobrt::to_string(rec->status) << " for "
                                << rec->waiting_for << " with an acknowledged signal");
    }
  }
  BOOST_TEST_MESSAGE(stuck << " of " << tries << " jobs still wait after their signal");
  BOOST_TEST(stuck == 0);
}
