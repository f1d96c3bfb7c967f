// Defines, registers and runs one job against the installed package.
#include <jobrt/jobrt.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

struct hello_params {
  std::string name;
};
BOOST_DESCRIBE_STRUCT(hello_params, (), (name))

struct hello_job : jobrt::job<hello_params> {
  static constexpr const char* name = "hello";
  static constexpr const char* description = "Greets someone";
  void step(jobrt::context& ctx) override { ctx.complete({{"greeting", "hello " + params().name}}); }
};
JOBRT_REGISTER_JOB(hello_job);

int main(int argc, char** argv) {
  if (argc < 2)
    return 2;
  jobrt::runtime_options opts;
  opts.data_dir = argv[1];
  auto rt = jobrt::runtime::start(opts);
  if (!rt) {
    std::fprintf(stderr, "%s\n", rt.error().message.c_str());
    return 1;
  }
  auto id = (*rt)->submit("hello", {{"name", "consumer"}});
  if (!id)
    return 1;
  for (int i = 0; i < 500; ++i) {
    auto rec = (*rt)->get(*id);
    if (rec && rec->status == jobrt::job_status::completed) {
      std::printf("%s\n", rec->output.at("greeting").as_string().c_str());
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10)); // polling a demo, not a test
  }
  return 1;
}
