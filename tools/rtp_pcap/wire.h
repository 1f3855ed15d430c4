// Wire layouts, checksums and address text shared by `generate` and `compare`.
//
// The checksums are written here again rather than taken from dataplane/checksum.*
// on purpose: this tool is the reference the relay's output is checked against,
// so it must not share the relay's code (or its bugs).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::rtp_pcap {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint16_t kIpFlagDf = 0x4000;
inline constexpr uint16_t kIpFlagMf = 0x2000;
inline constexpr uint16_t kIpFragOffsetMask = 0x1fff;

using Mac = std::array<uint8_t, 6>;

// Header layouts with multi-byte fields in network order. Frames are byte
// arrays and headers are copied in and out with load()/store(): behind an
// 802.1Q tag the IPv4 header is only 2-byte aligned.
struct EthHeader {
  Mac dst;
  Mac src;
  uint16_t type;
};
static_assert(sizeof(EthHeader) == 14);

struct VlanTag {
  uint16_t tci;   // PCP(3) DEI(1) VID(12)
  uint16_t type;  // the encapsulated EtherType
};
static_assert(sizeof(VlanTag) == 4);

struct Ipv4Header {
  uint8_t version_ihl;
  uint8_t tos;
  uint16_t total_len;
  uint16_t id;
  uint16_t flags_frag;
  uint8_t ttl;
  uint8_t proto;
  uint16_t checksum;
  uint32_t src;
  uint32_t dst;
};
static_assert(sizeof(Ipv4Header) == 20);

struct UdpHeader {
  uint16_t src_port;
  uint16_t dst_port;
  uint16_t len;
  uint16_t checksum;
};
static_assert(sizeof(UdpHeader) == 8);

struct RtpHeader {
  uint8_t v_p_x_cc;
  uint8_t m_pt;
  uint16_t seq;
  uint32_t timestamp;
  uint32_t ssrc;
};
static_assert(sizeof(RtpHeader) == 12);

// RTCP sender report without report blocks (RFC 3550 6.4.1).
struct RtcpSenderReport {
  uint8_t v_p_rc;
  uint8_t pt;
  uint16_t length;  // in 32-bit words, minus one
  uint32_t ssrc;
  uint32_t ntp_sec;
  uint32_t ntp_frac;
  uint32_t rtp_timestamp;
  uint32_t packet_count;
  uint32_t octet_count;
};
static_assert(sizeof(RtcpSenderReport) == 28);

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void store(uint8_t* p, const T& v) {
  std::memcpy(p, &v, sizeof v);
}

// One's complement sum of big-endian 16-bit words (RFC 1071), not yet folded.
// A uint32_t cannot overflow below 128 KiB of input, far beyond any frame.
inline uint32_t sum_words(const uint8_t* p, size_t len, uint32_t sum = 0) {
  for (; len > 1; p += 2, len -= 2) sum += uint32_t{p[0]} << 8 | p[1];
  if (len) sum += uint32_t{p[0]} << 8;
  return sum;
}

inline uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The checksum (host order) an IPv4 header of `header_len` bytes should carry,
// computed as if its checksum field were zero, so that a received header can be
// checked against it and the value shown when it is wrong.
inline uint16_t ipv4_checksum(const uint8_t* ip, size_t header_len) {
  const uint32_t stored = uint32_t{ip[10]} << 8 | ip[11];
  return static_cast<uint16_t>(~fold(sum_words(ip, header_len) - stored));
}

// The checksum (host order) a UDP datagram of `udp_len` bytes carried in the
// IPv4 header `ip` should have, over the pseudo-header (RFC 768). A result of
// zero is sent as all ones, because zero on the wire means "no checksum".
inline uint16_t udp_checksum(const uint8_t* ip, const uint8_t* udp, size_t udp_len) {
  const uint32_t stored = uint32_t{udp[6]} << 8 | udp[7];
  uint32_t sum = sum_words(ip + 12, 8);  // source and destination addresses
  sum += kIpProtoUdp + static_cast<uint32_t>(udp_len);
  sum = sum_words(udp, udp_len, sum) - stored;
  const auto c = static_cast<uint16_t>(~fold(sum));
  return c == 0 ? 0xffff : c;
}

// Address text. IPv4 addresses are host order inside the tool.
std::optional<Mac> parse_mac(std::string_view text);
std::string format_mac(const Mac& mac);
std::optional<uint32_t> parse_ipv4(const std::string& text);
std::string format_ipv4(uint32_t ip);

}  // namespace tandem::rtp_pcap
