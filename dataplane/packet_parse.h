// Stage 1 of the fast path: classify a frame and find its Ethernet (optionally
// 802.1Q), IPv4 and UDP headers (parse_frame), then whether the receiving port
// may take it as its own: its MAC, its VLAN (check_link).
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

// The deepest headers parse_frame reads: Ethernet, 802.1Q, IPv4 with options, UDP.
inline constexpr uint32_t kMaxHeaderBytes = 14 + 4 + 60 + 8;

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
  // dst_ip and dst_port are known (udp, and the first fragment or an IPv4
  // header with options of a UDP datagram): a punted frame addressed to a
  // relay port is refused rather than handed to the kernel, whose "port
  // unreachable" would reach the sender.
  bool l4_known;
};

struct ParseResult {
  Verdict verdict;
  // drop: why. punt with l4_known: why it cannot be media (unrelayable).
  DropReason reason;
};

ParseResult parse_frame(const uint8_t* frame, uint32_t len, ParsedPacket& out);

// How a parsed frame's link header matches the port it came in on.
enum class Link : uint8_t {
  own,         // to the port's MAC, in its VLAN (untagged when it has none)
  group,       // broadcast or multicast MAC, in its VLAN: the kernel's, never media
  foreign,     // another host's MAC
  wrong_vlan,  // tagged on an untagged port, untagged on a tagged one, or another VLAN id
};

// `port_vlan`: the port's VLAN id, 0 = untagged.
Link check_link(const uint8_t* frame, const ParsedPacket& p, const uint8_t port_mac[6], uint16_t port_vlan);

}  // namespace tandem::dp
