#pragma once

/// The binary formats of the job store: keys and values, private to storage/.
///
/// Record value (`jobs`), integers little-endian:
///   [u32 crc32 of everything after it][u8 format][u8 status][i32 priority]
///   [i64 wake_at][i64 finished_at][u8 type_len][type][u16 owner_len][owner]
///   then the body; the header is the same in every format, so that queues can
///   be recovered and lists filtered without reading the body.
///   format 2 (written): [u64 id][i64 created_at][i64 started_at][i64 checkpoint_at]
///     [i64 timeout_ms][u32 max_attempts][u32 attempts][str waiting_for]
///     [str idempotency_key][str error][progress][json params][json output]
///     then, unless the job has no parent, no dependencies and the default
///     dependency policy: [i64 parent][u32 count][u64 id]...[u8 policy]
///   format 1 (read only, written before): the JSON text of to_json(record)
///   str = u32 length + bytes; json = u32 length + JSON text, 0 for null;
///   progress = [u8 has_fraction][f64 fraction][str stage][str message][json detail]
/// Checkpoint value (`checkpoints`): [u32 crc32 of what follows] then either
///   [u8 2][i64 at][progress][json state] (written), or the JSON text of
///   to_json(checkpoint) (read only; JSON starts with '{', never with 2).
/// Keys: ids are 8-byte big-endian so that LMDB's bytewise order is id order.
///
/// Binary bodies cost a fraction of JSON ones to write and read, and every job
/// writes its record two or three times. The JSON a job brings (parameters,
/// output, progress detail, checkpoint state) stays JSON text.
///
/// Decoders never throw and never read out of bounds: any garbage gives a
/// `corrupt_record` error whose message is the reason, for the caller to wrap.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "jobrt/error.hpp"
#include "jobrt/record.hpp"
#include "jobrt/schedule.hpp"
#include "storage/job_store.hpp"

namespace jobrt::storage::codec {

/// The record format written; `json_record_format` is still read.
inline constexpr std::uint8_t record_format = 2;
inline constexpr std::uint8_t json_record_format = 1;
/// The first byte of a checkpoint written in the binary format.
inline constexpr std::uint8_t checkpoint_format = 2;
/// Longest type name the header can hold (u8 length).
inline constexpr std::size_t max_type_size = 255;
/// Longest key LMDB accepts with its default build.
inline constexpr std::size_t max_key_size = 511;
/// Longest owner whose `by_owner` key (owner, 0x00, u64 id) still fits in a key.
inline constexpr std::size_t max_owner_size = max_key_size - 9;

// -- integers -------------------------------------------------------------------

void put_u32_le(std::string& out, std::uint32_t x);
void put_u64_le(std::string& out, std::uint64_t x);
std::optional<std::uint32_t> read_u32_le(std::string_view bytes);
std::optional<std::uint64_t> read_u64_le(std::string_view bytes);

// -- keys -------------------------------------------------------------------------

/// The 8-byte big-endian key of a job id.
std::string id_key(job_id id);
/// The id of an 8-byte big-endian key, or of the last 8 bytes of a longer index key.
std::optional<job_id> id_from_key_suffix(std::string_view key);
/// `by_status` key: status byte, then the id.
std::string status_key(job_status s, job_id id);
/// `by_owner` key: owner, 0x00, then the id.
std::string owner_key(std::string_view owner, job_id id);
/// `unique` key: the owner's length (u16 big-endian), the owner, then the
/// idempotency key. Keys are scoped by owner: two owners never share one.
std::string unique_key(std::string_view owner, std::string_view key);
/// The bytes `unique_key` adds to an idempotency key for `owner`.
inline std::size_t unique_key_overhead(std::string_view owner) { return 2 + owner.size(); }

// -- values -----------------------------------------------------------------------

/// A record's header, read without decoding its body; `body` views into the bytes.
struct record_header {
  job_summary summary;
  std::uint8_t format = record_format;
  std::string_view body;
};

/// Whether a record can be stored: type and owner short enough for the header
/// and the owner index, every number finite (JSON has no infinity or NaN).
/// Every store checks this, so that both refuse the same records.
result<void> check_record(const job_record& r);
/// Whether a checkpoint can be stored: every number finite.
result<void> check_checkpoint(const checkpoint& c);

/// The part of a record the store keeps: `children` (read from the checkpoint)
/// and `node` (live) cleared. A stored record never brings them back.
job_record stored_part(job_record r);

/// Encodes a record value. Fails (invalid_argument) if the type or owner is too
/// long for the header or the owner index, or if a number in it is not finite
/// (JSON has no infinity or NaN: such a record could never be read back).
result<std::string> encode_record(const job_record& r);
/// Checks the crc and reads the header of a record value stored under `id`.
result<record_header> decode_header(job_id id, std::string_view bytes);
/// Reads the header without checking the crc: only to find index entries of
/// a record that is being quarantined. Still bounds-checked.
result<record_header> decode_header_unverified(job_id id, std::string_view bytes);
/// Decodes a whole record value; also checks that the JSON id matches `id`.
result<job_record> decode_record(job_id id, std::string_view bytes);

/// Encodes a checkpoint value; fails (invalid_argument) on a number that is not finite.
result<std::string> encode_checkpoint(const checkpoint& c);
result<checkpoint> decode_checkpoint(std::string_view bytes);

/// `signals` key: the job's id, then the signal's seq (both u64 big-endian), so
/// that a job's signals sort together, in order.
std::string signal_key(job_id id, std::uint64_t seq);
/// Encodes a signal value (crc, sent-at, name, payload); fails on a number that
/// is not finite.
result<std::string> encode_signal(const job_signal& s);
result<job_signal> decode_signal(std::uint64_t seq, std::string_view bytes);

/// Schedule value (`schedules`): [u32 crc32 of what follows] then the JSON text
/// of to_json(schedule). Few and small: JSON keeps them readable with mdb_dump.
result<std::string> encode_schedule(const schedule_info& s);
result<schedule_info> decode_schedule(std::string_view bytes);

/// crc32 (the zlib polynomial) of `bytes`.
std::uint32_t crc32(std::string_view bytes);

/// The status byte as a status, if it is one.
std::optional<job_status> status_from_byte(std::uint8_t b);

} // namespace jobrt::storage::codec
