#pragma once

/// The dashboard's files (examples/server/web), embedded into the binary at
/// build time by cmake/embed_files.cmake, so the server needs no web directory
/// at run time.

#include <optional>
#include <string_view>
#include <vector>

#include "http_util.hpp"

namespace jobrt_server {

struct embedded_file {
  std::string_view name; ///< base name, e.g. "app.js"
  std::string_view data;
};

/// Defined in the generated web_assets.cpp.
const std::vector<embedded_file>& embedded_files();

/// The response for GET `path` ("/" is index.html), or nullopt if no file matches.
std::optional<response> serve_static(std::string_view path);

} // namespace jobrt_server
