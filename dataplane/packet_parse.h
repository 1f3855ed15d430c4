// Stage 1 of the fast path: classify a frame and find its Ethernet (optionally
// 802.1Q), IPv4 and UDP headers.
// Reads: the frame bytes. Writes: ParsedPacket (offsets and addresses, all in
// network byte order as they sit in the packet).
#pragma once

#include <cstdint>

#include "dataplane_protocol/drop_reasons.h"

namespace tandem::dp {

enum class Verdict : uint8_t {
  udp,   // IPv4/UDP, unfragmented, no options: a media candidate for the lookup
  arp,   // ARP: the exception path, after the neighbour table has learnt from it
  punt,  // anything else the node's kernel should see (ICMP, TCP, fragments, IPv6...)
  drop,  // malformed: counted under `reason`
};

struct ParsedPacket {
  uint16_t l3_offset;   // 14, or 18 behind an 802.1Q tag
  uint16_t l4_offset;   // l3_offset + 20
  uint16_t vlan_tci;    // host order, valid when has_vlan
  bool has_vlan;
  uint32_t src_ip;      // network order
  uint32_t dst_ip;      // network order
  uint16_t src_port;    // network order
  uint16_t dst_port;    // network order
  uint16_t payload_len; // UDP payload bytes
};

struct ParseResult {
  Verdict verdict;
  DropReason reason;  // valid when verdict == drop
};

ParseResult parse_frame(const uint8_t* frame, uint32_t len, ParsedPacket& out);

}  // namespace tandem::dp
