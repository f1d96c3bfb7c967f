#include "storage/codec.hpp"

#include <cmath>
#include <cstring>
#include <exception>

#include <boost/json.hpp>

#include "jobrt/fields.hpp" // has_non_finite

namespace json = boost::json;

namespace jobrt::storage::codec {

namespace {

constexpr std::size_t crc_size = 4;

error corrupt(std::string reason) {
  return error{errc::corrupt_record, std::move(reason)};
}

error not_finite(const std::string& what) {
  return error{errc::invalid_argument,
               what + ": a number is not finite (JSON cannot store it), nothing written"};
}

/// Reads fixed-size fields from a byte string, front to back, with bounds checks.
class byte_reader {
public:
  explicit byte_reader(std::string_view bytes) : rest_(bytes) {}

  /// The next `n` bytes, or nothing if fewer remain.
  std::optional<std::string_view> take(std::size_t n) {
    if (rest_.size() < n)
      return std::nullopt;
    auto out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return out;
  }

  /// The next little-endian unsigned integer of `N` bytes.
  template <std::size_t N>
  std::optional<std::uint64_t> uint_le() {
    auto b = take(N);
    if (!b)
      return std::nullopt;
    std::uint64_t x = 0;
    for (std::size_t i = N; i-- > 0;)
      x = (x << 8) | static_cast<unsigned char>((*b)[i]);
    return x;
  }

  std::string_view rest() const noexcept { return rest_; }

private:
  std::string_view rest_;
};

void put_uint_le(std::string& out, std::uint64_t x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

/// Parses JSON text without throwing; the reason on failure.
result<json::value> parse_json(std::string_view text) {
  try {
    json::error_code ec;
    auto v = json::parse(json::string_view{text.data(), text.size()}, ec);
    if (ec)
      return corrupt("bad JSON: " + ec.message());
    return v;
  } catch (const std::exception& e) { // allocation failure on absurd input
    return corrupt(std::string{"bad JSON: "} + e.what());
  }
}

/// Fills the fixed part of the header (after the crc) from `in`.
result<job_summary> read_fixed_fields(byte_reader& in, job_id id) {
  auto format = in.uint_le<1>();
  if (!format)
    return corrupt("truncated header");
  if (*format != record_format)
    return corrupt("unknown record format " + std::to_string(*format));
  auto status = in.uint_le<1>();
  auto priority = in.uint_le<4>();
  auto wake_at = in.uint_le<8>();
  auto finished_at = in.uint_le<8>();
  if (!status || !priority || !wake_at || !finished_at)
    return corrupt("truncated header");
  auto s = status_from_byte(static_cast<std::uint8_t>(*status));
  if (!s)
    return corrupt("unknown status byte " + std::to_string(*status));
  job_summary out;
  out.id = id;
  out.status = *s;
  out.priority = static_cast<std::int32_t>(static_cast<std::uint32_t>(*priority));
  out.wake_at = static_cast<millis>(*wake_at);
  out.finished_at = static_cast<millis>(*finished_at);
  return out;
}

/// Reads a length-prefixed string of `N`-byte length from `in` into `out`.
template <std::size_t N>
bool read_string(byte_reader& in, std::string& out) {
  auto len = in.uint_le<N>();
  if (!len)
    return false;
  auto bytes = in.take(static_cast<std::size_t>(*len));
  if (!bytes)
    return false;
  out.assign(bytes->data(), bytes->size());
  return true;
}

/// Splits a checksummed value into its payload, checking the crc.
result<std::string_view> checked_payload(std::string_view bytes) {
  byte_reader in{bytes};
  auto crc = in.uint_le<crc_size>();
  if (!crc)
    return corrupt("truncated: " + std::to_string(bytes.size()) + " bytes");
  if (crc32(in.rest()) != *crc)
    return corrupt("checksum mismatch");
  return in.rest();
}

} // namespace

// -- integers -------------------------------------------------------------------

void put_u32_le(std::string& out, std::uint32_t x) {
  put_uint_le(out, x, 4);
}

void put_u64_le(std::string& out, std::uint64_t x) {
  put_uint_le(out, x, 8);
}

std::optional<std::uint32_t> read_u32_le(std::string_view bytes) {
  if (bytes.size() != 4)
    return std::nullopt;
  byte_reader in{bytes};
  return static_cast<std::uint32_t>(*in.uint_le<4>());
}

std::optional<std::uint64_t> read_u64_le(std::string_view bytes) {
  if (bytes.size() != 8)
    return std::nullopt;
  byte_reader in{bytes};
  return in.uint_le<8>();
}

// -- keys -------------------------------------------------------------------------

std::string id_key(job_id id) {
  std::string out(8, '\0');
  for (std::size_t i = 0; i < 8; ++i)
    out[7 - i] = static_cast<char>((id >> (8 * i)) & 0xff);
  return out;
}

std::optional<job_id> id_from_key_suffix(std::string_view key) {
  if (key.size() < 8)
    return std::nullopt;
  job_id id = 0;
  for (char c : key.substr(key.size() - 8))
    id = (id << 8) | static_cast<unsigned char>(c);
  return id;
}

std::string status_key(job_status s, job_id id) {
  std::string out(1, static_cast<char>(s));
  out += id_key(id);
  return out;
}

std::string owner_key(std::string_view owner, job_id id) {
  std::string out{owner};
  out.push_back('\0');
  out += id_key(id);
  return out;
}

// -- values -----------------------------------------------------------------------

namespace {

/// Tables for CRC-32 "slicing by 8": eight bytes per step instead of one. The
/// polynomial is zlib's (reflected 0xEDB88320), so the checksums are the same as
/// a byte-at-a-time CRC-32 and stored records keep their meaning.
struct crc_tables {
  std::uint32_t t[8][256];
  constexpr crc_tables() : t{} {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s)
        t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};

constexpr crc_tables crc_table{};

} // namespace

std::uint32_t crc32(std::string_view bytes) {
  const auto& t = crc_table.t;
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  auto n = bytes.size();
  std::uint32_t c = 0xFFFFFFFFu;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint32_t lo = (std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16
                        | std::uint32_t{p[3]} << 24)
                       ^ c;
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24]
        ^ t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
  }
  for (; n > 0; --n, ++p)
    c = t[0][(c ^ *p) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::optional<job_status> status_from_byte(std::uint8_t b) {
  if (b > static_cast<std::uint8_t>(job_status::cancelled))
    return std::nullopt;
  return static_cast<job_status>(b);
}

result<void> check_record(const job_record& r) {
  if (r.type.size() > max_type_size)
    return error{errc::invalid_argument,
                 "job " + std::to_string(r.id) + ": type name is longer than "
                   + std::to_string(max_type_size) + " bytes"};
  if (r.owner.size() > max_owner_size)
    return error{errc::invalid_argument,
                 "job " + std::to_string(r.id) + ": owner is longer than "
                   + std::to_string(max_owner_size) + " bytes"};
  if (has_non_finite(r.params) || has_non_finite(r.output) || has_non_finite(r.progress.detail)
      || (r.progress.fraction && !std::isfinite(*r.progress.fraction)))
    return not_finite("job " + std::to_string(r.id));
  return {};
}

result<void> check_checkpoint(const checkpoint& c) {
  if (has_non_finite(c.state) || has_non_finite(c.progress.detail)
      || (c.progress.fraction && !std::isfinite(*c.progress.fraction)))
    return not_finite("checkpoint");
  return {};
}

result<std::string> encode_record(const job_record& r) {
  if (auto ok = check_record(r); !ok)
    return ok.error();
  std::string out(crc_size, '\0');
  out.push_back(static_cast<char>(record_format));
  out.push_back(static_cast<char>(r.status));
  put_uint_le(out, static_cast<std::uint32_t>(r.priority), 4);
  put_u64_le(out, static_cast<std::uint64_t>(r.wake_at));
  put_u64_le(out, static_cast<std::uint64_t>(r.finished_at));
  put_uint_le(out, r.type.size(), 1);
  out += r.type;
  put_uint_le(out, r.owner.size(), 2);
  out += r.owner;
  {
    // The JSON is thrown away once serialized: build it in one arena, not with
    // a heap allocation per node.
    unsigned char arena[4096];
    json::monotonic_resource mr(arena, sizeof(arena));
    auto doc = to_json(r, &mr);
    json::serializer sr;
    sr.reset(&doc);
    char chunk[4096];
    while (!sr.done())
      out += sr.read(chunk);
  }
  auto crc = crc32(std::string_view{out}.substr(crc_size));
  std::string crc_bytes;
  put_u32_le(crc_bytes, crc);
  out.replace(0, crc_size, crc_bytes);
  return out;
}

namespace {

/// Reads the header fields that follow the crc.
result<record_header> read_header(job_id id, std::string_view payload) {
  byte_reader in{payload};
  auto fixed = read_fixed_fields(in, id);
  if (!fixed)
    return fixed.error();
  record_header out{std::move(*fixed), {}};
  if (!read_string<1>(in, out.summary.type) || !read_string<2>(in, out.summary.owner))
    return corrupt("truncated header");
  out.json = in.rest();
  return out;
}

} // namespace

result<record_header> decode_header(job_id id, std::string_view bytes) {
  auto payload = checked_payload(bytes);
  if (!payload)
    return payload.error();
  return read_header(id, *payload);
}

result<record_header> decode_header_unverified(job_id id, std::string_view bytes) {
  if (bytes.size() < crc_size)
    return corrupt("truncated");
  return read_header(id, bytes.substr(crc_size));
}

result<job_record> decode_record(job_id id, std::string_view bytes) {
  auto header = decode_header(id, bytes);
  if (!header)
    return header.error();
  auto doc = parse_json(header->json);
  if (!doc)
    return doc.error();
  auto rec = record_from_json(*doc);
  if (!rec)
    return corrupt(rec.error().message);
  if (rec->id != id)
    return corrupt("holds id " + std::to_string(rec->id));
  return rec;
}

result<std::string> encode_checkpoint(const checkpoint& c) {
  if (auto ok = check_checkpoint(c); !ok)
    return ok.error();
  auto doc = to_json(c);
  auto text = json::serialize(doc);
  std::string out;
  out.reserve(crc_size + text.size());
  put_u32_le(out, crc32(text));
  out += text;
  return out;
}

result<checkpoint> decode_checkpoint(std::string_view bytes) {
  auto payload = checked_payload(bytes);
  if (!payload)
    return payload.error();
  auto doc = parse_json(*payload);
  if (!doc)
    return doc.error();
  auto cp = checkpoint_from_json(*doc);
  if (!cp)
    return corrupt(cp.error().message);
  return cp;
}

} // namespace jobrt::storage::codec
