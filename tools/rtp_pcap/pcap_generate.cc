#include "tools/rtp_pcap/pcap_generate.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace tandem::rtp_pcap {
namespace {

constexpr uint32_t kSamplesPerPacket = 160;  // 20 ms at 8 kHz
constexpr uint32_t kPacketIntervalUs = 20000;
constexpr int64_t kStartUnixSec = 1704067200;  // fixed (2024-01-01 UTC) so that runs are reproducible
constexpr uint32_t kNtpUnixOffset = 2208988800u;  // seconds from 1900 (NTP) to 1970 (Unix)
constexpr uint8_t kTtl = 64;
constexpr uint8_t kRtpVersion2 = 0x80;
constexpr uint8_t kPayloadTypePcmu = 0;
constexpr uint8_t kRtcpPtSenderReport = 200;
constexpr size_t kMaxFrame = sizeof(EthHeader) + sizeof(VlanTag) + sizeof(Ipv4Header) + sizeof(UdpHeader) +
                             sizeof(RtpHeader) + kMaxPayloadBytes;

struct Flow {
  Mac src_mac, dst_mac;
  uint32_t src_ip, dst_ip;
  uint16_t src_port, dst_port;
};

// Session i sits on address pair i / ip_step_sessions, in port slot i % ip_step_sessions.
Flow rtp_flow(const GenerateOptions& o, uint32_t i) {
  const uint32_t per_pair = o.ip_step_sessions ? o.ip_step_sessions : o.sessions;
  const uint32_t pair = i / per_pair;
  const uint32_t slot = i % per_pair;
  Flow f{o.src_mac,
         o.dst_mac,
         o.src_ip + pair,
         o.dst_ip + pair,
         static_cast<uint16_t>(o.src_port_base + slot * o.port_step),
         static_cast<uint16_t>(o.dst_port_base + slot * o.port_step)};
  if (o.reverse) {
    std::swap(f.src_mac, f.dst_mac);
    std::swap(f.src_ip, f.dst_ip);
    std::swap(f.src_port, f.dst_port);
  }
  return f;
}

Flow rtcp_flow(Flow f) {
  ++f.src_port;
  ++f.dst_port;
  return f;
}

// RFC 3550 asks for random initial sequence numbers and timestamps; a hash of
// the SSRC looks random yet gives the same file on every run. (A 32-bit
// finaliser from Chris Wellons' hash-prospector.)
uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// Wraps `payload` in Ethernet [802.1Q] IPv4 UDP with both checksums set;
// returns the frame length.
size_t build_frame(uint8_t* frame, const Flow& f, uint16_t vlan, uint16_t ip_id, std::span<const uint8_t> payload) {
  size_t off = 0;
  store(frame, EthHeader{f.dst_mac, f.src_mac, htons(vlan ? kEtherTypeVlan : kEtherTypeIpv4)});
  off += sizeof(EthHeader);
  if (vlan) {
    store(frame + off, VlanTag{htons(vlan), htons(kEtherTypeIpv4)});
    off += sizeof(VlanTag);
  }
  const auto udp_len = static_cast<uint16_t>(sizeof(UdpHeader) + payload.size());
  uint8_t* ip = frame + off;
  store(ip, Ipv4Header{0x45, 0, htons(static_cast<uint16_t>(sizeof(Ipv4Header) + udp_len)), htons(ip_id),
                       htons(kIpFlagDf), kTtl, kIpProtoUdp, 0, htonl(f.src_ip), htonl(f.dst_ip)});
  store(ip + offsetof(Ipv4Header, checksum), htons(ipv4_checksum(ip, sizeof(Ipv4Header))));
  uint8_t* udp = ip + sizeof(Ipv4Header);
  store(udp, UdpHeader{htons(f.src_port), htons(f.dst_port), htons(udp_len), 0});
  std::copy(payload.begin(), payload.end(), udp + sizeof(UdpHeader));
  store(udp + offsetof(UdpHeader, checksum), htons(udp_checksum(ip, udp, udp_len)));
  return off + sizeof(Ipv4Header) + udp_len;
}

}  // namespace

std::string check_options(const GenerateOptions& o) {
  if (o.sessions == 0 || o.packets_per_session == 0) return "--sessions and --packets-per-session must be >= 1";
  if (o.payload_bytes > kMaxPayloadBytes) return fmt::format("--payload-bytes must be <= {}", kMaxPayloadBytes);
  if (o.vlan > 4094) return "--vlan must be 1..4094";
  if (o.port_step == 0) return "--port-step must be >= 1";
  if (o.rtcp_every && o.port_step < 2) {
    return "--rtcp-every needs --port-step >= 2: a session's RTCP port would be the next session's RTP port";
  }
  const uint32_t per_pair = o.ip_step_sessions ? std::min(o.ip_step_sessions, o.sessions) : o.sessions;
  const uint32_t pairs = (o.sessions - 1) / per_pair + 1;
  const uint64_t port_span = uint64_t{per_pair - 1} * o.port_step + (o.rtcp_every ? 1 : 0);
  for (const auto& [name, base] : {std::pair{"--src-port-base", o.src_port_base}, {"--dst-port-base", o.dst_port_base}}) {
    if (base == 0) return fmt::format("{} must be >= 1", name);
    if (base + port_span > 65535) {
      return fmt::format(
          "{} sessions per address pair need ports up to {} + {} = {} (> 65535); lower {} or --port-step, "
          "or spread the sessions over more addresses with --ip-step-sessions",
          per_pair, name, port_span, base + port_span, name);
    }
  }
  for (const auto& [name, ip] : {std::pair{"--src-ip", o.src_ip}, {"--dst-ip", o.dst_ip}}) {
    if (uint64_t{ip} + pairs - 1 > 0xffffffffu) {
      return fmt::format("{} address pairs starting at {} {} run past 255.255.255.255; raise --ip-step-sessions",
                         pairs, name, format_ipv4(ip));
    }
  }
  return {};
}

GenerateResult generate(const GenerateOptions& o) {
  GenerateResult r;
  if (r.error = check_options(o); !r.error.empty()) return r;

  std::unique_ptr<pcap_t, decltype(&pcap_close)> pcap(pcap_open_dead(DLT_EN10MB, 65535), pcap_close);
  if (!pcap) {
    r.error = "pcap_open_dead failed";
    return r;
  }
  std::unique_ptr<pcap_dumper_t, decltype(&pcap_dump_close)> dumper(pcap_dump_open(pcap.get(), o.out.c_str()),
                                                                     pcap_dump_close);
  if (!dumper) {
    r.error = fmt::format("cannot write {}: {}", o.out, pcap_geterr(pcap.get()));
    return r;
  }

  std::array<uint8_t, kMaxFrame> frame{};
  std::vector<uint8_t> rtp(sizeof(RtpHeader) + o.payload_bytes);
  std::array<uint8_t, sizeof(RtcpSenderReport)> rtcp{};
  uint16_t ip_id = 0;
  pcap_pkthdr hdr{};
  auto write = [&](const Flow& flow, std::span<const uint8_t> payload) {
    hdr.caplen = hdr.len = static_cast<bpf_u_int32>(build_frame(frame.data(), flow, o.vlan, ip_id++, payload));
    pcap_dump(reinterpret_cast<u_char*>(dumper.get()), &hdr, frame.data());
  };

  // Round-robin: packet k of every session, then packet k + 1, as the relay
  // sees many concurrent calls.
  for (uint32_t k = 0; k < o.packets_per_session; ++k) {
    const uint64_t elapsed_us = uint64_t{k} * kPacketIntervalUs;
    hdr.ts.tv_sec = static_cast<time_t>(kStartUnixSec + static_cast<int64_t>(elapsed_us / 1000000));
    hdr.ts.tv_usec = static_cast<suseconds_t>(elapsed_us % 1000000);
    const bool sr_due = o.rtcp_every && (k + 1) % o.rtcp_every == 0;

    for (uint32_t i = 0; i < o.sessions; ++i) {
      const uint32_t ssrc = o.ssrc_base + i;
      const uint32_t start = mix32(ssrc);
      const auto seq = static_cast<uint16_t>(start + k);
      const uint32_t timestamp = mix32(start) + k * kSamplesPerPacket;
      store(rtp.data(), RtpHeader{kRtpVersion2, kPayloadTypePcmu, htons(seq), htonl(timestamp), htonl(ssrc)});
      // Bytes that differ per packet and per offset, so that compare catches a
      // relay that sends another packet's payload or shifts it.
      for (size_t j = sizeof(RtpHeader); j < rtp.size(); ++j) rtp[j] = static_cast<uint8_t>(seq * 31u + j);
      const Flow flow = rtp_flow(o, i);
      write(flow, rtp);
      ++r.rtp_frames;

      if (sr_due) {
        const auto ntp_frac =
            static_cast<uint32_t>(((uint64_t{static_cast<uint32_t>(hdr.ts.tv_usec)} << 32) + 500000) / 1000000);
        store(rtcp.data(),
              RtcpSenderReport{kRtpVersion2, kRtcpPtSenderReport, htons(sizeof(RtcpSenderReport) / 4 - 1), htonl(ssrc),
                               htonl(static_cast<uint32_t>(hdr.ts.tv_sec) + kNtpUnixOffset), htonl(ntp_frac),
                               htonl(timestamp), htonl(k + 1), htonl((k + 1) * uint32_t{o.payload_bytes})});
        write(rtcp_flow(flow), rtcp);
        ++r.rtcp_frames;
      }
    }
  }

  // pcap_dump() does not report errors; a failed flush (disk full...) does.
  if (pcap_dump_flush(dumper.get()) != 0) r.error = fmt::format("writing {} failed", o.out);
  return r;
}

}  // namespace tandem::rtp_pcap
