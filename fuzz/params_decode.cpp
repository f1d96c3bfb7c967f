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

namespace {

/// Known bug, reported (runtime/jobrt/fields.hpp, read_integer): a double equal
/// to 2^63 (2^64) passes the range check of an int64 (uint64) field, and the
/// cast that follows is undefined behaviour. Until it is fixed, such inputs are
/// skipped unless the target is built with -DJOBRT_FUZZ_STRICT=ON.
bool hits_known_bug(const boost::json::value& v) {
#ifdef JOBRT_FUZZ_STRICT
  (void)v;
  return false;
#else
  switch (v.kind()) {
    case boost::json::kind::double_: {
      double d = v.get_double();
      return d == 0x1p63 || d == 0x1p64;
    }
    case boost::json::kind::array:
      for (const auto& x : v.get_array())
        if (hits_known_bug(x))
          return true;
      return false;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object())
        if (hits_known_bug(kv.value()))
          return true;
      return false;
    default:
      return false;
  }
#endif
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || hits_known_bug(v))
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
