// jobrt-demo: the README's first command. The first run submits a handful of
// jobs, shows their progress live, pauses, resumes and cancels some, and stops
// with one job half done; the next run recovers that job from its last
// checkpoint and finishes it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <boost/json.hpp>

#include "jobrt/jobrt.hpp"
#include "sample_data.hpp"
#include "terminal.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

struct options {
  std::string data_dir = "./jobrt-demo-data";
  bool fresh = false;
  bool quick = false;
};

constexpr const char* usage_text =
  "usage: jobrt-demo [--data-dir DIR] [--fresh] [--quick] [--help]\n"
  "\n"
  "Runs a few background jobs with live progress bars. The first run submits\n"
  "them, pauses, resumes and cancels some, and stops with one job unfinished;\n"
  "run it again to see that job recovered from its last checkpoint.\n"
  "\n"
  "  --data-dir DIR  where the job store and the sample inputs live\n"
  "                  (default ./jobrt-demo-data)\n"
  "  --fresh         delete DIR first and start over\n"
  "  --quick         pace the jobs about 5x faster (for tests)\n"
  "  --help          show this text\n";

std::atomic<bool> interrupted{false};

extern "C" void on_signal(int) {
  interrupted = true;
}

/// Parses the command line; exits on --help or a bad flag.
options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      std::exit(0);
    } else if (a == "--fresh") {
      o.fresh = true;
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--data-dir" && i + 1 < argc) {
      o.data_dir = argv[++i];
    } else if (a.rfind("--data-dir=", 0) == 0) {
      o.data_dir = a.substr(11);
    } else {
      std::fprintf(stderr, "jobrt-demo: unknown argument '%s'\n\n%s", a.c_str(), usage_text);
      std::exit(2);
    }
  }
  if (o.data_dir.empty()) {
    std::fprintf(stderr, "jobrt-demo: --data-dir needs a directory\n");
    std::exit(2);
  }
  return o;
}

std::int64_t int_of(const json::value& v, const char* key) {
  auto* o = v.if_object();
  auto* f = o ? o->if_contains(key) : nullptr;
  return f && f->is_int64() ? f->get_int64() : 0;
}

std::string pct(const jobrt::progress& p) {
  if (!p.fraction)
    return "?%";
  return std::to_string(static_cast<int>(*p.fraction * 100.0 + 1e-9)) + "%";
}

/// "14:02:07 (3.2 s ago)"
std::string when(jobrt::millis at) {
  if (at == 0)
    return "never";
  std::time_t secs = static_cast<std::time_t>(at / 1000);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  char ago[32];
  std::snprintf(ago, sizeof ago, " (%.1f s ago)", static_cast<double>(now - at) / 1000.0);
  return std::string{buf} + ago;
}

std::string who(const jobrt::job_record& r) {
  return "#" + std::to_string(r.id) + " " + r.type + " (" + r.owner + ")";
}

/// One line about how a job ended, plus its categories when `detailed`.
void print_outcome(const jobrt::job_record& r, bool detailed) {
  using jobrt::job_status;
  std::string line = "  " + who(r) + ": ";
  if (r.status == job_status::completed && r.type == "bank_categorize") {
    std::int64_t net = 0;
    std::string top;
    std::int64_t top_abs = -1;
    const auto* cats = r.output.is_object() ? r.output.get_object().if_contains("categories")
                                            : nullptr;
    if (cats && cats->is_object()) {
      for (const auto& kv : cats->get_object()) {
        auto total = int_of(kv.value(), "total_cents");
        net += total;
        if (std::llabs(total) > top_abs) {
          top_abs = std::llabs(total);
          top = std::string{kv.key()};
        }
      }
    }
    line += std::to_string(int_of(r.output, "rows")) + " rows, "
            + std::to_string(int_of(r.output, "skipped")) + " skipped, net "
            + demo::money(net) + (top.empty() ? "" : ", largest: " + top);
    std::printf("%s\n", line.c_str());
    if (detailed && cats && cats->is_object()) {
      for (const auto& kv : cats->get_object()) {
        std::printf("      %-14s %6lld rows %16s\n", std::string{kv.key()}.c_str(),
                    static_cast<long long>(int_of(kv.value(), "count")),
                    demo::money(int_of(kv.value(), "total_cents")).c_str());
      }
    }
    return;
  }
  if (r.status == job_status::completed && r.type == "file_copy") {
    line += std::to_string(int_of(r.output, "files")) + " files, "
            + demo::human_bytes(int_of(r.output, "bytes")) + " copied";
    if (auto from = int_of(r.output, "resumed_from"); from > 0)
      line += " (resumed after file " + std::to_string(from) + ")";
  } else if (r.status == job_status::completed && r.type == "countdown") {
    line += "counted to " + std::to_string(int_of(r.output, "counted"));
  } else if (r.status == job_status::completed) {
    line += json::serialize(r.output);
  } else if (r.status == job_status::failed) {
    line += "failed: " + r.error;
  } else if (r.status == job_status::cancelled) {
    line += "cancelled at " + pct(r.progress);
  } else {
    line += std::string{jobrt::to_string(r.status)} + " at " + pct(r.progress);
  }
  std::printf("%s\n", line.c_str());
}

/// Redraws until `done(rows)` holds, calling `act(rows)` on every tick.
/// Returns false when interrupted.
template <class Act, class Done>
bool watch(demo::board& board, demo::display& screen, bool quick, Act act, Done done) {
  const auto tick = quick ? 50ms : 100ms;
  const int plain_every = static_cast<int>(500ms / tick); // non-TTY: every ~0.5 s
  for (int n = 0;; ++n) {
    if (interrupted)
      return false;
    act(board.snapshot());
    auto rows = board.snapshot();
    bool finished = done(rows);
    screen.frame(rows, finished || n % plain_every == 0);
    if (finished)
      return true;
    std::this_thread::sleep_for(tick);
  }
}

int stop_interrupted(jobrt::runtime& rt, demo::display& screen) {
  screen.close();
  std::printf("interrupted: shutting down; unfinished jobs continue on the next run\n");
  rt.shutdown();
  return 130;
}

// -- first run ------------------------------------------------------------------------

int first_run(jobrt::runtime& rt, demo::board& board, demo::display& screen,
              const options& opts, const fs::path& dir) {
  // Pacing: a normal run takes ~12 s; --quick about a fifth of that.
  const double k = opts.quick ? 0.2 : 1.0;
  auto pace = [k](int ms) { return std::max(1, static_cast<int>(ms * k)); };
  auto inputs = dir / "inputs";
  fs::create_directories(inputs);
  auto csv = [&](const char* name, std::size_t rows, std::uint32_t seed) {
    auto path = (inputs / name).string();
    jobrt_examples::write_sample_transactions(path, rows, seed);
    return path;
  };
  std::printf("generating sample inputs in %s ...\n", inputs.string().c_str());
  auto acme = csv("transactions-acme.csv", 2500, 1);
  auto globex = csv("transactions-globex.csv", 4000, 2);
  auto initech = csv("transactions-initech.csv", 3000, 3);
  auto big = csv("transactions-acme-archive.csv", 30000, 4);
  jobrt_examples::write_sample_files((inputs / "photos").string(), 20, 5);

  struct plan {
    const char* type;
    json::object params;
    const char* owner;
    int priority;
    std::string what;
  };
  std::vector<plan> plans{
    {"bank_categorize", {{"csv_path", acme}, {"pace_ms", pace(200)}}, "acme", 5,
     "transactions-acme.csv, 2,500 rows"},
    {"bank_categorize", {{"csv_path", globex}, {"pace_ms", pace(200)}}, "globex", 1,
     "transactions-globex.csv, 4,000 rows"},
    {"bank_categorize", {{"csv_path", initech}, {"pace_ms", pace(250)}}, "initech", 0,
     "transactions-initech.csv, 3,000 rows"},
    {"file_copy",
     {{"from_dir", (inputs / "photos").string()},
      {"to_dir", (dir / "backup" / "photos").string()},
      {"pace_ms", pace(500)}},
     "ops", 3, "inputs/photos -> backup/photos, 20 files"},
    {"countdown", {{"n", 90}, {"pace_ms", pace(120)}}, "ops", 0, "90 steps"},
    {"bank_categorize", {{"csv_path", big}, {"pace_ms", pace(40)}}, "acme", -5,
     "transactions-acme-archive.csv, 30,000 rows (the long one)"},
  };
  std::vector<jobrt::job_id> ids;
  std::printf("submitting %zu jobs (at most %zu run at once, higher priority first):\n",
              plans.size(), rt.options().max_running);
  for (const auto& p : plans) {
    jobrt::submit_options so;
    so.owner = p.owner;
    so.priority = p.priority;
    auto id = rt.submit(p.type, p.params, so);
    if (!id) {
      std::fprintf(stderr, "submit %s failed: %s\n", p.type, id.error().message.c_str());
      return 1;
    }
    ids.push_back(*id);
    std::printf("  #%-3llu %-16s %-8s priority %2d  %s\n",
                static_cast<unsigned long long>(*id), p.type, p.owner, p.priority,
                p.what.c_str());
  }
  for (auto id : ids)
    if (auto rec = rt.get(id))
      board.seed(*rec);
  std::printf("\n");

  const auto pause_id = ids[0], cancel_id = ids[1], long_id = ids.back();
  const auto resume_after = opts.quick ? 300ms : 1000ms;
  bool pause_tried = false, paused = false, resumed = false, cancel_tried = false;
  steady::time_point paused_at;
  auto row_of = [](const std::vector<demo::job_row>& rows, jobrt::job_id id) {
    for (const auto& r : rows)
      if (r.id == id)
        return std::optional<demo::job_row>{r};
    return std::optional<demo::job_row>{};
  };
  auto act = [&](const std::vector<demo::job_row>& rows) {
    if (auto r = row_of(rows, pause_id);
        !pause_tried && r && r->status == jobrt::job_status::running && r->fraction.value_or(0) >= 0.3) {
      pause_tried = true;
      auto res = rt.pause(pause_id);
      paused = res.ok();
      paused_at = steady::now();
      screen.note(paused ? ">> paused  #" + std::to_string(pause_id) + " (" + r->owner + ") at "
                             + std::to_string(static_cast<int>(*r->fraction * 100)) + "%"
                         : ">> could not pause #" + std::to_string(pause_id) + ": "
                             + res.error().message);
    }
    if (paused && !resumed && steady::now() - paused_at >= resume_after) {
      resumed = true;
      auto res = rt.resume(pause_id);
      screen.note(res ? ">> resumed #" + std::to_string(pause_id) + " after "
                          + std::to_string(resume_after.count()) + " ms: it goes on from where it paused"
                      : ">> could not resume #" + std::to_string(pause_id) + ": "
                          + res.error().message);
    }
    if (auto r = row_of(rows, cancel_id);
        !cancel_tried && r && r->status == jobrt::job_status::running && r->fraction.value_or(0) >= 0.2) {
      cancel_tried = true;
      auto res = rt.cancel(cancel_id);
      screen.note(res ? ">> cancelled #" + std::to_string(cancel_id) + " (" + r->owner + ") at "
                          + std::to_string(static_cast<int>(*r->fraction * 100)) + "%"
                      : ">> could not cancel #" + std::to_string(cancel_id) + ": "
                          + res.error().message);
    }
  };
  auto done = [&](const std::vector<demo::job_row>& rows) {
    if (paused && !resumed)
      return false;
    for (const auto& r : rows)
      if (r.id != long_id && !jobrt::is_finished(r.status))
        return false;
    return true;
  };
  if (!watch(board, screen, opts.quick, act, done))
    return stop_interrupted(rt, screen);
  screen.close();

  std::vector<jobrt::job_record> records;
  for (auto id : ids)
    if (auto rec = rt.get(id))
      records.push_back(std::move(*rec));
  rt.shutdown(); // the long job stops between two batches; its checkpoint stays
  std::printf("\noutputs:\n");
  std::size_t unfinished = 0;
  for (const auto& r : records) {
    if (jobrt::is_finished(r.status)) {
      print_outcome(r, false);
      continue;
    }
    ++unfinished;
    std::printf("  %s: %s at %s, last checkpoint %s\n", who(r).c_str(),
                jobrt::to_string(r.status), pct(r.progress).c_str(), when(r.checkpoint_at).c_str());
  }
  std::printf("\nstopped with %zu job(s) unfinished \u2014 run again to see them recovered\n",
              unfinished);
  return 0;
}

// -- second run: recovery -------------------------------------------------------------

int recovery_run(jobrt::runtime& rt, demo::board& board, demo::display& screen,
                 const options& opts, std::uint64_t recovered) {
  jobrt::list_query q;
  q.statuses = {jobrt::job_status::queued, jobrt::job_status::running, jobrt::job_status::paused,
                jobrt::job_status::waiting};
  q.limit = 1000;
  auto page = rt.list(q);
  if (!page) {
    std::fprintf(stderr, "list failed: %s\n", page.error().message.c_str());
    return 1;
  }
  auto jobs = page->jobs;
  std::sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::printf("recovered %llu unfinished job(s) from the store; each continues from its last "
              "checkpoint:\n",
              static_cast<unsigned long long>(recovered));
  std::vector<jobrt::job_id> ids;
  for (const auto& r : jobs) {
    std::printf("  %-34s %-9s %4s  last checkpoint %s, attempt %u\n", who(r).c_str(),
                jobrt::to_string(r.status), pct(r.progress).c_str(), when(r.checkpoint_at).c_str(),
                r.attempts);
    ids.push_back(r.id);
    board.seed(r);
  }
  std::printf("\n");
  for (const auto& r : jobs) {
    if (r.status != jobrt::job_status::paused)
      continue;
    auto res = rt.resume(r.id);
    screen.note(res ? ">> resumed #" + std::to_string(r.id) + ", which was paused"
                    : ">> could not resume #" + std::to_string(r.id) + ": " + res.error().message);
  }
  auto done = [&](const std::vector<demo::job_row>& rows) {
    for (const auto& r : rows)
      if (!jobrt::is_finished(r.status))
        return false;
    return true;
  };
  if (!watch(board, screen, opts.quick, [](const auto&) {}, done))
    return stop_interrupted(rt, screen);
  screen.close();
  std::printf("\noutputs:\n");
  for (auto id : ids)
    if (auto rec = rt.get(id))
      print_outcome(*rec, true);
  rt.shutdown();
  std::printf("\nall %zu recovered job(s) finished; run again for a new round "
              "(or with --fresh to start over)\n",
              ids.size());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse_args(argc, argv);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  fs::path dir = opts.data_dir;
  std::error_code ec;
  if (opts.fresh) {
    fs::remove_all(dir, ec);
    if (ec) {
      std::fprintf(stderr, "jobrt-demo: cannot delete %s: %s\n", dir.c_str(), ec.message().c_str());
      return 1;
    }
  }
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "jobrt-demo: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }

  jobrt::runtime_options ro;
  ro.data_dir = (dir / "store").string();
  ro.max_running = 5;
  ro.progress_interval = 50ms;
  auto started = jobrt::runtime::start(ro);
  if (!started) {
    std::fprintf(stderr, "jobrt-demo: cannot start the runtime: %s\n",
                 started.error().message.c_str());
    return 1;
  }
  auto& rt = **started;

  bool tty = ::isatty(STDOUT_FILENO) == 1;
  bool utf8 = false;
  for (const char* var : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    if (const char* v = std::getenv(var); v && *v) {
      std::string s = v;
      utf8 = s.find("UTF-8") != std::string::npos || s.find("utf8") != std::string::npos
             || s.find("utf-8") != std::string::npos;
      break;
    }
  }
  demo::board board;
  demo::display screen{tty, utf8};
  auto sub = rt.subscribe([&board](const jobrt::job_event& e) { board.apply(e); });

  auto stats = rt.stats();
  if (!stats) {
    std::fprintf(stderr, "jobrt-demo: stats failed: %s\n", stats.error().message.c_str());
    return 1;
  }
  std::printf("jobrt demo \u2014 data in %s\n\n", dir.c_str());
  int rc = 0;
  try {
    rc = stats->recovered > 0 ? recovery_run(rt, board, screen, opts, stats->recovered)
                              : first_run(rt, board, screen, opts, dir);
  } catch (const std::exception& e) {
    screen.close();
    std::fprintf(stderr, "jobrt-demo: %s\n", e.what());
    rc = 1;
  }
  sub.cancel();
  rt.shutdown();
  return rc;
}
