#pragma once

/// Private to storage/: the errors the store files build, and the keys of the
/// LMDB store's `meta` database (check_batch holds setting names to them too).

#include <cerrno>
#include <string>
#include <utility>

#include <lmdb.h>

#include "jobrt/error.hpp"

namespace jobrt::storage {

inline const std::string schema_meta_key = "schema";
inline const std::string last_id_meta_key = "last_id";
inline const std::string setting_prefix = "setting/";

inline error storage_failure(std::string msg) {
  return error{errc::storage_error, std::move(msg)};
}

/// A storage_error for a failed LMDB call: "WHAT: mdb_strerror(rc)".
inline error lmdb_failure(const std::string& what, int rc) {
  return storage_failure(what + ": " + mdb_strerror(rc));
}

inline bool is_permission_error(int err) {
  return err == EACCES || err == EPERM || err == EROFS;
}

} // namespace jobrt::storage
