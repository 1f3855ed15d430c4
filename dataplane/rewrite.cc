#include "dataplane/rewrite.h"

#include <arpa/inet.h>

#include <cstring>

#include "dataplane/checksum.h"

namespace tandem::dp {
namespace {

constexpr uint16_t kEtherTypeVlan = 0x8100;

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

// Adds, removes or re-tags the 802.1Q header; returns the new frame start.
uint8_t* set_vlan(uint8_t* frame, const ParsedPacket& p, uint16_t vlan) {
  if (vlan == 0 && !p.has_vlan) return frame;
  if (vlan != 0 && p.has_vlan) {
    const uint16_t tci = static_cast<uint16_t>((p.vlan_tci & 0xf000) | (vlan & 0x0fff));
    store(frame + 14, htons(tci));
    return frame;
  }
  if (vlan != 0) {
    uint8_t* f = frame - kVlanTagBytes;
    std::memmove(f, frame, 12);
    store(f + 12, htons(kEtherTypeVlan));
    store(f + 14, htons(vlan));
    return f;  // the original EtherType now follows the tag
  }
  std::memmove(frame + kVlanTagBytes, frame, 12);
  return frame + kVlanTagBytes;
}

}  // namespace

uint8_t* rewrite_frame(uint8_t* frame, const ParsedPacket& p, const Egress& e) {
  uint8_t* ip = frame + p.l3_offset;
  uint8_t* udp = frame + p.l4_offset;

  // IPv4: addresses and TTL change. TTL shares its 16-bit word with the protocol.
  uint16_t ip_check = load<uint16_t>(ip + 10);
  const uint16_t old_ttl_proto = load<uint16_t>(ip + 8);
  ip[8] = kRelayTtl;
  ip_check = csum_replace16(ip_check, old_ttl_proto, load<uint16_t>(ip + 8));
  const uint32_t old_src = load<uint32_t>(ip + 12);
  const uint32_t old_dst = load<uint32_t>(ip + 16);
  ip_check = csum_replace32(ip_check, old_src, e.to.src_ip);
  ip_check = csum_replace32(ip_check, old_dst, e.to.dst_ip);
  store(ip + 12, e.to.src_ip);
  store(ip + 16, e.to.dst_ip);
  store(ip + 10, ip_check);

  // UDP: the pseudo-header addresses and both ports change.
  const uint16_t udp_orig = load<uint16_t>(udp + 6);
  uint16_t udp_check = udp_orig;
  udp_check = csum_replace32(udp_check, old_src, e.to.src_ip);
  udp_check = csum_replace32(udp_check, old_dst, e.to.dst_ip);
  udp_check = csum_replace16(udp_check, load<uint16_t>(udp), e.to.src_port);
  udp_check = csum_replace16(udp_check, load<uint16_t>(udp + 2), e.to.dst_port);
  store(udp, e.to.src_port);
  store(udp + 2, e.to.dst_port);
  store(udp + 6, udp_csum_finish(udp_orig, udp_check));

  uint8_t* f = set_vlan(frame, p, e.vlan);
  std::memcpy(f, e.dst_mac, 6);
  std::memcpy(f + 6, e.src_mac, 6);
  return f;
}

}  // namespace tandem::dp
