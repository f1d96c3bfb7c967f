#pragma once

/// What crosses the wire between a coordinator and its worker nodes, as JSON
/// text (see the "worker nodes" section of actors/protocol.hpp): strings need
/// no registration with CAF on either side, and a malformed payload from a
/// peer is a parse error here, never a crash. Plain functions, no actor.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "jobrt/error.hpp"
#include "jobrt/record.hpp"

#include "actors/protocol.hpp"

namespace jobrt::node_wire {

/// Longest payload a peer may send: a checkpoint or output of the largest
/// accepted size, with room for the record around it.
std::size_t max_text(std::size_t max_payload_bytes);

std::string encode_start(const proto::job_start& js);
result<proto::job_start> decode_start(std::string_view text);

std::string encode_outcome(const proto::job_outcome& o);
result<proto::job_outcome> decode_outcome(std::string_view text);

std::string encode_progress(const progress& p);
result<progress> decode_progress(std::string_view text);

std::string encode_checkpoint(const checkpoint& c);
result<checkpoint> decode_checkpoint(std::string_view text);

std::string encode_signal(const job_signal& s);
result<job_signal> decode_signal(std::string_view text);

/// What a worker offers at its hello: its slots, and the types it runs with
/// each one's cap (0: only the slots apply).
struct offer {
  std::size_t slots = 0;
  std::map<std::string, std::size_t> types;
};
std::string encode_offer(const offer& o);
/// Refuses an offer of no slots or no types, or more than 100000 of either.
result<offer> decode_offer(std::string_view text);

} // namespace jobrt::node_wire
