// tandem-bench-rtp-load's side of the wire: the one DPDK port (net_memif,
// client role) that faces the dataplane's port, the frames it sends (RTP as
// the legs' remotes, ARP for their addresses) and what it makes of a frame the
// dataplane sent.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <optional>
#include <string>

#include "bench/rtp_load_streams.h"

namespace tandem::bench::rtpload {

inline constexpr uint32_t kFrameBytes = RTE_ETHER_HDR_LEN + 20 + 8 + kRtpBytes;  // 214

struct Wire {
  uint16_t port = 0;
  rte_ether_addr mac{};            // ours
  rte_ether_addr dataplane_mac{};  // where every frame goes
  rte_mempool* pool = nullptr;
};

// Configures and starts the port (one RX and one TX queue) and waits up to
// timeout_ms for its link: a memif link comes up once the server accepted us.
bool attach(uint16_t port, uint32_t mbufs, int timeout_ms, Wire& wire, std::string& error);
void detach(const Wire& wire);

// Fills m with leg i's k-th RTP frame: from its remote to its local address.
void write_rtp_frame(const Wire& wire, const Streams& streams, uint32_t i, uint32_t k, rte_mbuf* m);

// An ARP request from `ip` (one of the remotes) for `target`, broadcast: the
// dataplane learns where `ip` is before it relays anything toward it.
rte_mbuf* arp_announce(const Wire& wire, uint32_t ip_net, uint32_t target_net);

// What a received frame is, for the caller's counters.
enum class Received : uint8_t { rtp, arp_answered, arp_other, unknown, misdirected };

// A good relayed RTP frame: leg `sender`'s k-th packet.
struct RelayedRtp {
  uint32_t sender = 0;
  uint32_t k = 0;
};

// Accounts a relayed RTP frame to its leg (and, when good, says which packet
// it was in *relayed), or answers an ARP request for a remote's address by
// turning m into the reply (then *reply = m, which the caller sends; otherwise
// the caller frees m).
Received classify(const Wire& wire, Streams& streams, rte_mbuf* m, rte_mbuf** reply,
                  std::optional<RelayedRtp>* relayed);

}  // namespace tandem::bench::rtpload
