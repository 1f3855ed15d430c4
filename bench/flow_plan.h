// Who talks to whom in the benchmarks of the per-packet path: session s has
// leg 0 on the side-0 port and leg 1 on the side-1 port, each with a remote
// that sends to the leg's relay address. Pure: no DPDK.
//
// The session table keys a leg by (local address, even local port), and the
// dataplane gives each port one address, so a port holds at most 32,256 legs
// (relay ports 1024..65535). To hold 100k or 1M sessions the plan spreads legs
// over several relay addresses per side ("groups" of 32,256 sessions): see
// per_packet_bench.cc for how those reach the table.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "bench/rtp_frames.h"

namespace tandem::bench {

inline constexpr uint16_t kRelayPortMin = 1024;
inline constexpr uint16_t kRelayPortMax = 65535;
inline constexpr uint32_t kLegsPerAddress = (kRelayPortMax - kRelayPortMin + 1) / 2;  // 32,256
inline constexpr uint32_t kRemoteHosts = 250;     // per side
inline constexpr uint16_t kRemotePortBase = 2000;
inline constexpr uint32_t kSeed = 20240917;       // fixed: the same order in every run

inline uint32_t groups_for(uint32_t sessions) { return (sessions + kLegsPerAddress - 1) / kLegsPerAddress; }

// 198.18.0.0/16 on side 0, 198.19.0.0/16 on side 1 (RFC 2544's benchmarking range).
inline uint32_t ip(unsigned side, uint32_t third, uint32_t fourth) {
  return htonl((198u << 24) | ((18u + side) << 16) | (third << 8) | fourth);
}
inline uint32_t relay_ip(unsigned side, uint32_t group) { return ip(side, 0, 1 + group); }
inline uint32_t relay_port_ip(unsigned side) { return relay_ip(side, 0); }
inline uint32_t relay_netmask() { return htonl(0xffff0000u); }
inline uint16_t local_port_host(uint32_t session) {
  return static_cast<uint16_t>(kRelayPortMin + 2 * (session % kLegsPerAddress));
}
inline uint32_t remote_ip(unsigned side, uint32_t session) { return ip(side, 1, 2 + session % kRemoteHosts); }
inline uint32_t remote_ip_by_host(unsigned side, uint32_t host) { return ip(side, 1, 2 + host); }
inline uint16_t remote_port_host(uint32_t session) {
  return static_cast<uint16_t>(kRemotePortBase + 2 * (session / kRemoteHosts));
}
inline void remote_mac(unsigned side, uint32_t host, uint8_t mac[6]) {
  const uint8_t m[6] = {0x02, 0x00, 0x00, static_cast<uint8_t>(0xa0 + side), static_cast<uint8_t>(host >> 8),
                        static_cast<uint8_t>(host)};
  std::copy(m, m + 6, mac);
}

// The packet that session `s`'s remote on `side` sends in round `round`.
inline FlowPacket packet_of(unsigned side, uint32_t s, uint32_t round) {
  return FlowPacket{remote_ip(side, s),
                    relay_ip(side, s / kLegsPerAddress),
                    htons(remote_port_host(s)),
                    htons(local_port_host(s)),
                    0x10000000u + 2 * s + side,
                    static_cast<uint16_t>(round),
                    round * kPayloadBytes};
}

// Every session once, in a random order fixed by the seed. Each round through
// it gives every leg its next RTP packet (sequence + 1), as a real call does.
class FlowOrder {
 public:
  FlowOrder(uint32_t sessions, uint32_t seed) : order_(sessions) {
    std::iota(order_.begin(), order_.end(), 0u);
    std::mt19937 rng(seed);
    std::shuffle(order_.begin(), order_.end(), rng);
  }
  uint32_t next() {
    const uint32_t s = order_[pos_];
    if (++pos_ == order_.size()) {
      pos_ = 0;
      ++round_;
    }
    return s;
  }
  uint32_t round() const { return round_; }
  size_t size() const { return order_.size(); }

 private:
  std::vector<uint32_t> order_;
  size_t pos_ = 0;
  uint32_t round_ = 1;
};

}  // namespace tandem::bench
