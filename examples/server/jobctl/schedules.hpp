#pragma once

/// jobctl's `schedule` commands (list, add, rm, pause, resume) and what they
/// share with the rest of jobctl.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

namespace jobctl {

/// A usage error: jobctl prints the message (if any) and the usage, and exits 2.
struct usage_failure {
  std::string message;
};

/// One request to the server. On an error answer it reports it and sets
/// `code` to the exit code; otherwise `code` is 0 and the answer's JSON comes
/// back (null for an answer without a body, a 204).
using api_call = std::function<std::optional<boost::json::value>(
  boost::beast::http::verb method, const std::string& target, const std::string& body, int& code)>;

/// One path segment: everything but unreserved characters becomes %XX.
std::string path_escape(const std::string& s);

/// The command line of `jobctl schedule ...`.
struct schedule_args {
  std::vector<std::string> positional;        ///< "schedule", the subcommand, its arguments
  std::map<std::string, std::string> options; ///< params, tz, on-missed, on-overlap, paused
  bool json = false;                          ///< print the server's JSON
};

/// Runs `jobctl schedule SUBCOMMAND ...`; returns the exit code. Throws
/// `usage_failure` for a bad command line.
int schedule_command(const schedule_args& a, const api_call& call);

} // namespace jobctl
