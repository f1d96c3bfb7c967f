#pragma once

/// Worker nodes: processes that link the same job types and run jobs for a
/// runtime that owns the store (the coordinator), over CAF's own network layer
/// (`libcaf_io`, and `libcaf_openssl` for mutual TLS). What the coordinator
/// accepts (`runtime_options::workers`) and what it reports of its nodes
/// (`runtime_stats::nodes`). A worker process itself: jobrt/worker.hpp.
/// How far one coordinator goes: docs/scale-out.md.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "jobrt/record.hpp"

namespace jobrt {

/// Mutual TLS: this node's certificate and key, and the CA that signed every
/// node's certificate (PEM files). All three, or none (then the shared secret
/// alone admits a worker). How to make them: docs/scale-out.md.
struct tls_files {
  std::string certificate;
  std::string key;
  std::string ca_file;
  bool enabled() const { return !certificate.empty() || !key.empty() || !ca_file.empty(); }
};

/// A coordinator's door for worker nodes.
///
/// What the secret does and does not do: a worker that does not present it
/// gets no work, but any process that can open a connection to the port speaks
/// CAF's protocol to this process (CAF 0.17 has no per-actor access control),
/// and the secret crosses the wire in the clear without TLS. So the port listens
/// on loopback by default; across machines, use a private network and `tls`,
/// which refuses every peer without a certificate from your CA at the handshake.
struct worker_listen_options {
  /// Accept worker nodes on this TCP port (0: any free one; `runtime::workers_port`
  /// says which). None: this runtime runs every job itself.
  std::optional<std::uint16_t> port;
  /// The address to listen on; loopback unless set (a wider one is the host's choice).
  std::string host = "127.0.0.1";
  /// A worker must present it in its hello to get work. Required unless `tls`
  /// is set (then it is checked too, if not empty).
  std::string secret;
  tls_files tls;
  /// A node that sends nothing (not even its heartbeat) this long is lost: its
  /// runs are taken back and resume from their checkpoints elsewhere. Keep it at
  /// least four of the workers' `heartbeat_interval`s (500 ms by default): on a
  /// busy machine a heartbeat can come late, and a healthy node lost is work redone.
  std::chrono::milliseconds node_timeout{3000};
  /// Whether jobs also run in this process (when no node has a free slot for
  /// them). false: a pure coordinator, which only dispatches.
  bool run_locally = true;
};

/// One worker node, as the coordinator sees it.
struct node_stats {
  std::uint64_t id = 0;    ///< given at its hello; a node that reconnects gets a new one
  std::string name;        ///< the worker's own name (host:pid unless it chose one)
  std::string address;     ///< host:port of its connection, as CAF reports it
  std::size_t slots = 0;   ///< jobs it runs at once
  /// The types it runs, each with its own cap (0: only `slots` applies).
  std::map<std::string, std::size_t> types;
  std::size_t running = 0; ///< runs it holds now (paused ones too)
  std::uint64_t dispatched = 0; ///< runs sent to it since it joined
  millis joined_at = 0;
  millis last_heartbeat = 0; ///< the last message of any kind from it
};

/// What the coordinator counts of its nodes' traffic, since start.
struct node_traffic {
  std::uint64_t nodes_joined = 0;
  std::uint64_t nodes_lost = 0;     ///< went silent or their link broke
  std::uint64_t nodes_refused = 0;  ///< wrong secret, or a malformed hello
  std::uint64_t runs_taken_back = 0; ///< runs of lost nodes, back in the queue
  /// Messages from peers that were malformed or unexpected, or that named a
  /// run the actor they reached no longer holds: dropped. (The late messages
  /// of a run taken back from a lost node reach no actor at all, since its
  /// stand-in is gone; CAF drops them before anything here can count them.)
  std::uint64_t messages_dropped = 0;
  std::uint64_t messages_in = 0;  ///< from worker nodes
  std::uint64_t messages_out = 0; ///< to worker nodes
  std::uint64_t payload_bytes_in = 0;  ///< of the JSON they carried
  std::uint64_t payload_bytes_out = 0;
};

/// The JSON forms of both, as the service's `GET /api/nodes` shows them.
boost::json::value to_json(const node_stats& n);
boost::json::value to_json(const node_traffic& t);

} // namespace jobrt
