#define BOOST_TEST_MODULE demo_smoke_tests
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <sys/wait.h>

namespace {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "jobrt-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

struct run_result {
  int exit_code = -1;
  std::string output;
};

/// Runs the demo with `args`, stdout captured (so not a TTY), stderr passed on.
run_result run_demo(const std::string& args) {
  run_result r;
  std::string cmd = std::string{"'"} + JOBRT_DEMO + "' " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(demo_runs_twice_and_the_second_run_recovers_the_unfinished_job) {
  temp_dir tmp;
  auto data = "'" + (tmp.path / "data").string() + "'";
  auto first = run_demo("--fresh --quick --data-dir " + data);
  BOOST_TEST_MESSAGE("first run:\n" << first.output);
  BOOST_TEST(first.exit_code == 0);
  BOOST_TEST(contains(first.output, ">> paused"), first.output);
  BOOST_TEST(contains(first.output, ">> resumed"), first.output);
  BOOST_TEST(contains(first.output, ">> cancelled"), first.output);
  BOOST_TEST(contains(first.output, "stopped with 1 job(s) unfinished"), first.output);
  BOOST_TEST(!contains(first.output, "\x1b["), "no ANSI escapes when stdout is not a terminal");

  auto second = run_demo("--quick --data-dir " + data);
  BOOST_TEST_MESSAGE("second run:\n" << second.output);
  BOOST_TEST(second.exit_code == 0);
  BOOST_TEST(contains(second.output, "recovered 1 unfinished job(s)"), second.output);
  BOOST_TEST(contains(second.output, "all 1 recovered job(s) finished"), second.output);
}
