// A media session: two legs, each the relay's side towards one remote party.
//
// Ownership: control (the housekeeping thread) writes the configuration before
// the session is published in the index and through the atomics after; the
// worker that owns a leg (below) writes its counters and RTP statistics and
// latches its remote. Readers of another owner's fields use relaxed atomics,
// so a counter read mid-update is at worst one packet old. One exception:
// control restarts a leg's last_rx_ms when it gives the leg a new remote (a
// relaxed store of a time, against the worker's own: either is right).
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/rtp_stats.h"
#include "dataplane_protocol/protocol.h"

namespace tandem::dp {

// An IPv4 transport address packed into one word so that workers read and
// latch it atomically: ip (network order) | RTP port | RTCP port (network order).
struct Remote {
  uint32_t ip = 0;
  uint16_t rtp_port = 0;
  uint16_t rtcp_port = 0;

  bool known() const { return ip != 0 && rtp_port != 0; }
  uint64_t pack() const {
    return uint64_t{ip} | (uint64_t{rtp_port} << 32) | (uint64_t{rtcp_port} << 48);
  }
  static Remote unpack(uint64_t v) {
    return {static_cast<uint32_t>(v), static_cast<uint16_t>(v >> 32), static_cast<uint16_t>(v >> 48)};
  }
  bool operator==(const Remote&) const = default;
};

// LegPath::flags are the protocol's LegInfo::flags, so that control reads them
// unchanged. Mode bits set by control:
inline constexpr uint8_t kLegLearn = proto::kModeLearn;    // take the remote from the first packet
inline constexpr uint8_t kLegStrict = proto::kModeStrict;  // once latched, drop other sources
inline constexpr uint8_t kLegLockAddress = proto::kModeLockAddress;  // a known remote's address only
inline constexpr uint8_t kLegLockPort = proto::kModeLockPort;        // and its port
inline constexpr uint8_t kLegNode = proto::kModeNode;  // the far end is the node's kernel
// State bits set by the worker.
inline constexpr uint8_t kLegLatchedRtp = proto::kFlagLatchedRtp;
inline constexpr uint8_t kLegLatchedRtcp = proto::kFlagLatchedRtcp;
inline constexpr uint8_t kLegModeMask = proto::kModeAll;
inline constexpr uint8_t kLegDefaultMode = proto::kModeDefault;

// A MAC address with a valid bit, in one word (bits 0-47 the address).
inline constexpr uint64_t kMacValid = uint64_t{1} << 63;
// LegPath::rx_link keeps, beside the MAC, which worker owns the leg: its index
// + 1 in bits 48-55, 0 until a worker claims it.
inline constexpr unsigned kOwnerShift = 48;
inline constexpr uint64_t kOwnerMask = uint64_t{0xff} << kOwnerShift;
inline constexpr uint64_t kLinkMacMask = ~kOwnerMask;

// A session's state is split by who writes it and how often, so that a packet
// of leg i touches two cache lines: `paths` (its own latch state and the other
// leg's addresses: mostly read, written when latching or by control) and
// `counters[i]` (written per packet by the one worker that owns leg i).
//
// With several workers, RSS spreads a leg's flows (RTP, RTCP on the odd port,
// a stray source) by their 5-tuple, so more than one worker may receive them.
// The first worker to receive one claims the leg (rx_link's owner bits) and
// the others hand it the leg's packets (worker.cc): a leg's latch state and
// counters have exactly one writer, while the two legs of a session may well
// be owned by two workers.

// What a leg's packets are checked against, and where the other leg's packets
// leave through it.
struct LegPath {
  std::atomic<uint64_t> remote;    // Remote::pack()
  std::atomic<uint64_t> rx_link;   // source MAC of this leg's last packet | kMacValid | owner
  uint32_t local_ip;               // network order
  uint16_t local_port;             // network order, even; RTCP uses local_port + 1
  std::atomic<uint8_t> flags;
  uint8_t port;                    // DPDK port this leg sends and receives on
  // Refused packets, counted by the owning worker: a refusal reads this line
  // anyway, and must not touch the per-packet line of an established flow.
  uint32_t drop_source;            // martian or refused by strict-source latching
  uint32_t drop_bad_rtp;
};
static_assert(sizeof(LegPath) == 32, "both legs' paths must share one cache line");

// Written by the worker that owns this leg, once per packet relayed.
struct alignas(64) LegCounters {
  uint64_t packets;                // RTP and RTCP relayed from this leg (RTP statistics
  uint64_t bytes;                  // also count what could not be relayed); UDP payload bytes
  uint32_t last_rx_ms;             // dataplane clock; wraps every 49 days, compared by difference
  uint32_t rtcp_packets;
  RtpStats rtp;
};
static_assert(sizeof(LegCounters) == 64, "one cache line per leg");

struct alignas(64) Session {
  LegPath paths[2];
  LegCounters counters[2];
};
static_assert(sizeof(Session) == 192);

// Relaxed single-writer counter updates: plain adds on x86, but race-free to
// read from another thread.
template <typename T>
inline void counter_add(T& c, T v) {
  std::atomic_ref<T> r(c);
  r.store(r.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}
template <typename T>
inline void counter_set(T& c, T v) {
  std::atomic_ref<T>(c).store(v, std::memory_order_relaxed);
}
template <typename T>
inline T counter_read(const T& c) {
  return std::atomic_ref<T>(const_cast<T&>(c)).load(std::memory_order_relaxed);
}

}  // namespace tandem::dp
