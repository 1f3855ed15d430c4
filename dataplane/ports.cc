#include "dataplane/ports.h"

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <string_view>

#include "dataplane/af_packet.h"

namespace tandem::dp {
namespace {

constexpr uint16_t kTapDesc = 512;
constexpr unsigned kMbufCache = 256;
constexpr unsigned kRxPoolCache = 64;  // big mbufs: a smaller cache per lcore

std::string mac_text(const rte_ether_addr& a) {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof buf, &a);
  return buf;
}

std::string rte_error(int rc) { return rte_strerror(rc < 0 ? -rc : rc); }

}  // namespace

uint32_t Ports::pool_size(const Config& c, const PortLayout& l) {
  if (c.mbufs) return c.mbufs;
  const uint32_t workers = l.worker_count;
  const uint32_t per_port = uint32_t{l.rx_queues} * c.rx_desc + uint32_t{l.wire_tx_queues()} * c.tx_desc +
                            (c.exception_path ? kTapDesc * 2u * l.tap_queues() : 0u);
  // Plus bursts in flight and TX buffers per worker and port, and the caches.
  const uint32_t in_flight = workers * c.burst * 4u * static_cast<uint32_t>(c.ports.size() * 2 + 1);
  return static_cast<uint32_t>(c.ports.size()) * per_port + in_flight + (workers + 1) * kMbufCache + 4096;
}

// A net_af_packet port's own receive pool: the PMD takes an mbuf per frame it
// copies out of its ring (no descriptor holds one), so only what is in flight
// counts: bursts being worked on, TX buffers, ARP on its way to housekeeping,
// and the caches.
uint32_t Ports::rx_pool_size(const Config& c, const PortLayout& l) {
  const uint32_t workers = l.worker_count;
  const uint32_t in_flight = workers * c.burst * 4u * static_cast<uint32_t>(c.ports.size() * 2 + 1);
  return in_flight + (workers + 1) * kRxPoolCache * 3 / 2 + 1024;
}

// The pool a wire port receives into: the shared one, unless the port is
// net_af_packet with ring slots bigger than its mbufs (af_packet.h): then one
// whose mbufs hold a whole slot, so that the datagrams its kernel reassembled
// arrive whole. Only those ports pay for the bigger mbufs.
rte_mempool* Ports::rx_pool_for(uint16_t port, const Config& c, const PortLayout& l, std::string& error) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0 || !info.driver_name ||
      std::string_view(info.driver_name) != "net_af_packet") {
    return pool_;
  }
  const rte_devargs* da = info.device ? rte_dev_devargs(info.device) : nullptr;
  const uint32_t framesz = af_packet_frame_size(da && da->args ? da->args : "");
  const uint32_t need = af_packet_mbuf_data(framesz);
  const uint32_t max_frame = af_packet_max_frame(framesz);
  const uint32_t max_payload = max_frame > 42 ? max_frame - 42 : 0;  // Ethernet, IPv4, UDP headers
  if (need + RTE_PKTMBUF_HEADROOM > UINT16_MAX) {
    error = "port " + std::to_string(port) + " (net_af_packet): framesz=" + std::to_string(framesz) +
            " needs mbufs bigger than DPDK has (framesz must be at most " +
            std::to_string(UINT16_MAX - RTE_PKTMBUF_HEADROOM + (framesz - need)) + ")";
    return nullptr;
  }
  rte_mempool* mp = pool_;
  if (need + RTE_PKTMBUF_HEADROOM > rte_pktmbuf_data_room_size(pool_)) {
    const std::string name = "tandem_rx" + std::to_string(framesz);
    mp = rte_mempool_lookup(name.c_str());
    if (!mp) {
      const uint32_t n = rx_pool_size(c, l);
      mp = rte_pktmbuf_pool_create(name.c_str(), n, kRxPoolCache, 0, static_cast<uint16_t>(need + RTE_PKTMBUF_HEADROOM),
                                   rte_eth_dev_socket_id(port));
      if (!mp) {
        error = "port " + std::to_string(port) + " (net_af_packet, framesz=" + std::to_string(framesz) +
                "): cannot create a receive pool of " + std::to_string(n) + " mbufs of " + std::to_string(need) +
                " bytes: " + rte_strerror(rte_errno) + " (reserve more memory, or give the vdev a smaller framesz=)";
        return nullptr;
      }
      pools_.push_back(mp);
    }
  }
  spdlog::info("port {}: net_af_packet ring slots of {} bytes: frames up to {} bytes (UDP payload up to {}) arrive "
               "whole, reassembled datagrams included; receive pool '{}', {} mbufs", port, framesz, max_frame,
               max_payload, mp->name, mp->size);
  return mp;
}

bool Ports::configure(uint16_t port, uint16_t rxq, uint16_t txq, const Config& c, rte_mempool* rx_pool,
                      std::string& error) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) {
    error = "port " + std::to_string(port) + ": no device info: " + rte_error(rc);
    return false;
  }
  if (rxq > info.max_rx_queues || txq > info.max_tx_queues) {
    error = "port " + std::to_string(port) + " (" + info.driver_name + ") supports " +
            std::to_string(info.max_rx_queues) + " RX and " + std::to_string(info.max_tx_queues) +
            " TX queues; " + std::to_string(rxq) + " and " + std::to_string(txq) +
            " needed (net_af_packet: add qpairs=N to its --vdev; or lower --rx-queues)";
    return false;
  }
  rte_eth_conf conf{};
  if (rxq > 1) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
  }
  // Media checksums are verified (worker.cc): by the NIC where it can, so that
  // the worker only reads its verdict; the virtual ports leave it to software.
  conf.rxmode.offloads |= info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
  if (int rc = rte_eth_dev_configure(port, rxq, txq, &conf); rc != 0) {
    error = "port " + std::to_string(port) + ": configure failed: " + rte_error(rc);
    return false;
  }
  uint16_t rx_desc = c.rx_desc, tx_desc = c.tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc);
  const int socket = rte_eth_dev_socket_id(port);
  for (uint16_t q = 0; q < rxq; ++q) {
    if (int rc = rte_eth_rx_queue_setup(port, q, rx_desc, socket, nullptr, rx_pool); rc != 0) {
      error = "port " + std::to_string(port) + ": RX queue " + std::to_string(q) + ": " + rte_error(rc);
      return false;
    }
  }
  for (uint16_t q = 0; q < txq; ++q) {
    if (int rc = rte_eth_tx_queue_setup(port, q, tx_desc, socket, nullptr); rc != 0) {
      error = "port " + std::to_string(port) + ": TX queue " + std::to_string(q) + ": " + rte_error(rc);
      return false;
    }
  }
  if (int rc = rte_eth_dev_start(port); rc != 0) {
    error = "port " + std::to_string(port) + ": start failed: " + rte_error(rc);
    return false;
  }
  started_.push_back(port);
  return true;
}

bool Ports::start(const Config& c, const PortLayout& layout, std::string& error) {
  const uint16_t probed = rte_eth_dev_count_avail();
  for (const PortConfig& p : c.ports) {
    if (p.port_id >= probed) {
      error = "--port " + std::to_string(p.port_id) + ": only " + std::to_string(probed) +
              " DPDK ports were probed (give them with -a or --vdev)";
      return false;
    }
  }
  const unsigned pool_n = pool_size(c, layout);
  pool_ = rte_pktmbuf_pool_create("tandem_mbufs", pool_n, kMbufCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                  static_cast<int>(rte_socket_id()));
  if (!pool_) {
    error = "cannot create a pool of " + std::to_string(pool_n) + " mbufs: " + rte_strerror(rte_errno) +
            " (reserve more memory with -m or hugepages, or lower --mbufs)";
    return false;
  }
  pools_.assign(1, pool_);

  views_.assign(RTE_MAX_ETHPORTS, PortView{});
  for (const PortConfig& p : c.ports) {
    PortView& v = views_[p.port_id];
    v.ip = p.ip;
    v.netmask = htonl(p.prefix_len == 32 ? 0xffffffffu : ~(0xffffffffu >> p.prefix_len));
    v.gateway = p.gateway;
    v.vlan = p.vlan;
    rte_eth_macaddr_get(p.port_id, &v.mac);
    wire_.push_back(p.port_id);

    if (c.exception_path) {
      // The tap carries the wire port's MAC so that the kernel's frames leave
      // with the right source and its ARP replies name the right address.
      const std::string name = "net_tap_" + p.tap_name;
      const std::string args = "iface=" + p.tap_name + ",mac=" + mac_text(v.mac);
      if (int rc = rte_vdev_init(name.c_str(), args.c_str()); rc != 0) {
        error = "cannot create exception interface " + p.tap_name + ": " + rte_error(rc) +
                " (needs root and /dev/net/tun)";
        return false;
      }
      if (rte_eth_dev_get_port_by_name(name.c_str(), &v.tap) != 0) {
        error = "exception interface " + p.tap_name + " has no port";
        return false;
      }
    }
  }
  for (const PortConfig& p : c.ports) {
    rte_mempool* rx_pool = rx_pool_for(p.port_id, c, layout, error);
    if (!rx_pool || !configure(p.port_id, layout.rx_queues, layout.wire_tx_queues(), c, rx_pool, error)) return false;
    PortView& v = views_[p.port_id];
    if (v.tap != kNoPort) {
      if (!configure(v.tap, layout.tap_queues(), layout.tap_queues(), c, pool_, error)) return false;
      if (int rc = rte_eth_dev_get_mtu(v.tap, &v.tap_mtu); rc != 0) {
        error = "exception interface " + p.tap_name + ": no MTU: " + rte_error(rc);
        return false;
      }
    }
    char ip[INET_ADDRSTRLEN];
    in_addr a{p.ip};
    spdlog::info("port {}: {}/{}{} mac {} role '{}' exception {} ({} RX, {} TX queues)", p.port_id,
                 inet_ntop(AF_INET, &a, ip, sizeof ip), p.prefix_len,
                 p.more_ips.empty() ? "" : fmt::format(" and {} more relay addresses", p.more_ips.size()),
                 mac_text(v.mac), p.role,
                 v.tap != kNoPort ? p.tap_name : std::string("off"), layout.rx_queues, layout.wire_tx_queues());
  }
  return true;
}

void Ports::stop() {
  for (uint16_t p : started_) {
    rte_eth_dev_stop(p);
    rte_eth_dev_close(p);
  }
  started_.clear();
}

}  // namespace tandem::dp
