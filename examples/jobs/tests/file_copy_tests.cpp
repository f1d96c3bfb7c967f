#include <boost/test/unit_test.hpp>

#include <csignal>
#include <fstream>
#include <iterator>
#include <sstream>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "file_copy.hpp"
#include "sample_data.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace jobrt_examples;
using test_support::event_log;
using test_support::temp_dir;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{f}, std::istreambuf_iterator<char>{}};
}

std::int64_t total_size(const fs::path& dir, const std::vector<std::string>& names) {
  std::int64_t n = 0;
  for (const auto& name : names)
    n += static_cast<std::int64_t>(fs::file_size(dir / name));
  return n;
}

/// Every source file has a byte-identical copy, and the destination holds
/// nothing else (no temporary files).
void check_copies(const fs::path& from, const fs::path& to, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    BOOST_REQUIRE_MESSAGE(fs::exists(to / name), name << " was not copied");
    BOOST_TEST(slurp(to / name) == slurp(from / name), name << " differs from its source");
  }
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator{to}) {
    (void) e;
    ++entries;
  }
  BOOST_TEST(entries == names.size());
}

std::int64_t int_field(const json::value& v, const char* key) {
  auto* o = v.if_object();
  auto* f = o ? o->if_contains(key) : nullptr;
  return f && f->is_int64() ? f->get_int64() : -1;
}

/// A child process whose stdout the test reads line by line.
class child_process {
public:
  explicit child_process(const std::vector<std::string>& argv) {
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    pid_ = ::fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> args;
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0)
      ::close(fd_);
  }

  /// The next line that starts with `prefix` (other lines are skipped); empty
  /// if the child closes its stdout or nothing comes within `timeout_ms`.
  std::string read_line_starting_with(const std::string& prefix, int timeout_ms = 60'000) {
    while (true) {
      for (auto nl = buf_.find('\n'); nl != std::string::npos; nl = buf_.find('\n')) {
        auto line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (line.rfind(prefix, 0) == 0)
          return line;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0)
        return {};
      char chunk[512];
      auto n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0)
        return {};
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// Sends SIGKILL and reaps the child; returns its wait status.
  int kill_and_wait() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buf_;
};

} // namespace

BOOST_AUTO_TEST_CASE(file_copy_copies_every_file_byte_for_byte) {
  temp_dir tmp;
  auto names = write_sample_files(tmp / "from", 12, 3);
  auto rt = test_support::start_runtime(tmp / "store");
  event_log log{*rt};
  auto id = rt->submit("file_copy", {{"from_dir", tmp / "from"}, {"to_dir", tmp / "to/nested"}});
  BOOST_REQUIRE(id.ok());
  BOOST_REQUIRE(log.wait_until_finished(*rt, *id));
  auto rec = rt->get(*id);
  BOOST_REQUIRE(rec.ok());
  BOOST_TEST(jobrt::to_string(rec->status) == "completed", rec->error);
  BOOST_TEST(int_field(rec->output, "files") == 12);
  BOOST_TEST(int_field(rec->output, "bytes") == total_size(tmp.path / "from", names));
  BOOST_TEST(int_field(rec->output, "resumed_from") == 0);
  check_copies(tmp.path / "from", tmp.path / "to/nested", names);
}

BOOST_AUTO_TEST_CASE(file_copy_resumes_after_its_process_is_killed) {
  temp_dir tmp;
  auto names = write_sample_files(tmp / "from", 20, 5);
  auto store = tmp / "store";
  jobrt::job_id id = 0;
  std::int64_t copied_before_kill = 0;
  {
    child_process child{{JOBRT_FILE_COPY_CHILD, store, tmp / "from", tmp / "to"}};
    auto job_line = child.read_line_starting_with("job ");
    BOOST_REQUIRE_MESSAGE(!job_line.empty(), "the child did not submit its job");
    id = std::stoull(job_line.substr(4));
    auto cp_line = child.read_line_starting_with("checkpointed ");
    BOOST_REQUIRE_MESSAGE(!cp_line.empty(), "the child never reported a checkpoint");
    copied_before_kill = std::stoll(cp_line.substr(13));
    int status = child.kill_and_wait();
    BOOST_REQUIRE(WIFSIGNALED(status));
    BOOST_TEST(WTERMSIG(status) == SIGKILL);
  }
  BOOST_TEST(copied_before_kill >= 1);
  // The kill came mid-way: some files are still missing.
  std::size_t copied_files = 0;
  for (const auto& name : names)
    copied_files += fs::exists(tmp.path / "to" / name) ? 1 : 0;
  BOOST_REQUIRE_MESSAGE(copied_files < names.size(), "the job finished before the kill");

  auto rt = test_support::start_runtime(store);
  event_log log{*rt};
  auto stats = rt->stats();
  BOOST_REQUIRE(stats.ok());
  BOOST_TEST(stats->recovered == 1u);
  BOOST_REQUIRE(log.wait_until_finished(*rt, id));
  auto rec = rt->get(id);
  BOOST_REQUIRE(rec.ok());
  BOOST_TEST(jobrt::to_string(rec->status) == "completed", rec->error);
  BOOST_TEST(rec->attempts >= 2u); // the killed run and the one that finished
  BOOST_TEST(int_field(rec->output, "files") == 20);
  BOOST_TEST(int_field(rec->output, "bytes") == total_size(tmp.path / "from", names));
  // It went on from the checkpoint the killed process wrote, not from the start.
  BOOST_TEST(int_field(rec->output, "resumed_from") >= 1);
  BOOST_TEST(int_field(rec->output, "resumed_from") >= copied_before_kill);
  check_copies(tmp.path / "from", tmp.path / "to", names);
}
