#pragma once

/// The directory lock that keeps a store directory to one process, and the
/// creation of that directory.

#include <string>

#include "jobrt/error.hpp"

namespace jobrt::storage {

/// An exclusive flock on PATH/jobrt.lock, held for the store's lifetime. flock
/// locks belong to the open file, so a second open in the same process fails too.
class dir_lock {
public:
  dir_lock() = default;
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;
  ~dir_lock();

  result<void> acquire(const std::string& dir);

private:
  static error open_failure(const std::string& dir, int err);

  int fd_ = -1;
};

/// Creates the store directory if missing; its parent must exist.
result<void> make_directory(const std::string& path);

} // namespace jobrt::storage
