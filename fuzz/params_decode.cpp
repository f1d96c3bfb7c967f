/// Fuzzes job-parameter decoding: JSON text -> Boost.JSON (parse with an
/// error_code) -> jobrt::decode<params> for a struct with nested, optional,
/// vector and map fields. Whatever decodes must encode and decode again to the
/// same JSON.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "fuzz_types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec)
    return 0;
  auto p = jobrt::decode<fuzz_types::params>(v);
  if (!p) {
    if (p.error().code != jobrt::errc::invalid_params || p.error().message.empty())
      std::abort();
    return 0;
  }
  auto once = jobrt::encode(*p);
  auto again = jobrt::decode<fuzz_types::params>(once);
  if (!again || jobrt::encode(*again) != once)
    std::abort(); // a decoded value must survive encode -> decode unchanged
  (void)jobrt::decode<fuzz_types::state>(v);
  return 0;
}
