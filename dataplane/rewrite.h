// Stage 4 of the fast path: turn a received frame into the frame the other leg
// sends, in place. Reads and writes: Ethernet/802.1Q, IPv4 and UDP headers.
// Checksums are updated incrementally (RFC 1624), never recomputed.
#pragma once

#include <cstdint>

#include "dataplane/packet_parse.h"
#include "dataplane/relay.h"

namespace tandem::dp {

inline constexpr uint8_t kRelayTtl = 64;
inline constexpr int kVlanTagBytes = 4;

struct Egress {
  Forward to;
  uint8_t src_mac[6];
  uint8_t dst_mac[6];
  uint16_t vlan;       // 802.1Q VLAN id of the outgoing port, 0 for untagged
};

// Rewrites the frame that starts at `frame`. When the outgoing port's tagging
// differs from the incoming frame's, the Ethernet header grows or shrinks by a
// VLAN tag: the frame then starts at frame - 4 or frame + 4 (the caller keeps
// headroom) and the return value says where, so the mbuf can follow.
uint8_t* rewrite_frame(uint8_t* frame, const ParsedPacket& p, const Egress& e);

}  // namespace tandem::dp
