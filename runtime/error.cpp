#include "jobrt/error.hpp"

#include <ostream>

namespace jobrt {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::unknown_job_type: return "unknown_job_type";
    case errc::malformed_json: return "malformed_json";
    case errc::invalid_params: return "invalid_params";
    case errc::payload_too_large: return "payload_too_large";
    case errc::not_found: return "not_found";
    case errc::illegal_transition: return "illegal_transition";
    case errc::storage_full: return "storage_full";
    case errc::storage_error: return "storage_error";
    case errc::corrupt_record: return "corrupt_record";
    case errc::shutting_down: return "shutting_down";
    case errc::timeout: return "timeout";
    case errc::invalid_argument: return "invalid_argument";
  }
  return "unknown_error";
}

std::ostream& operator<<(std::ostream& out, errc code) {
  return out << to_string(code);
}

} // namespace jobrt
