/// Fuzzes stored-record decoding: the store's binary values (storage/codec.hpp)
/// and the JSON codecs of records, checkpoints and progress (jobrt/record.hpp).
///
/// The first byte picks how the rest is used:
///   0  raw bytes as a record value and as a checkpoint value
///   1  the same with a valid crc32 put in front, so that the header and the
///      body decoders behind the checksum are reached (the binary bodies
///      written now, and the JSON bodies of stores written before schema 2)
///   2  JSON text for record_from_json, checkpoint_from_json and progress_from_json
/// Whatever decodes must encode and decode again to the same JSON.

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "jobrt/fields.hpp"
#include "jobrt/record.hpp"
#include "storage/codec.hpp"

namespace codec = jobrt::storage::codec;

namespace {

constexpr jobrt::job_id fuzz_id = 7;

/// JSON equality, with doubles equal to 1e-12 relative: Boost.JSON 1.81 does not
/// parse every double back to the value it serialized (5E71 is written as
/// 5.000000000000001E71, which reads back as 5.000000000000002E71), so a stored
/// double may move by an ulp on each write and read. Everything else is exact.
bool same(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() || b.is_double()) {
    if (!a.is_number() || !b.is_number())
      return false;
    double x = a.to_number<double>(), y = b.to_number<double>();
    return x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind())
    return false;
  if (a.is_array()) {
    const auto &p = a.get_array(), &q = b.get_array();
    if (p.size() != q.size())
      return false;
    for (std::size_t i = 0; i < p.size(); ++i)
      if (!same(p[i], q[i]))
        return false;
    return true;
  }
  if (a.is_object()) {
    const auto &p = a.get_object(), &q = b.get_object();
    if (p.size() != q.size())
      return false;
    for (const auto& kv : p) {
      auto* other = q.if_contains(kv.key());
      if (other == nullptr || !same(kv.value(), *other))
        return false;
    }
    return true;
  }
  return a == b;
}

/// A value holding a non-finite number (1e400 parses to infinity) has no JSON
/// form: the codec must refuse to encode it, and nothing else is checked.
bool refused_as_not_finite(const boost::json::value& json, bool refused) {
  if (!jobrt::has_non_finite(json))
    return false;
  if (!refused)
    std::abort(); // encoded a value that cannot be read back
  return true;
}

void check_record_round_trip(const jobrt::job_record& rec) {
  auto json = jobrt::to_json(rec);
  auto bytes = codec::encode_record(rec);
  if (refused_as_not_finite(json, !bytes))
    return;
  auto again = jobrt::record_from_json(json);
  if (!again || !same(jobrt::to_json(*again), json))
    std::abort();
  if (!bytes)
    return; // a type or owner too long for the header: refused, fine
  // The store keeps all but the live fields (node, children).
  auto decoded = codec::decode_record(rec.id, *bytes);
  if (!decoded || !same(jobrt::to_json(*decoded), jobrt::to_json(codec::stored_part(rec))))
    std::abort();
}

void check_checkpoint_round_trip(const jobrt::checkpoint& cp) {
  auto json = jobrt::to_json(cp);
  auto bytes = codec::encode_checkpoint(cp);
  if (refused_as_not_finite(json, !bytes))
    return;
  auto again = jobrt::checkpoint_from_json(json);
  if (!again || !same(jobrt::to_json(*again), json))
    std::abort();
  if (!bytes)
    std::abort(); // a finite checkpoint must encode
  auto decoded = codec::decode_checkpoint(*bytes);
  if (!decoded || !same(jobrt::to_json(*decoded), json))
    std::abort();
}

void decode_values(std::string_view bytes) {
  (void)codec::decode_header(fuzz_id, bytes);
  (void)codec::decode_header_unverified(fuzz_id, bytes);
  if (auto rec = codec::decode_record(fuzz_id, bytes))
    check_record_round_trip(*rec);
  if (auto cp = codec::decode_checkpoint(bytes))
    check_checkpoint_round_trip(*cp);
  (void)codec::id_from_key_suffix(bytes);
  (void)codec::read_u32_le(bytes);
  (void)codec::read_u64_le(bytes);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::string_view rest{reinterpret_cast<const char*>(data) + 1, size - 1};
  switch (data[0] % 3) {
    case 0:
      decode_values(rest);
      break;
    case 1: {
      std::string bytes;
      codec::put_u32_le(bytes, codec::crc32(rest));
      bytes.append(rest);
      decode_values(bytes);
      break;
    }
    default: {
      boost::json::error_code ec;
      auto v = boost::json::parse(rest, ec);
      if (ec)
        return 0;
      if (auto rec = jobrt::record_from_json(v))
        check_record_round_trip(*rec);
      if (auto cp = jobrt::checkpoint_from_json(v))
        check_checkpoint_round_trip(*cp);
      (void)jobrt::progress_from_json(v);
    }
  }
  return 0;
}
