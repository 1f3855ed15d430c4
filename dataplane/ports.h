// The dataplane's ports: the wire ports the operator names with --port, and for
// each one an exception port (net_tap) through which the node's kernel sends
// and receives everything that is not media.
#pragma once

#include <rte_ether.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/config.h"

namespace tandem::dp {

inline constexpr uint16_t kNoPort = UINT16_MAX;

// What workers need to know about a wire port, read-only after start.
struct PortView {
  uint32_t ip = 0;        // network order
  uint32_t netmask = 0;   // network order
  uint32_t gateway = 0;   // network order, 0 = none
  uint16_t vlan = 0;
  uint16_t tap = kNoPort; // its exception port
  uint16_t tap_mtu = RTE_ETHER_MTU;  // the exception port's, as DPDK knows it
  rte_ether_addr mac{};

  // The longest frame sent to the exception port as it is (net_tap refuses
  // frames over its MTU + 22 bytes); longer ones are fragmented.
  uint32_t tap_max_frame() const { return uint32_t{tap_mtu} + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN; }

  // The address to resolve to reach `dst`: itself on the connected subnet,
  // else the gateway (0: unreachable).
  uint32_t next_hop(uint32_t dst) const { return ((dst ^ ip) & netmask) == 0 ? dst : gateway; }
};

// Wire ports have one TX queue per worker (what the kernel sends reaches the
// wire through a worker, see inject rings); exception ports have one more, for
// housekeeping, and as many RX queues (net_tap wants them equal), all polled
// by housekeeping.
struct PortLayout {
  uint16_t worker_count;
  uint16_t rx_queues;     // per wire port, for workers
  uint16_t wire_tx_queues() const { return worker_count; }
  uint16_t tap_queues() const { return static_cast<uint16_t>(worker_count + 1); }
  uint16_t housekeeping_queue() const { return worker_count; }
};

class Ports {
 public:
  // Probes and starts everything; on failure says why.
  bool start(const Config& c, const PortLayout& layout, std::string& error);
  void stop();

  // Indexed by DPDK port id; only wire ports are filled in.
  const std::vector<PortView>& views() const { return views_; }
  const std::vector<uint16_t>& wire_ports() const { return wire_; }
  rte_mempool* pool() const { return pool_; }
  // Every mbuf pool: pool() first, then the receive pools of net_af_packet
  // ports whose ring slots need bigger mbufs (af_packet.h).
  const std::vector<rte_mempool*>& pools() const { return pools_; }
  static uint32_t pool_size(const Config& c, const PortLayout& layout);
  static uint32_t rx_pool_size(const Config& c, const PortLayout& layout);

 private:
  bool configure(uint16_t port, uint16_t rxq, uint16_t txq, const Config& c, rte_mempool* rx_pool,
                 std::string& error);
  rte_mempool* rx_pool_for(uint16_t port, const Config& c, const PortLayout& layout, std::string& error);
  std::vector<PortView> views_;
  std::vector<uint16_t> wire_;
  std::vector<uint16_t> started_;
  rte_mempool* pool_ = nullptr;
  std::vector<rte_mempool*> pools_;
};

}  // namespace tandem::dp
