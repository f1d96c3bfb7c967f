#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>

#include <jobrt/jobrt.hpp>

struct sum_params { std::int64_t n; };                      // decoded from JSON, checked
BOOST_DESCRIBE_STRUCT(sum_params, (), (n))
struct sum_state { std::int64_t i = 0; std::int64_t total = 0; };   // saved in checkpoints
BOOST_DESCRIBE_STRUCT(sum_state, (), (i, total))

struct sum_job : jobrt::job<sum_params, sum_state> {
  static constexpr const char* name = "sum";               // stable across deploys
  static constexpr const char* description = "Adds 1..n, one number per step";
  void step(jobrt::context& ctx) override {                // one message, one step
    state().total += ++state().i;
    ctx.progress(double(state().i) / params().n, "adding");
    if (state().i % 10'000 == 0) ctx.checkpoint();         // state + progress, atomically
    if (state().i >= params().n) ctx.complete({{"total", state().total}});
  }
};
JOBRT_REGISTER_JOB(sum_job);                               // one line, next to the job

int main() {
  jobrt::runtime_options opts;
  opts.data_dir = "jobrt-data";                            // LMDB; created if missing
  auto rt = jobrt::runtime::start(opts);                   // recovers unfinished jobs
  if (!rt) return std::fprintf(stderr, "%s\n", rt.error().message.c_str()), 1;
  std::mutex m;
  std::condition_variable cv;
  std::set<jobrt::job_id> finished;                        // jobs whose end was printed
  auto sub = (*rt)->subscribe([&](const jobrt::job_event& e) {   // on a runtime thread
    auto id = std::to_string(e.id);
    if (e.what == jobrt::job_event::kind::progress) {
      std::printf("job %s: %3.0f%% %s\n", id.c_str(), 100 * e.progress.fraction.value_or(0),
                  e.progress.stage.c_str());
      return;
    }
    std::printf("job %s is %s\n", id.c_str(), to_string(e.status));
    std::lock_guard lock{m};
    if (jobrt::is_finished(e.status)) finished.insert(e.id);
    cv.notify_all();
  });
  jobrt::submit_options o;
  o.priority = 5;
  o.owner = "acme";
  auto id = (*rt)->submit("sum", {{"n", 200'000}}, o);     // durable when it returns
  if (!id) return std::fprintf(stderr, "%s\n", id.error().message.c_str()), 1;
  if (auto paused = (*rt)->pause(*id); !paused)            // between two steps
    std::fprintf(stderr, "%s\n", paused.error().message.c_str());
  if (auto resumed = (*rt)->resume(*id); !resumed)         // goes on where it paused
    std::fprintf(stderr, "%s\n", resumed.error().message.c_str());
  std::unique_lock lock{m};
  cv.wait(lock, [&] { return finished.count(*id); });      // until its end is printed
  auto record = (*rt)->get(*id);                           // status, progress, output, ...
  if (!record || record->status != jobrt::job_status::completed) return 1;
  std::printf("total: %s\n", std::to_string(record->output.at("total").as_int64()).c_str());
}
