// The benchmarks' traffic: 214-byte Ethernet/IPv4/UDP/RTP frames (20 ms of
// G.711) for many flows, synthesised from one template so that feeding a
// million sessions needs no million pristine copies (which would themselves
// miss the cache). Writing a frame costs a 214-byte copy and a few stores with
// incremental checksums; the benchmarks measure that cost on its own and
// subtract it. Pure: no DPDK.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>

#include "dataplane/checksum.h"

namespace tandem::bench {

inline constexpr uint32_t kFrameBytes = 214;
inline constexpr uint32_t kPayloadBytes = 160;
inline constexpr uint32_t kIpOffset = 14;
inline constexpr uint32_t kUdpOffset = 34;
inline constexpr uint32_t kRtpOffset = 42;

// What varies per packet. Addresses and ports in network order.
struct FlowPacket {
  uint32_t src_ip;
  uint32_t dst_ip;
  uint16_t src_port;
  uint16_t dst_port;
  uint32_t ssrc;      // host order
  uint16_t seq;       // host order
  uint32_t rtp_ts;    // host order
};

class FrameTemplate {
 public:
  FrameTemplate(const uint8_t dst_mac[6], const uint8_t src_mac[6]) {
    std::memset(t_, 0, sizeof t_);
    std::memcpy(t_, dst_mac, 6);
    std::memcpy(t_ + 6, src_mac, 6);
    store16(t_ + 12, htons(0x0800));
    uint8_t* ip = t_ + kIpOffset;
    ip[0] = 0x45;
    store16(ip + 2, htons(static_cast<uint16_t>(kFrameBytes - kIpOffset)));
    store16(ip + 6, htons(0x4000));  // DF, as SIP phones send media
    ip[8] = 64;
    ip[9] = 17;
    uint8_t* udp = t_ + kUdpOffset;
    store16(udp + 4, htons(static_cast<uint16_t>(kFrameBytes - kUdpOffset)));
    uint8_t* rtp = t_ + kRtpOffset;
    rtp[0] = 0x80;  // v2, PT 0 (PCMU)
    std::memset(rtp + 12, 0xd5, kPayloadBytes);  // A-law silence: any bytes do
    // Checksums of the template with every varying field zero; each packet
    // then adds its own fields (RFC 1624), as a sender's NIC would have
    // computed them over the whole datagram.
    ip_check_base_ = static_cast<uint16_t>(~dp::fold32(dp::csum_partial(ip, 20, 0)));
    uint32_t pseudo = htons(17) + htons(static_cast<uint16_t>(kFrameBytes - kUdpOffset));
    udp_check_base_ = static_cast<uint16_t>(~dp::fold32(dp::csum_partial(udp, kFrameBytes - kUdpOffset, pseudo)));
  }

  void write(uint8_t* f, const FlowPacket& p) const {
    std::memcpy(f, t_, kFrameBytes);
    uint8_t* ip = f + kIpOffset;
    uint8_t* udp = f + kUdpOffset;
    uint8_t* rtp = f + kRtpOffset;
    store32(ip + 12, p.src_ip);
    store32(ip + 16, p.dst_ip);
    uint16_t ic = dp::csum_replace32(ip_check_base_, 0, p.src_ip);
    ic = dp::csum_replace32(ic, 0, p.dst_ip);
    store16(ip + 10, ic);

    const uint16_t seq = htons(p.seq);
    const uint32_t ts = htonl(p.rtp_ts);
    const uint32_t ssrc = htonl(p.ssrc);
    store16(udp, p.src_port);
    store16(udp + 2, p.dst_port);
    store16(rtp + 2, seq);
    store32(rtp + 4, ts);
    store32(rtp + 8, ssrc);
    uint16_t uc = dp::csum_replace32(udp_check_base_, 0, p.src_ip);
    uc = dp::csum_replace32(uc, 0, p.dst_ip);
    uc = dp::csum_replace16(uc, 0, p.src_port);
    uc = dp::csum_replace16(uc, 0, p.dst_port);
    uc = dp::csum_replace16(uc, 0, seq);
    uc = dp::csum_replace32(uc, 0, ts);
    uc = dp::csum_replace32(uc, 0, ssrc);
    store16(udp + 6, uc == 0 ? 0xffff : uc);
  }

 private:
  static void store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
  static void store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

  alignas(64) uint8_t t_[kFrameBytes];
  uint16_t ip_check_base_;
  uint16_t udp_check_base_;
};

}  // namespace tandem::bench
