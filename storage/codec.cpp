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
  char bytes[8];
  for (std::size_t i = 0; i < n; ++i)
    bytes[i] = static_cast<char>((x >> (8 * i)) & 0xff);
  out.append(bytes, n);
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
result<job_summary> read_fixed_fields(byte_reader& in, job_id id, std::uint8_t& format_out) {
  auto format = in.uint_le<1>();
  if (!format)
    return corrupt("truncated header");
  if (*format != record_format && *format != json_record_format)
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
  format_out = static_cast<std::uint8_t>(*format);
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

/// `body` after the crc32 of it: a checksummed value.
std::string with_crc(std::string_view body) {
  std::string out;
  out.reserve(crc_size + body.size());
  put_uint_le(out, crc32(body), 4);
  out += body;
  return out;
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

// -- the binary bodies of records and checkpoints ------------------------------

void put_string(std::string& out, std::string_view s) {
  put_uint_le(out, s.size(), 4);
  out.append(s.data(), s.size());
}

void put_i64(std::string& out, std::int64_t x) {
  put_uint_le(out, static_cast<std::uint64_t>(x), 8);
}

void put_f64(std::string& out, double x) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &x, sizeof bits);
  put_uint_le(out, bits, 8);
}

/// A JSON value as length-prefixed text; null as length 0.
void put_json(std::string& out, const json::value& v) {
  if (v.is_null()) {
    put_uint_le(out, 0, 4);
    return;
  }
  if (v.is_object() && v.get_object().empty()) { // the usual parameters of a job
    put_uint_le(out, 2, 4);
    out += "{}";
    return;
  }
  auto at = out.size();
  put_uint_le(out, 0, 4);
  json::serializer sr;
  sr.reset(&v);
  char chunk[1024];
  while (!sr.done())
    out += sr.read(chunk, sizeof chunk);
  auto n = out.size() - at - 4;
  for (std::size_t i = 0; i < 4; ++i)
    out[at + i] = static_cast<char>((n >> (8 * i)) & 0xff);
}

void put_ids(std::string& out, const std::vector<job_id>& ids) {
  put_uint_le(out, ids.size(), 4);
  for (auto id : ids)
    put_uint_le(out, id, 8);
}

void put_progress(std::string& out, const progress& p) {
  out.push_back(p.fraction ? 1 : 0);
  put_f64(out, p.fraction.value_or(0.0));
  put_string(out, p.stage);
  put_string(out, p.message);
  put_json(out, p.detail);
}

/// Reads what the put_ functions above write; false if the bytes run out or
/// do not hold what they should.
class body_reader {
public:
  explicit body_reader(std::string_view bytes) : in_(bytes) {}

  bool i64(std::int64_t& x) {
    auto v = in_.uint_le<8>();
    if (v)
      x = static_cast<std::int64_t>(*v);
    return v.has_value();
  }
  bool u32(std::uint32_t& x) {
    auto v = in_.uint_le<4>();
    if (v)
      x = static_cast<std::uint32_t>(*v);
    return v.has_value();
  }
  bool f64(double& x) {
    auto v = in_.uint_le<8>();
    if (!v)
      return false;
    std::uint64_t bits = *v;
    std::memcpy(&x, &bits, sizeof x);
    return true;
  }
  bool string(std::string& out) { return read_string<4>(in_, out); }
  bool u8(std::uint8_t& x) {
    auto v = in_.uint_le<1>();
    x = static_cast<std::uint8_t>(v.value_or(0));
    return v.has_value();
  }
  /// A u32 count, then that many u64 ids.
  bool ids(std::vector<job_id>& out) {
    std::uint32_t n = 0;
    if (!u32(n) || n > in_.rest().size() / 8)
      return false;
    out.resize(n);
    for (auto& id : out) {
      auto v = in_.uint_le<8>();
      if (!v)
        return false;
      id = *v;
    }
    return true;
  }
  bool json_value(json::value& out, std::string& why) {
    auto len = in_.uint_le<4>();
    if (!len)
      return false;
    auto text = in_.take(static_cast<std::size_t>(*len));
    if (!text)
      return false;
    if (text->empty()) {
      out = nullptr;
      return true;
    }
    auto v = parse_json(*text);
    if (!v) {
      why = v.error().message;
      return false;
    }
    out = std::move(*v);
    return true;
  }
  bool progress_value(progress& p, std::string& why) {
    auto has = in_.uint_le<1>();
    double fraction = 0;
    if (!has || *has > 1 || !f64(fraction))
      return false;
    if (*has == 1) {
      if (!std::isfinite(fraction)) {
        why = "progress fraction is not finite";
        return false;
      }
      p.fraction = fraction;
    }
    return string(p.stage) && string(p.message) && json_value(p.detail, why);
  }
  bool at_end() const { return in_.rest().empty(); }

private:
  byte_reader in_;
};

} // namespace

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

job_record stored_part(job_record r) {
  r.children.clear();
  r.node.clear();
  return r;
}

result<std::string> encode_record(const job_record& r) {
  if (auto ok = check_record(r); !ok)
    return ok.error();
  std::string out;
  // Enough for the fixed fields and the strings; JSON may grow it once more.
  out.reserve(128 + r.type.size() + r.owner.size() + r.waiting_for.size()
              + r.idempotency_key.size() + r.error.size() + r.progress.stage.size()
              + r.progress.message.size());
  out.append(crc_size, '\0');
  out.push_back(static_cast<char>(record_format));
  out.push_back(static_cast<char>(r.status));
  put_uint_le(out, static_cast<std::uint32_t>(r.priority), 4);
  put_u64_le(out, static_cast<std::uint64_t>(r.wake_at));
  put_u64_le(out, static_cast<std::uint64_t>(r.finished_at));
  put_uint_le(out, r.type.size(), 1);
  out += r.type;
  put_uint_le(out, r.owner.size(), 2);
  out += r.owner;
  put_uint_le(out, r.id, 8);
  put_i64(out, r.created_at);
  put_i64(out, r.started_at);
  put_i64(out, r.checkpoint_at);
  put_i64(out, r.timeout_ms);
  put_uint_le(out, r.max_attempts, 4);
  put_uint_le(out, r.attempts, 4);
  put_string(out, r.waiting_for);
  put_string(out, r.idempotency_key);
  put_string(out, r.error);
  put_progress(out, r.progress);
  put_json(out, r.params);
  put_json(out, r.output);
  // Optional: absent means no parent, no dependencies and the default policy.
  if (r.parent != 0 || !r.after.empty() || r.on_dependency_failure != dependency_failure::fail) {
    put_i64(out, static_cast<std::int64_t>(r.parent));
    put_ids(out, r.after);
    out.push_back(static_cast<char>(r.on_dependency_failure));
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
  std::uint8_t format = 0;
  auto fixed = read_fixed_fields(in, id, format);
  if (!fixed)
    return fixed.error();
  record_header out{std::move(*fixed), format, {}};
  if (!read_string<1>(in, out.summary.type) || !read_string<2>(in, out.summary.owner))
    return corrupt("truncated header");
  out.body = in.rest();
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

namespace {

/// The body of a format-1 record: the whole record as JSON.
result<job_record> decode_json_body(job_id id, std::string_view body) {
  auto doc = parse_json(body);
  if (!doc)
    return doc.error();
  auto rec = record_from_json(*doc);
  if (!rec)
    return corrupt(rec.error().message);
  if (rec->id != id)
    return corrupt("holds id " + std::to_string(rec->id));
  return stored_part(std::move(*rec));
}

/// The body of a format-2 record (see encode_record), with the header's fields.
result<job_record> decode_binary_body(const record_header& h) {
  job_record r;
  const auto& s = h.summary;
  r.id = s.id;
  r.type = s.type;
  r.owner = s.owner;
  r.priority = s.priority;
  r.status = s.status;
  r.wake_at = s.wake_at;
  r.finished_at = s.finished_at;
  body_reader in{h.body};
  std::int64_t id = 0;
  std::string why;
  bool ok = in.i64(id) && in.i64(r.created_at) && in.i64(r.started_at)
            && in.i64(r.checkpoint_at) && in.i64(r.timeout_ms) && in.u32(r.max_attempts)
            && in.u32(r.attempts) && in.string(r.waiting_for) && in.string(r.idempotency_key)
            && in.string(r.error) && in.progress_value(r.progress, why)
            && in.json_value(r.params, why) && in.json_value(r.output, why);
  if (ok && !in.at_end()) {
    std::int64_t parent = 0;
    std::uint8_t policy = 0;
    ok = in.i64(parent) && in.ids(r.after) && in.u8(policy)
         && policy <= static_cast<std::uint8_t>(dependency_failure::run);
    r.parent = static_cast<job_id>(parent);
    r.on_dependency_failure = static_cast<dependency_failure>(policy);
  }
  if (!ok)
    return corrupt(why.empty() ? "truncated record" : why);
  if (!in.at_end())
    return corrupt("trailing bytes after the record");
  if (static_cast<job_id>(id) != s.id)
    return corrupt("holds id " + std::to_string(static_cast<job_id>(id)));
  if (r.max_attempts == 0)
    r.max_attempts = 1;
  return r;
}

} // namespace

result<job_record> decode_record(job_id id, std::string_view bytes) {
  auto header = decode_header(id, bytes);
  if (!header)
    return header.error();
  if (header->format == json_record_format)
    return decode_json_body(id, header->body);
  return decode_binary_body(*header);
}

result<std::string> encode_checkpoint(const checkpoint& c) {
  if (auto ok = check_checkpoint(c); !ok)
    return ok.error();
  std::string body;
  body.push_back(static_cast<char>(checkpoint_format));
  put_i64(body, c.at);
  put_progress(body, c.progress);
  put_json(body, c.state);
  // Optional, in this order: absent means 0 and none.
  if (c.signals_taken != 0 || !c.children.empty() || c.awaiting_children)
    put_i64(body, static_cast<std::int64_t>(c.signals_taken));
  if (!c.children.empty() || c.awaiting_children)
    put_ids(body, c.children);
  if (c.awaiting_children)
    body.push_back('\x01');
  return with_crc(body);
}

result<std::string> encode_signal(const job_signal& s) {
  if (has_non_finite(s.payload))
    return not_finite("signal payload");
  std::string body;
  put_i64(body, s.at);
  put_string(body, s.name);
  put_json(body, s.payload);
  return with_crc(body);
}

result<job_signal> decode_signal(std::uint64_t seq, std::string_view bytes) {
  auto payload = checked_payload(bytes);
  if (!payload)
    return payload.error();
  job_signal s;
  s.seq = seq;
  body_reader in{*payload};
  std::string why;
  if (!in.i64(s.at) || !in.string(s.name) || !in.json_value(s.payload, why))
    return corrupt(why.empty() ? "truncated signal" : why);
  if (!in.at_end())
    return corrupt("trailing bytes after the signal");
  return s;
}

result<std::string> encode_schedule(const schedule_info& s) {
  if (has_non_finite(s.params))
    return not_finite("schedule " + s.name);
  auto body = json::serialize(to_json(s));
  return with_crc(body);
}

result<schedule_info> decode_schedule(std::string_view bytes) {
  auto payload = checked_payload(bytes);
  if (!payload)
    return payload.error();
  auto doc = parse_json(*payload);
  if (!doc)
    return doc.error();
  auto s = schedule_from_json(*doc);
  if (!s)
    return corrupt(s.error().message);
  return s;
}

result<checkpoint> decode_checkpoint(std::string_view bytes) {
  auto payload = checked_payload(bytes);
  if (!payload)
    return payload.error();
  if (!payload->empty() && (*payload)[0] == static_cast<char>(checkpoint_format)) {
    checkpoint cp;
    body_reader in{payload->substr(1)};
    std::string why;
    if (!in.i64(cp.at) || !in.progress_value(cp.progress, why) || !in.json_value(cp.state, why))
      return corrupt(why.empty() ? "truncated checkpoint" : why);
    if (!in.at_end()) {
      std::int64_t taken = 0;
      if (!in.i64(taken) || taken < 0)
        return corrupt("truncated checkpoint");
      cp.signals_taken = static_cast<std::uint64_t>(taken);
    }
    if (!in.at_end() && !in.ids(cp.children))
      return corrupt("truncated checkpoint");
    std::uint8_t awaiting = 0;
    if (!in.at_end() && (!in.u8(awaiting) || awaiting > 1))
      return corrupt("bad flag in checkpoint");
    cp.awaiting_children = awaiting == 1;
    if (!in.at_end())
      return corrupt("trailing bytes after the checkpoint");
    return cp;
  }
  // The first format: the checkpoint as JSON (which starts with '{', never 2).
  auto doc = parse_json(*payload);
  if (!doc)
    return doc.error();
  auto cp = checkpoint_from_json(*doc);
  if (!cp)
    return corrupt(cp.error().message);
  return cp;
}

} // namespace jobrt::storage::codec
