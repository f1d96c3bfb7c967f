#pragma once

#include <string_view>

namespace jobrt {

/// Writes one line to stderr, prefixed with "jobrt: ", whole even across threads.
void log_line(std::string_view message);

} // namespace jobrt
