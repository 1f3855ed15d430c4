// One leg of a media session: the relay's side towards one remote party.
//
// Ownership: control (the housekeeping thread) writes the configuration before
// the session is published in the lookup table and through the atomics after;
// the worker that receives the leg's flow writes its counters and RTP statistics
// and latches the remote. Readers of another owner's fields use relaxed atomics,
// so a counter read mid-update is at worst one packet old.
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

// Leg::flags are the protocol's LegInfo::flags, so that control reads them
// unchanged. Mode bits set by control:
inline constexpr uint8_t kLegLearn = proto::kModeLearn;    // take the remote from the first packet
inline constexpr uint8_t kLegStrict = proto::kModeStrict;  // once latched, drop other sources
inline constexpr uint8_t kLegLockAddress = proto::kModeLockAddress;  // a known remote's address only
inline constexpr uint8_t kLegLockPort = proto::kModeLockPort;        // and its port
// State bits set by the worker.
inline constexpr uint8_t kLegLatchedRtp = proto::kFlagLatchedRtp;
inline constexpr uint8_t kLegLatchedRtcp = proto::kFlagLatchedRtcp;
inline constexpr uint8_t kLegModeMask = proto::kModeAll;
inline constexpr uint8_t kLegDefaultMode = proto::kModeDefault;

// A MAC address with a valid bit, in one word.
inline constexpr uint64_t kMacValid = uint64_t{1} << 63;

struct Leg {
  std::atomic<uint64_t> remote;    // Remote::pack()
  std::atomic<uint64_t> peer_mac;  // source MAC of this leg's last packet | kMacValid
  uint32_t local_ip;               // network order
  uint16_t local_port;             // network order, even; RTCP uses local_port + 1
  std::atomic<uint8_t> flags;
  uint8_t port;                    // DPDK port this leg sends and receives on
  // Written by the worker that receives this leg's flow.
  uint64_t packets;                // RTP and RTCP relayed from this leg (RTP statistics
  uint64_t bytes;                  // also count what could not be relayed); UDP payload bytes
  uint32_t last_rx_ms;             // dataplane clock; wraps every 49 days, compared by difference
  uint32_t rtcp_packets;
  uint32_t drop_source;            // refused by strict-source latching
  uint32_t drop_bad_rtp;
  RtpStats rtp;
};
static_assert(sizeof(Leg) == 96, "two legs must fit three cache lines");

struct Session {
  Leg legs[2];
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
