#include "bench/rtp_load_port.h"

#include <rte_arp.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <netinet/in.h>
#include <time.h>

#include <cstring>

namespace tandem::bench::rtpload {
namespace {

constexpr uint16_t kDescriptors = 1024;
constexpr unsigned kMbufCache = 256;
constexpr uint8_t kDscpExpedited = 0xb8;  // EF, as phones mark voice

std::string port_error(uint16_t port, const char* what, int rc) {
  return "port " + std::to_string(port) + ": " + what + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

void sleep_ms(long ms) {
  timespec ts{0, ms * 1'000'000};
  nanosleep(&ts, nullptr);
}

}  // namespace

bool attach(uint16_t port, uint32_t mbufs, int timeout_ms, Wire& wire, std::string& error) {
  if (!rte_eth_dev_is_valid_port(port)) {
    error = "no DPDK port " + std::to_string(port) + " (give the memif with --vdev net_memif0,...)";
    return false;
  }
  wire.port = port;
  wire.pool = rte_pktmbuf_pool_create("rtp_load_mbufs", mbufs, kMbufCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                      rte_eth_dev_socket_id(port));
  if (!wire.pool) {
    error = "cannot create a pool of " + std::to_string(mbufs) + " mbufs: " + rte_strerror(rte_errno) +
            " (reserve more memory: -m, or hugepages)";
    return false;
  }
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc != 0) {
    error = port_error(port, "configure", rc);
    return false;
  }
  uint16_t rx_desc = kDescriptors, tx_desc = kDescriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc);
  const int socket = rte_eth_dev_socket_id(port);
  if (int rc = rte_eth_rx_queue_setup(port, 0, rx_desc, socket, nullptr, wire.pool); rc != 0) {
    error = port_error(port, "RX queue", rc);
    return false;
  }
  if (int rc = rte_eth_tx_queue_setup(port, 0, tx_desc, socket, nullptr); rc != 0) {
    error = port_error(port, "TX queue", rc);
    return false;
  }
  if (int rc = rte_eth_dev_start(port); rc != 0) {
    error = port_error(port, "start", rc);
    return false;
  }
  rte_eth_macaddr_get(port, &wire.mac);
  rte_eth_link link{};
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) return true;
    sleep_ms(10);
  }
  error = "port " + std::to_string(port) + ": no link after " + std::to_string(timeout_ms) +
          " ms (is the dataplane's net_memif role=server on the same socket=?)";
  return false;
}

void detach(const Wire& wire) {
  rte_eth_dev_stop(wire.port);
  rte_eth_dev_close(wire.port);
}

void write_rtp_frame(const Wire& wire, const Streams& streams, uint32_t i, uint32_t k, rte_mbuf* m) {
  const Stream& st = streams.legs()[i];
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, kFrameBytes));
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  auto* rtp = reinterpret_cast<uint8_t*>(udp + 1);
  rte_ether_addr_copy(&wire.dataplane_mac, &eth->dst_addr);
  rte_ether_addr_copy(&wire.mac, &eth->src_addr);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = kDscpExpedited;
  ip->total_length = rte_cpu_to_be_16(sizeof *ip + sizeof *udp + kRtpBytes);
  ip->packet_id = 0;
  ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->hdr_checksum = 0;
  ip->src_addr = st.remote_ip;
  ip->dst_addr = st.local_ip;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  udp->src_port = rte_cpu_to_be_16(st.remote_port);
  udp->dst_port = rte_cpu_to_be_16(st.local_port);
  udp->dgram_len = rte_cpu_to_be_16(sizeof *udp + kRtpBytes);
  udp->dgram_cksum = 0;
  streams.write_rtp(i, k, rtp);
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
}

rte_mbuf* arp_announce(const Wire& wire, uint32_t ip_net, uint32_t target_net) {
  rte_mbuf* m = rte_pktmbuf_alloc(wire.pool);
  if (!m) return nullptr;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)));
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  std::memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
  rte_ether_addr_copy(&wire.mac, &eth->src_addr);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
  arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = RTE_ETHER_ADDR_LEN;
  arp->arp_plen = 4;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
  rte_ether_addr_copy(&wire.mac, &arp->arp_data.arp_sha);
  arp->arp_data.arp_sip = ip_net;
  std::memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
  arp->arp_data.arp_tip = target_net;
  return m;
}

Received classify(const Wire& wire, Streams& streams, rte_mbuf* m, rte_mbuf** reply,
                  std::optional<RelayedRtp>* relayed) {
  *reply = nullptr;
  relayed->reset();
  if (m->nb_segs != 1 || m->data_len < sizeof(rte_ether_hdr)) return Received::unknown;
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  const uint16_t type = rte_be_to_cpu_16(eth->ether_type);

  if (type == RTE_ETHER_TYPE_ARP) {
    if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) return Received::arp_other;
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    const uint32_t asked = arp->arp_data.arp_tip;
    if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) || !streams.is_remote(asked)) {
      return Received::arp_other;
    }
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    arp->arp_data.arp_tha = arp->arp_data.arp_sha;
    arp->arp_data.arp_tip = arp->arp_data.arp_sip;
    rte_ether_addr_copy(&wire.mac, &arp->arp_data.arp_sha);
    arp->arp_data.arp_sip = asked;
    rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
    rte_ether_addr_copy(&wire.mac, &eth->src_addr);
    *reply = m;
    return Received::arp_answered;
  }

  if (type != RTE_ETHER_TYPE_IPV4 || m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr)) {
    return Received::unknown;
  }
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
  if (ip->version_ihl != RTE_IPV4_VHL_DEF || ip->next_proto_id != IPPROTO_UDP) return Received::unknown;
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
  const uint16_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
  const uint32_t room = m->data_len - static_cast<uint32_t>(sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr));
  if (udp_len < sizeof(rte_udp_hdr) + kRtpHeaderBytes || udp_len > room) return Received::unknown;
  const uint32_t i = streams.find_by_local(ip->src_addr, rte_be_to_cpu_16(udp->src_port));
  if (i == UINT32_MAX) return Received::unknown;
  const Stream& st = streams.legs()[i];
  if (ip->dst_addr != st.remote_ip || rte_be_to_cpu_16(udp->dst_port) != st.remote_port) return Received::misdirected;
  const auto k = streams.account(i, reinterpret_cast<const uint8_t*>(udp + 1),
                                 udp_len - static_cast<uint32_t>(sizeof(rte_udp_hdr)));
  if (k) *relayed = RelayedRtp{i ^ 1u, *k};
  return Received::rtp;
}

}  // namespace tandem::bench::rtpload
