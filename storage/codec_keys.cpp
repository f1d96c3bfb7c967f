/// Integers and the keys of the job store's databases (see storage/codec.hpp):
/// values hold little-endian integers; keys hold 8-byte big-endian ids, so that
/// LMDB's bytewise order is id order.

#include <algorithm>

#include "storage/codec.hpp"

namespace jobrt::storage::codec {

namespace {

void put_le(std::string& out, std::uint64_t x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

std::uint64_t read_le(std::string_view bytes) {
  std::uint64_t x = 0;
  for (std::size_t i = bytes.size(); i-- > 0;)
    x = (x << 8) | static_cast<unsigned char>(bytes[i]);
  return x;
}

} // namespace

// -- integers -------------------------------------------------------------------

void put_u32_le(std::string& out, std::uint32_t x) {
  put_le(out, x, 4);
}

void put_u64_le(std::string& out, std::uint64_t x) {
  put_le(out, x, 8);
}

std::optional<std::uint32_t> read_u32_le(std::string_view bytes) {
  if (bytes.size() != 4)
    return std::nullopt;
  return static_cast<std::uint32_t>(read_le(bytes));
}

std::optional<std::uint64_t> read_u64_le(std::string_view bytes) {
  if (bytes.size() != 8)
    return std::nullopt;
  return read_le(bytes);
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

std::string unique_key(std::string_view owner, std::string_view key) {
  // An owner longer than a u16 cannot be stored (max_owner_size); its length is
  // held at the u16's limit here so the key stays well formed, and check_batch
  // refuses the write as too long.
  auto n = static_cast<std::uint16_t>(std::min<std::size_t>(owner.size(), 0xffff));
  std::string out;
  out.reserve(unique_key_overhead(owner) + key.size());
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(owner.data(), owner.size());
  out.append(key.data(), key.size());
  return out;
}

std::string signal_key(job_id id, std::uint64_t seq) {
  auto out = id_key(id);
  out += id_key(seq);
  return out;
}

} // namespace jobrt::storage::codec
