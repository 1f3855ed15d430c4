// Stage 3 of the fast path: what to do with a UDP packet that hit a session.
// Reads: the parsed headers, the RTP/RTCP header, the session's paths and the
// receiving leg's counters. Writes: the receiving leg (latch, drops in its path;
// counters, RTP statistics). Pure: no DPDK, unit-tested.
#pragma once

#include <cstdint>

#include "dataplane_protocol/drop_reasons.h"
#include "dataplane/leg.h"
#include "dataplane/packet_parse.h"

namespace tandem::dp {

struct RelayClock {
  uint32_t now_ms;   // for idle timeouts
  uint64_t now_us;   // for RTP arrival times
};

// Where the packet leaves: the outgoing leg's addresses, ports in network order.
struct Forward {
  uint32_t src_ip;
  uint32_t dst_ip;
  uint16_t src_port;
  uint16_t dst_port;
  uint8_t port;       // DPDK port to send on
};

struct RelayResult {
  bool forward;
  bool to_node;       // with forward: to the node's kernel as it came (kLegNode), not to `out`
  DropReason reason;  // when !forward
  Forward out;
};

// Is this UDP payload RTCP? Odd relay ports carry only RTCP; on the RTP port,
// RTCP multiplexed per RFC 5761 has packet types 192..223 in its second octet.
inline bool is_rtcp(uint16_t local_port_host, const uint8_t* payload, uint16_t len) {
  if (local_port_host & 1) return true;
  return len >= 2 && payload[1] >= 192 && payload[1] <= 223;
}

// The checks, in the order relay_packet applies them: the RTP or RTCP header
// (RFC 3550 5.1, A.1, A.2), then the source (never a martian, then latching).
bool rtp_header_ok(const uint8_t* payload, uint16_t len);
bool rtcp_header_ok(const uint8_t* payload, uint16_t len);
// `own_net`: the leg's relay address.
bool is_martian(uint32_t src_net, uint32_t own_net);

// Checks, latches and counts a packet of leg `leg` of `s`; where it goes (the
// other leg's remote) or why it is dropped. The frame's checksums and link
// header were checked before (worker.cc).
RelayResult relay_packet(Session& s, unsigned leg, const ParsedPacket& p, const uint8_t* payload,
                         const RelayClock& clock);

}  // namespace tandem::dp
