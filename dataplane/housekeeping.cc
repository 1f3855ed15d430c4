#include "dataplane/housekeeping.h"

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "dataplane/metrics.h"
#include "dataplane_protocol/drop_reasons.h"
#include "dataplane/packet_parse.h"

namespace tandem::dp {
namespace {

constexpr unsigned kBurst = 32;
constexpr uint32_t kIdleScanMs = 1000;

void send_all(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  const uint16_t sent = rte_eth_tx_burst(port, queue, pkts, n);
  for (uint16_t i = sent; i < n; ++i) rte_pktmbuf_free(pkts[i]);
}

// Wire ports have no TX queue of ours: hand the frames to the worker that owns
// the port's first queue.
void send_to_wire(Runtime& rt, uint16_t port, rte_mbuf** pkts, uint16_t n) {
  for (uint16_t i = 0; i < n; ++i) pkts[i]->port = port;
  Worker& w = *rt.workers[port % rt.workers.size()];
  const unsigned queued = rte_ring_sp_enqueue_burst(w.inject, reinterpret_cast<void**>(pkts), n, nullptr);
  for (unsigned i = queued; i < n; ++i) rte_pktmbuf_free(pkts[i]);
}

// Kernel -> wire: what the node's IP stack sends (SIP, ARP, ICMP) leaves as is.
unsigned pump_from_kernel(Runtime& rt) {
  unsigned total = 0;
  rte_mbuf* pkts[kBurst];
  for (uint16_t port : rt.ports.wire_ports()) {
    const uint16_t tap = rt.ports.views()[port].tap;
    if (tap == kNoPort) continue;
    for (uint16_t q = 0; q < rt.layout.tap_queues(); ++q) {
      const uint16_t n = rte_eth_rx_burst(tap, q, pkts, kBurst);
      if (!n) continue;
      rt.counters.injected[port] += n;
      send_to_wire(rt, port, pkts, n);
      total += n;
    }
  }
  return total;
}

// ARP seen by workers: learn the sender, then let the kernel have it too.
unsigned learn_arp(Runtime& rt) {
  void* items[kBurst];
  const unsigned n = rte_ring_sc_dequeue_burst(rt.arp_ring, items, kBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = static_cast<rte_mbuf*>(items[i]);
    ParsedPacket p;
    parse_frame(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, p);
    if (m->data_len >= p.l3_offset + sizeof(rte_arp_hdr)) {
      const auto* arp = rte_pktmbuf_mtod_offset(m, const rte_arp_hdr*, p.l3_offset);
      if (arp->arp_hardware == htons(RTE_ARP_HRD_ETHER) && arp->arp_protocol == htons(RTE_ETHER_TYPE_IPV4) &&
          arp->arp_data.arp_sip != 0 && !rte_is_multicast_ether_addr(&arp->arp_data.arp_sha)) {
        rt.neighbors->learn(m->port, arp->arp_data.arp_sip, arp->arp_data.arp_sha.addr_bytes);
      }
    }
    const uint16_t tap = rt.ports.views()[m->port].tap;
    if (tap == kNoPort) {
      rte_pktmbuf_free(m);
    } else {
      send_all(tap, rt.layout.housekeeping_queue(), &m, 1);
    }
  }
  return n;
}

rte_mbuf* build_arp_request(Runtime& rt, uint16_t port, uint32_t target_ip) {
  const PortView& v = rt.ports.views()[port];
  rte_mbuf* m = rte_pktmbuf_alloc(rt.ports.pool());
  if (!m) return nullptr;
  const uint16_t l2 = v.vlan ? sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr) : sizeof(rte_ether_hdr);
  auto* frame = rte_pktmbuf_mtod(m, uint8_t*);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
  std::memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
  rte_ether_addr_copy(&v.mac, &eth->src_addr);
  if (v.vlan) {
    eth->ether_type = htons(RTE_ETHER_TYPE_VLAN);
    auto* tag = reinterpret_cast<rte_vlan_hdr*>(eth + 1);
    tag->vlan_tci = htons(v.vlan);
    tag->eth_proto = htons(RTE_ETHER_TYPE_ARP);
  } else {
    eth->ether_type = htons(RTE_ETHER_TYPE_ARP);
  }
  auto* arp = reinterpret_cast<rte_arp_hdr*>(frame + l2);
  arp->arp_hardware = htons(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = htons(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = RTE_ETHER_ADDR_LEN;
  arp->arp_plen = 4;
  arp->arp_opcode = htons(RTE_ARP_OP_REQUEST);
  rte_ether_addr_copy(&v.mac, &arp->arp_data.arp_sha);
  arp->arp_data.arp_sip = v.ip;
  std::memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
  arp->arp_data.arp_tip = target_ip;
  m->data_len = m->pkt_len = l2 + sizeof(rte_arp_hdr);
  return m;
}

// Next hops the workers could not resolve: ask for them, once a second at most.
unsigned resolve_neighbors(Runtime& rt, uint32_t now_ms) {
  void* items[kBurst];
  const unsigned n = rte_ring_sc_dequeue_burst(rt.resolve_ring, items, kBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    const auto req = reinterpret_cast<uintptr_t>(items[i]);
    const auto port = static_cast<uint16_t>(req >> 32);
    const auto ip = static_cast<uint32_t>(req);
    if (rt.neighbors->lookup(port, ip) || !rt.neighbors->should_request(port, ip, now_ms)) continue;
    rte_mbuf* m = build_arp_request(rt, port, ip);
    if (!m) continue;
    ++rt.counters.arp_requests;
    send_to_wire(rt, port, &m, 1);
  }
  return n;
}

void log_stats(const ControlHandlers& handlers) {
  proto::HealthReply h;
  handlers.fill_health(h);
  uint64_t rx = 0, relayed = 0, dropped = 0;
  for (unsigned w = 0; w < h.workers && w < proto::kMaxWorkers; ++w) {
    rx += h.worker[w].rx;
    relayed += h.worker[w].relayed;
  }
  for (uint64_t d : h.drops) dropped += d;
  spdlog::info("stats: sessions {}/{} rx {} relayed {} dropped {} mbufs {}/{} clients {}", h.sessions,
               h.max_sessions, rx, relayed, dropped, h.mbufs_in_use, h.mbufs_total, h.clients);
}

}  // namespace

void housekeeping_run(Runtime& rt, ControlServer& server, ControlHandlers& handlers, metrics::TextServer* metrics) {
  uint32_t next_idle_scan = rt.clock.now_ms() + kIdleScanMs;
  uint32_t next_metrics = rt.clock.now_ms();
  uint32_t next_stats = rt.clock.now_ms() + rt.config.stats_interval_s * 1000;
  const uint32_t idle_ms = rt.config.idle_timeout_s * 1000;
  const uint32_t offer_ms = rt.config.offer_timeout_s * 1000;
  int wait_ms = 0;
  while (!rt.stop.load(std::memory_order_relaxed)) {
    const uint32_t now = rt.clock.now_ms();
    unsigned work = pump_from_kernel(rt) + learn_arp(rt) + resolve_neighbors(rt, now);
    if (server.poll(wait_ms)) ++work;
    if (handlers.settle()) ++work;
    // Housekeeping is not on the media path: when idle it waits up to 1 ms in
    // both poll modes rather than take CPU a worker could use. Not while
    // deletes wait for their grace period: that is one poll round of a busy
    // worker (a sleeping one is offline: settled at once), microseconds, and
    // their replies would otherwise wait the whole millisecond.
    wait_ms = work || handlers.retiring() ? 0 : 1;

    if ((idle_ms || offer_ms) && static_cast<int32_t>(now - next_idle_scan) >= 0) {
      next_idle_scan = now + kIdleScanMs;
      const auto ids = rt.sessions->idle(now, idle_ms, offer_ms);
      if (!ids.empty()) handlers.expire(ids);
    }
    if (rt.config.stats_interval_s && static_cast<int32_t>(now - next_stats) >= 0) {
      next_stats = now + rt.config.stats_interval_s * 1000;
      log_stats(handlers);
    }
    if (metrics && static_cast<int32_t>(now - next_metrics) >= 0) {
      next_metrics = now + 1000;
      proto::HealthReply h;
      handlers.fill_health(h);
      metrics->publish(dataplane_metrics(h, read_port_bytes(rt.config), table_use(policers(rt)), rt.config));
    }
  }
}

}  // namespace tandem::dp
