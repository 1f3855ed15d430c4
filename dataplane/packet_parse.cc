#include "dataplane/packet_parse.h"

#include <arpa/inet.h>

#include <cstring>

namespace tandem::dp {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint8_t kProtoUdp = 17;
constexpr uint32_t kEthHeader = 14;
constexpr uint32_t kVlanTag = 4;
constexpr uint32_t kIpv4Header = 20;
constexpr uint32_t kUdpHeader = 8;

uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

constexpr ParseResult drop(DropReason r) { return {Verdict::drop, r}; }
constexpr ParseResult verdict(Verdict v) { return {v, DropReason::truncated}; }

void read_addresses(const uint8_t* ip, const uint8_t* udp, ParsedPacket& out) {
  out.src_ip = load32(ip + 12);
  out.dst_ip = load32(ip + 16);
  out.src_port = load16(udp);
  out.dst_port = load16(udp + 2);
  out.l4_known = true;
}

// UDP that is legal but not ours to relay: the first fragment of a datagram,
// or a header with IP options. Its ports are read when they are in the frame.
ParseResult unrelayable_udp(const uint8_t* ip, uint32_t ihl, uint32_t available, ParsedPacket& out) {
  if (available >= ihl + kUdpHeader) read_addresses(ip, ip + ihl, out);
  return {Verdict::punt, DropReason::unrelayable};
}

}  // namespace

ParseResult parse_frame(const uint8_t* frame, uint32_t len, ParsedPacket& out) {
  if (len < kEthHeader) return drop(DropReason::truncated);
  uint32_t l3 = kEthHeader;
  uint16_t ether_type = ntohs(load16(frame + 12));
  out.has_vlan = false;
  out.l4_known = false;
  if (ether_type == kEtherTypeVlan) {
    if (len < kEthHeader + kVlanTag) return drop(DropReason::truncated);
    out.has_vlan = true;
    out.vlan_tci = ntohs(load16(frame + 14));
    ether_type = ntohs(load16(frame + 16));
    l3 += kVlanTag;
  }
  out.l3_offset = static_cast<uint16_t>(l3);
  if (ether_type == kEtherTypeArp) return verdict(Verdict::arp);
  if (ether_type != kEtherTypeIpv4) return verdict(Verdict::punt);

  if (len < l3 + kIpv4Header) return drop(DropReason::truncated);
  const uint8_t* ip = frame + l3;
  const uint8_t version = ip[0] >> 4;
  const uint32_t ihl = (ip[0] & 0x0f) * 4u;
  const uint32_t total = ntohs(load16(ip + 2));
  if (version != 4 || ihl < kIpv4Header) return drop(DropReason::bad_ip_header);
  // Options and fragments are legal but never media we relay: the kernel deals
  // with them (a fragmented SIP INVITE is reassembled there).
  const uint16_t frag = ntohs(load16(ip + 6));
  const bool udp = ip[9] == kProtoUdp;
  const bool udp_candidate = udp && ihl == kIpv4Header && (frag & 0x3fff) == 0;
  if (udp_candidate && len < l3 + kIpv4Header + kUdpHeader) return drop(DropReason::truncated);
  // Ethernet may pad a short frame, so the frame can be longer than the datagram,
  // never shorter.
  if (total < ihl || total > len - l3) return drop(DropReason::bad_ip_header);
  if (udp && !udp_candidate && (frag & 0x1fff) == 0) return unrelayable_udp(ip, ihl, total, out);
  if (!udp_candidate) return verdict(Verdict::punt);

  if (total < kIpv4Header + kUdpHeader) return drop(DropReason::truncated);
  const uint8_t* udp_header = ip + kIpv4Header;
  const uint32_t udp_len = ntohs(load16(udp_header + 4));
  if (udp_len != total - kIpv4Header) return drop(DropReason::bad_udp_length);

  out.l4_offset = static_cast<uint16_t>(l3 + kIpv4Header);
  read_addresses(ip, udp_header, out);
  out.payload_len = static_cast<uint16_t>(udp_len - kUdpHeader);
  return verdict(Verdict::udp);
}

Link check_link(const uint8_t* frame, const ParsedPacket& p, const uint8_t port_mac[6], uint16_t port_vlan) {
  const uint16_t vlan = p.has_vlan ? (p.vlan_tci & 0x0fff) : 0;
  if (vlan != port_vlan) return Link::wrong_vlan;
  if (frame[0] & 0x01) return Link::group;  // the I/G bit: broadcast is a multicast address too
  return load32(frame) == load32(port_mac) && load16(frame + 4) == load16(port_mac + 4) ? Link::own
                                                                                        : Link::foreign;
}

}  // namespace tandem::dp
