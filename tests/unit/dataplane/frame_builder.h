// Test helpers: Ethernet/802.1Q/IPv4/UDP frames and RTP/RTCP payloads built
// byte by byte, with both checksums computed from scratch (never incrementally),
// so that they can serve as the reference for the fast path's stages.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <ostream>
#include <vector>

#include "dataplane/checksum.h"
#include "dataplane_protocol/drop_reasons.h"
#include "dataplane/packet_parse.h"

namespace tandem::dp {

// Readable gtest failure messages (found by argument-dependent lookup).
inline void PrintTo(DropReason r, std::ostream* os) {
  *os << (index(r) < kDropReasonCount ? kDropReasonNames[index(r)] : "invalid drop reason");
}
inline void PrintTo(Verdict v, std::ostream* os) {
  constexpr const char* kNames[] = {"udp", "arp", "punt", "drop"};
  *os << (static_cast<size_t>(v) < 4 ? kNames[static_cast<size_t>(v)] : "invalid verdict");
}

}  // namespace tandem::dp

namespace tandem::dp::test {

using Mac = std::array<uint8_t, 6>;

inline constexpr uint16_t kEtherIpv4 = 0x0800;
inline constexpr uint16_t kEtherArp = 0x0806;
inline constexpr uint16_t kEtherVlan = 0x8100;
inline constexpr uint16_t kEtherIpv6 = 0x86dd;
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr size_t kEthLen = 14;
inline constexpr size_t kVlanLen = 4;
inline constexpr size_t kIpLen = 20;
inline constexpr size_t kUdpLen = 8;

// "192.0.2.1" -> network-order address (a literal in a test: asserts nothing).
inline uint32_t ipv4(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a.s_addr;
}

// Big-endian field access by offset, the way the RFCs number bytes.
inline uint16_t get_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t get_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put_be32(uint8_t* p, uint32_t v) {
  put_be16(p, static_cast<uint16_t>(v >> 16));
  put_be16(p + 2, static_cast<uint16_t>(v));
}

// A field as it sits in memory (network order), as the fast path loads it.
template <typename T>
T raw(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct FrameSpec {
  Mac dst_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  Mac src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  std::optional<uint16_t> vlan_tci;  // host order: PCP | DEI | VID
  uint16_t ether_type = kEtherIpv4;  // the one after the tag, if any
  uint8_t ip_version = 4;
  uint8_t ip_option_words = 0;       // IHL = 5 + this; options are NOPs
  uint8_t ttl = 61;
  uint8_t protocol = kProtoUdp;
  uint16_t frag = 0x4000;            // flags | fragment offset, host order (DF set)
  uint32_t src_ip = ipv4("192.0.2.10");
  uint32_t dst_ip = ipv4("198.18.0.1");
  uint16_t src_port = 5004;          // host order
  uint16_t dst_port = 30000;         // host order
  bool udp_checksum = true;          // false: sent as 0 ("none")
  std::vector<uint8_t> payload = std::vector<uint8_t>(20, 0xab);
  size_t ethernet_padding = 0;       // bytes after the IP datagram
};

inline size_t l3_offset(const FrameSpec& s) { return kEthLen + (s.vlan_tci ? kVlanLen : 0); }
inline size_t ip_header_len(const FrameSpec& s) { return kIpLen + 4u * s.ip_option_words; }

// The IPv4 header checksum of the header at `ip`, computed from scratch, in the
// byte order it is stored in.
inline uint16_t ipv4_checksum_reference(const uint8_t* ip) {
  const size_t ihl = (ip[0] & 0x0fu) * 4u;
  std::vector<uint8_t> h(ip, ip + ihl);
  h[10] = h[11] = 0;
  return static_cast<uint16_t>(~fold32(csum_partial(h.data(), static_cast<uint32_t>(ihl), 0)));
}

// The UDP checksum (pseudo-header, header and payload) of the datagram whose
// IPv4 header is at `ip`, from scratch; a computed zero is sent as all ones.
inline uint16_t udp_checksum_reference(const uint8_t* ip) {
  const size_t ihl = (ip[0] & 0x0fu) * 4u;
  const uint16_t udp_len = static_cast<uint16_t>(get_be16(ip + 2) - ihl);
  uint8_t pseudo[12] = {};
  std::memcpy(pseudo, ip + 12, 8);  // source and destination addresses
  pseudo[9] = ip[9];
  put_be16(pseudo + 10, udp_len);
  std::vector<uint8_t> seg(ip + ihl, ip + ihl + udp_len);
  seg[6] = seg[7] = 0;
  uint32_t sum = csum_partial(pseudo, sizeof pseudo, 0);
  sum = csum_partial(seg.data(), udp_len, sum);
  const auto check = static_cast<uint16_t>(~fold32(sum));
  return check == 0 ? 0xffff : check;
}

// Writes the frame at `out` (which must hold frame_size(s) bytes).
inline size_t frame_size(const FrameSpec& s) {
  return l3_offset(s) + ip_header_len(s) + kUdpLen + s.payload.size() + s.ethernet_padding;
}

inline void write_frame(const FrameSpec& s, uint8_t* out) {
  std::memset(out, 0, frame_size(s));
  std::memcpy(out, s.dst_mac.data(), 6);
  std::memcpy(out + 6, s.src_mac.data(), 6);
  uint8_t* p = out + 12;
  if (s.vlan_tci) {
    put_be16(p, kEtherVlan);
    put_be16(p + 2, *s.vlan_tci);
    p += kVlanLen;
  }
  put_be16(p, s.ether_type);

  uint8_t* ip = out + l3_offset(s);
  const size_t ihl = ip_header_len(s);
  const size_t udp_len = kUdpLen + s.payload.size();
  ip[0] = static_cast<uint8_t>((s.ip_version << 4) | (ihl / 4));
  put_be16(ip + 2, static_cast<uint16_t>(ihl + udp_len));
  put_be16(ip + 4, 0x1234);  // identification
  put_be16(ip + 6, s.frag);
  ip[8] = s.ttl;
  ip[9] = s.protocol;
  std::memcpy(ip + 12, &s.src_ip, 4);
  std::memcpy(ip + 16, &s.dst_ip, 4);
  std::memset(ip + kIpLen, 1, ihl - kIpLen);  // NOP options

  uint8_t* udp = ip + ihl;
  put_be16(udp, s.src_port);
  put_be16(udp + 2, s.dst_port);
  put_be16(udp + 4, static_cast<uint16_t>(udp_len));
  if (!s.payload.empty()) std::memcpy(udp + kUdpLen, s.payload.data(), s.payload.size());

  const uint16_t ip_check = ipv4_checksum_reference(ip);
  std::memcpy(ip + 10, &ip_check, 2);
  if (s.udp_checksum) {
    const uint16_t udp_check = udp_checksum_reference(ip);
    std::memcpy(udp + 6, &udp_check, 2);
  }
}

inline std::vector<uint8_t> build_frame(const FrameSpec& s) {
  std::vector<uint8_t> f(frame_size(s));
  write_frame(s, f.data());
  return f;
}

// RTP (RFC 3550 section 5.1) and RTCP payloads.
struct RtpSpec {
  uint8_t version = 2;
  bool marker = false;
  uint8_t payload_type = 0;  // PCMU
  uint16_t seq = 1;
  uint32_t timestamp = 160;
  uint32_t ssrc = 0x11223344;
  size_t media_bytes = 160;
};

inline std::vector<uint8_t> rtp_payload(const RtpSpec& r) {
  std::vector<uint8_t> p(12 + r.media_bytes, 0xd5);
  p[0] = static_cast<uint8_t>(r.version << 6);
  p[1] = static_cast<uint8_t>((r.marker ? 0x80 : 0) | (r.payload_type & 0x7f));
  put_be16(&p[2], r.seq);
  put_be32(&p[4], r.timestamp);
  put_be32(&p[8], r.ssrc);
  return p;
}

// A minimal RTCP packet: header + SSRC of sender, `bytes` long in total.
inline std::vector<uint8_t> rtcp_payload(uint8_t packet_type = 200, size_t bytes = 28, uint8_t version = 2) {
  std::vector<uint8_t> p(bytes, 0);
  if (bytes > 0) p[0] = static_cast<uint8_t>(version << 6);
  if (bytes > 1) p[1] = packet_type;
  if (bytes > 3) put_be16(&p[2], static_cast<uint16_t>(bytes / 4 - 1));
  return p;
}

}  // namespace tandem::dp::test
