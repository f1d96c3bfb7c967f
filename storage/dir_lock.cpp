/// The directory lock (an exclusive flock on PATH/jobrt.lock) and the creation
/// of the store directory.

#include "storage/dir_lock.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/store_errors.hpp"

namespace jobrt::storage {

dir_lock::~dir_lock() {
  if (fd_ >= 0)
    ::close(fd_); // releases the lock
}

result<void> dir_lock::acquire(const std::string& dir) {
  auto file = dir + "/jobrt.lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    return open_failure(dir, errno);
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK)
      return storage_failure("store at " + dir + " is in use by another process");
    return storage_failure("cannot lock store at " + dir + ": " + std::strerror(err));
  }
  return {};
}

error dir_lock::open_failure(const std::string& dir, int err) {
  if (is_permission_error(err))
    return storage_failure("cannot open store at " + dir + ": permission denied"
                           " (the directory is read-only or not ours)");
  return storage_failure("cannot open store at " + dir + ": " + std::strerror(err));
}

result<void> make_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST)
    return {};
  int err = errno;
  if (err == ENOENT)
    return storage_failure("cannot open store: parent directory of " + path
                           + " does not exist");
  if (is_permission_error(err))
    return storage_failure("cannot create store directory " + path + ": permission denied");
  return storage_failure("cannot create store directory " + path + ": " + std::strerror(err));
}

} // namespace jobrt::storage
