#include <iostream>
#include <mutex>
#include <string>

#include "actors/log.hpp"

namespace jobrt {

void log_line(std::string_view message) {
  static std::mutex mtx;
  std::string line = "jobrt: ";
  line.append(message);
  line += '\n';
  std::lock_guard guard{mtx};
  std::cerr << line << std::flush;
}

} // namespace jobrt
