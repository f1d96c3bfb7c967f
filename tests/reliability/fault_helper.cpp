/// A helper process of the fault tests.
///   fault_helper open DIR   starts a runtime on DIR, prints "ok" or
///                           "error CODE MESSAGE", and exits
///   fault_helper hold DIR   starts a runtime on DIR, prints "ready" (or the error),
///                           and keeps the store open until it is killed
///   fault_helper as-nobody open DIR   drops to uid/gid 65534 first (the caller must
///                           be root); exits 77 if it cannot

#include <grp.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "jobrt/jobrt.hpp"

int main(int argc, char** argv) {
  int arg = 1;
  if (argc > arg && std::strcmp(argv[arg], "as-nobody") == 0) {
    ++arg;
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
      std::printf("cannot drop to nobody: %s\n", std::strerror(errno));
      return 77;
    }
  }
  if (argc < arg + 2) {
    std::fprintf(stderr, "usage: fault_helper [as-nobody] open|hold DIR\n");
    return 2;
  }
  std::string mode = argv[arg];
  jobrt::runtime_options opts;
  opts.data_dir = argv[arg + 1];
  opts.durable = false;
  auto rt = jobrt::runtime::start(opts);
  if (!rt) {
    std::printf("error %s %s\n", jobrt::to_string(rt.error().code), rt.error().message.c_str());
    std::fflush(stdout);
    return 0;
  }
  std::printf(mode == "hold" ? "ready\n" : "ok\n");
  std::fflush(stdout);
  if (mode == "hold") {
    for (;;) // keep the store open until killed
      ::pause();
  }
  (*rt)->shutdown();
  return 0;
}
