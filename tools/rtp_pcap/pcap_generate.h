// `generate`: a capture of G.711-like RTP sessions (and optionally their RTCP),
// byte for byte reproducible, to feed the relay and to build expected output.
#pragma once

#include <cstdint>
#include <string>

#include "tools/rtp_pcap/wire.h"

namespace tandem::rtp_pcap {

inline constexpr uint16_t kMaxPayloadBytes = 1460;  // keeps the IPv4 packet within a 1500-byte MTU

struct GenerateOptions {
  std::string out;                       // pcap path, "-" for stdout
  uint32_t sessions = 1;
  uint32_t packets_per_session = 1;
  Mac src_mac{0x02, 0, 0, 0, 0, 0x01};
  Mac dst_mac{0x02, 0, 0, 0, 0, 0x02};
  uint32_t src_ip = 0xc6120101;          // 198.18.1.1 (RFC 2544 benchmark range)
  uint32_t dst_ip = 0xc6120202;          // 198.18.2.2
  uint16_t src_port_base = 20000;
  uint16_t dst_port_base = 30000;        // the dataplane's default relay port range starts here
  uint16_t port_step = 2;                // RTP even, RTCP odd
  uint32_t ip_step_sessions = 0;         // sessions per address pair, 0 = all on one pair
  uint16_t payload_bytes = 160;          // 20 ms of G.711
  uint16_t vlan = 0;                     // 0 = untagged
  uint32_t rtcp_every = 0;               // RTP packets per session between SRs, 0 = no RTCP
  uint32_t ssrc_base = 0x10000000;
  bool reverse = false;                  // the answering side: MACs, addresses and ports swapped
};

// The checks that involve several options (port and address ranges); the
// message names the options to change. Empty when the options are usable.
std::string check_options(const GenerateOptions& o);

struct GenerateResult {
  uint64_t rtp_frames = 0;
  uint64_t rtcp_frames = 0;
  std::string error;  // empty on success
};

GenerateResult generate(const GenerateOptions& o);

}  // namespace tandem::rtp_pcap
