#pragma once

/// Bearer-token access. With no token configured the API is open. Otherwise a
/// request needs `Authorization: Bearer TOKEN` (or `?access_token=TOKEN` on
/// /api/events, since EventSource cannot set headers):
///  - the `--token` token sees and steers every job;
///  - an `--owner-token TOKEN=OWNER` token sees and steers only OWNER's jobs:
///    lists are filtered to OWNER, another owner's job answers 403, and submits
///    are made as OWNER.

#include <map>
#include <optional>
#include <string>
#include <variant>

#include "http_util.hpp"

namespace jobrt_server {

struct auth_config {
  std::string admin_token;                          ///< empty: none
  std::map<std::string, std::string> owner_tokens;  ///< token -> owner

  bool enabled() const { return !admin_token.empty() || !owner_tokens.empty(); }
};

/// Who a request acts as.
struct principal {
  /// Empty for full access; otherwise the only owner this caller may touch.
  std::string owner;

  bool scoped() const { return !owner.empty(); }
  bool may_access(const std::string& job_owner) const { return !scoped() || owner == job_owner; }
};

/// The caller, or a 401 response (missing or wrong token).
std::variant<principal, response> authenticate(const auth_config& cfg, const request& req,
                                               const target& t, bool allow_query_token);

/// The 403 answer for a job of another owner.
response forbidden_owner();

} // namespace jobrt_server
