#include "dataplane/worker.h"

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <arpa/inet.h>
#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "dataplane/checksum.h"
#include "dataplane/fragment.h"
#include "dataplane/idle_policy.h"
#include "dataplane/packet_parse.h"
#include "dataplane/relay.h"
#include "dataplane/rewrite.h"

namespace tandem::dp {
namespace {

// Bounds the per-chunk arrays on the stack; a chunk's index entries are all
// prefetched before the first is read, and 64 of them stay well inside L1.
constexpr unsigned kChunk = 64;
constexpr unsigned kPrefetchAhead = 4;
// Session lines are prefetched this many packets ahead of the one relayed, not
// for the whole chunk at once: two lines per packet for 32 packets are more
// misses than the core keeps in flight, and measured 154 against 91 ns per
// packet at 100k sessions (bench/RESULTS.md, issue 16).
constexpr unsigned kSessionAhead = 8;
// nanosleep's default timer slack (50 us) would more than double the short
// sleeps of --idle-max-delay-us, and every packet waiting through them.
constexpr unsigned long kTimerSlackNs = 1000;

void drop(Worker& w, rte_mbuf* m, DropReason r) {
  counter_add(w.counters.drops[index(r)], uint64_t{1});
  rte_pktmbuf_free(m);
}

void send(Worker& w, uint16_t port, rte_mbuf* m) {
  rte_eth_tx_buffer(port, static_cast<uint16_t>(w.index), w.tx[port], m);
}

// A frame longer than the exception port takes (net_af_packet's kernel
// reassembled a fragmented datagram; or a jumbo frame): sent to the tap as IPv4
// fragments of its MTU, which the node's kernel reassembles. What cannot be cut
// (not IPv4, a broken header) or finds no mbufs is dropped as punt_full: the
// exception path could not take it.
[[gnu::noinline]] void punt_fragmented(Worker& w, rte_mbuf* m, const PortView& in) {
  if (m->pkt_len > kScratchBytes || !w.fragment_pool) return drop(w, m, DropReason::punt_full);
  // A chain is copied into the scratch buffer; one segment is read in place.
  const auto* frame = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, m->pkt_len, w.scratch));
  Ipv4Fragmenter f;
  if (!frame || !f.plan(frame, m->pkt_len, in.tap_mtu)) {
    return drop(w, m, DropReason::punt_full);
  }
  for (uint32_t i = 0; i < f.count(); ++i) {
    rte_mbuf* out = rte_pktmbuf_alloc(w.fragment_pool);
    const uint32_t size = f.frame_size(i);
    auto* data = out ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(out, static_cast<uint16_t>(size))) : nullptr;
    if (!data) {  // the fragments already sent time out in the kernel's reassembly
      rte_pktmbuf_free(out);
      return drop(w, m, DropReason::punt_full);
    }
    f.write(i, data);
    out->port = m->port;
    counter_add(w.counters.punted, uint64_t{1});
    send(w, in.tap, out);
  }
  rte_pktmbuf_free(m);
}

// The kernel's budget is spent before anything else is (fragmenting, the
// tap's queue, housekeeping's ARP ring), so that a flood costs the node no more
// than its drop.
bool policed(Worker& w, rte_mbuf* m, const PuntKey& key) {
  const auto reason = w.policer.admit(key, rte_rdtsc());
  if (reason) drop(w, m, *reason);
  return reason.has_value();
}

void punt(Worker& w, rte_mbuf* m, const PuntKey& key) {
  const PortView& in = (*w.shared->ports)[m->port];
  if (!w.shared->exception_path || in.tap == kNoPort) return drop(w, m, DropReason::not_media);
  if (policed(w, m, key)) return;
  if (m->pkt_len > in.tap_max_frame()) [[unlikely]] return punt_fragmented(w, m, in);
  counter_add(w.counters.punted, uint64_t{1});
  send(w, in.tap, m);
}

// A frame that is not media: the kernel's, unless it is addressed to a relay
// port of one of our relay addresses, where the kernel has no socket and would
// answer "port unreachable" to the sender. Then it is dropped under `reason`,
// why it could not be relayed.
void not_media(Worker& w, rte_mbuf* m, const ParsedPacket& p, DropReason reason) {
  if (p.l4_known && w.shared->sessions->index().entry(p.dst_ip, p.dst_port)) return drop(w, m, reason);
  punt(w, m, punt_key(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, p.l3_offset));
}

// What the port said of the checksums, where it said anything (RX offload);
// else our own verification. Only media is checked: the kernel checks the rest.
std::optional<DropReason> bad_checksum(const rte_mbuf* m, const uint8_t* frame, const ParsedPacket& p) {
  const uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
      (ip == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN && !ipv4_header_checksum_ok(frame + p.l3_offset, p.l4_offset - p.l3_offset))) {
    return DropReason::bad_ip_checksum;
  }
  const uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
      (l4 == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN &&
       !udp_checksum_ok(frame + p.l3_offset, frame + p.l4_offset, uint32_t{p.payload_len} + 8))) {
    return DropReason::bad_udp_checksum;
  }
  return std::nullopt;
}

// Housekeeping learns the sender's MAC from every ARP, then hands it to the
// kernel; without an exception path it only learns (the answers to its own
// requests among them: without them no next hop would ever resolve).
void punt_arp(Worker& w, rte_mbuf* m) {
  if (policed(w, m, PuntKey{PuntClass::arp, 0})) return;
  if (rte_ring_mp_enqueue(w.shared->arp_ring, m) != 0) return drop(w, m, DropReason::punt_full);
  if (w.shared->exception_path) counter_add(w.counters.punted, uint64_t{1});
}

// The destination MAC of the other leg: its remote's own MAC as last seen on
// its packets, else the neighbour table's entry for the next hop.
uint64_t destination_mac(Worker& w, const LegPath& out, uint32_t dst_ip) {
  const uint64_t seen = out.rx_link.load(std::memory_order_relaxed);
  if (seen & kMacValid) return seen & kLinkMacMask;
  const PortView& port = (*w.shared->ports)[out.port];
  const uint32_t hop = port.next_hop(dst_ip);
  if (hop == 0) return 0;
  const uint64_t mac = w.shared->neighbors->lookup(out.port, hop);
  if (!mac) {
    // Ask housekeeping to resolve it; if its ring is full it is asking already.
    const uintptr_t req = (uintptr_t{out.port} << 32) | hop;
    rte_ring_mp_enqueue(w.shared->resolve_ring, reinterpret_cast<void*>(req));
  }
  return mac;
}

void learn_peer_mac(LegPath& in, const uint8_t* frame) {
  const uint64_t link = in.rx_link.load(std::memory_order_relaxed);
  const uint64_t learnt = (link & kOwnerMask) | pack_mac(frame + 6);
  if (link != learnt) in.rx_link.store(learnt, std::memory_order_relaxed);
}

// With several workers, a leg is its owner's alone (leg.h): the first worker to
// receive one of its packets claims it, the others pass theirs on. True when
// the packet is no longer this worker's.
bool handed_to_owner(Worker& w, LegPath& in, rte_mbuf* m) {
  const std::vector<rte_ring*>& rings = w.shared->handoff;
  if (rings.empty()) return false;
  const uint64_t me = uint64_t{w.index + 1} << kOwnerShift;
  uint64_t link = in.rx_link.load(std::memory_order_acquire);
  if ((link & kOwnerMask) == me) return false;
  if (!(link & kOwnerMask) && in.rx_link.compare_exchange_strong(link, link | me, std::memory_order_acq_rel)) {
    return false;
  }
  const auto owner = static_cast<unsigned>((link & kOwnerMask) >> kOwnerShift) - 1;
  if (rte_ring_mp_enqueue(rings[owner], m) != 0) {
    drop(w, m, DropReason::handoff_full);
  } else {
    counter_add(w.counters.handed_off, uint64_t{1});
  }
  return true;
}

// Media for the node itself (a leg in kLegNode mode: the attendant in
// tandem-control answers on the relay's address and port). Relayed, not
// punted: it is counted on the session and never policed as exception traffic.
void deliver_to_node(Worker& w, rte_mbuf* m) {
  const PortView& in = (*w.shared->ports)[m->port];
  if (!w.shared->exception_path || in.tap == kNoPort) return drop(w, m, DropReason::no_destination);
  if (m->pkt_len > in.tap_max_frame()) return drop(w, m, DropReason::unrelayable);
  counter_add(w.counters.relayed, uint64_t{1});
  send(w, in.tap, m);
}

void relay_one(Worker& w, rte_mbuf* m, const ParsedPacket& p, uint32_t ref, const RelayClock& clock) {
  const unsigned leg = ref & 1;
  Session& s = w.shared->sessions->at(ref >> 1);
  if (handed_to_owner(w, s.paths[leg], m)) return;
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);

  if (const auto bad = bad_checksum(m, frame, p)) return drop(w, m, *bad);
  const RelayResult r = relay_packet(s, leg, p, frame + p.l4_offset + 8, clock);
  if (!r.forward) return drop(w, m, r.reason);
  learn_peer_mac(s.paths[leg], frame);
  if (r.to_node) return deliver_to_node(w, m);

  const uint64_t mac = destination_mac(w, s.paths[leg ^ 1], r.out.dst_ip);
  if (!mac) return drop(w, m, DropReason::no_neighbor);
  const PortView& port = (*w.shared->ports)[r.out.port];
  Egress e{r.out, {}, {}, port.vlan};
  std::memcpy(e.src_mac, port.mac.addr_bytes, 6);
  unpack_mac(mac, e.dst_mac);

  const bool grows = port.vlan != 0 && !p.has_vlan;
  if (grows && rte_pktmbuf_headroom(m) < kVlanTagBytes) return drop(w, m, DropReason::truncated);
  uint8_t* start = rewrite_frame(frame, p, e);
  if (start < frame) {
    rte_pktmbuf_prepend(m, kVlanTagBytes);
  } else if (start > frame) {
    rte_pktmbuf_adj(m, kVlanTagBytes);
  }
  m->ol_flags = 0;
  counter_add(w.counters.relayed, uint64_t{1});
  send(w, r.out.port, m);
}

// Up to kChunk packets in two passes, so that cache misses overlap instead of
// following one another: parse them all, prefetching the index entry of each
// UDP packet to one of our relay ports; then relay them, reading the entry and
// prefetching the two lines of session state kSessionAhead packets ahead.
void process_chunk(Worker& w, uint16_t rx_port, rte_mbuf** pkts, unsigned n, const RelayClock& clock) {
  ParsedPacket parsed[kChunk];
  const uint32_t* entries[kChunk];
  rte_mbuf* candidates[kChunk];
  unsigned nc = 0;

  const PortView& port = (*w.shared->ports)[rx_port];
  SessionTable& sessions = *w.shared->sessions;
  for (unsigned i = 0; i < n && i < kPrefetchAhead; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  for (unsigned i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
    rte_mbuf* m = pkts[i];
    m->port = rx_port;
    const uint8_t* frame = rte_pktmbuf_mtod(m, const uint8_t*);
    if (m->data_len < std::min(m->pkt_len, kMaxHeaderBytes)) {  // headers across segments: not ours to read
      punt(w, m, PuntKey{});
      continue;
    }
    ParsedPacket& p = parsed[nc];
    const ParseResult r = parse_frame(frame, m->pkt_len, p);
    if (r.verdict == Verdict::drop) {
      drop(w, m, r.reason);
      continue;
    }
    const Link link = check_link(frame, p, port.mac.addr_bytes, port.vlan);
    if (link == Link::wrong_vlan) {
      drop(w, m, DropReason::wrong_vlan);
      continue;
    }
    if (link == Link::foreign) {
      drop(w, m, DropReason::foreign_mac);
      continue;
    }
    if (r.verdict == Verdict::arp) {
      punt_arp(w, m);
    } else if (r.verdict == Verdict::punt) {
      not_media(w, m, p, r.reason);
    } else if (link == Link::group) {
      not_media(w, m, p, DropReason::foreign_mac);
    } else if (m->nb_segs != 1) {  // a chained jumbo frame is never our media
      not_media(w, m, p, DropReason::unrelayable);
    } else if (const uint32_t* e = sessions.index().entry(p.dst_ip, p.dst_port)) {
      rte_prefetch0(e);
      entries[nc] = e;
      candidates[nc++] = m;
    } else {
      // Not a relay port of ours: SIP and whatever else the node's kernel serves.
      not_media(w, m, p, DropReason::no_session);
    }
  }

  std::optional<uint32_t> refs[kChunk];
  auto fetch = [&](unsigned j) {
    refs[j] = SessionIndex::read(entries[j]);
    if (!refs[j]) return;
    const Session& s = sessions.at(*refs[j] >> 1);
    rte_prefetch0(&s.paths);
    rte_prefetch0(&s.counters[*refs[j] & 1]);
  };
  for (unsigned j = 0; j < nc && j < kSessionAhead; ++j) fetch(j);
  for (unsigned j = 0; j < nc; ++j) {
    if (j + kSessionAhead < nc) fetch(j + kSessionAhead);
    if (refs[j]) {
      relay_one(w, candidates[j], parsed[j], *refs[j], clock);
    } else {
      // Late media of an ended call is not the kernel's business either.
      not_media(w, candidates[j], parsed[j], DropReason::no_session);
    }
  }
}

void flush(Worker& w) {
  for (size_t port = 0; port < w.tx.size(); ++port) {
    if (w.tx[port]) rte_eth_tx_buffer_flush(static_cast<uint16_t>(port), static_cast<uint16_t>(w.index), w.tx[port]);
  }
}

// What the node's kernel sent (housekeeping took it off the tap) leaves through
// this worker's TX queue, so wire ports need no queue of their own for it.
unsigned send_injected(Worker& w) {
  void* items[kChunk];
  const unsigned n = rte_ring_sc_dequeue_burst(w.inject, items, kChunk, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    auto* m = static_cast<rte_mbuf*>(items[i]);
    send(w, m->port, m);
  }
  return n;
}

RelayClock relay_clock(const Worker& w) {
  const uint64_t now_us = w.shared->clock->now_us();
  return {static_cast<uint32_t>(now_us / 1000), now_us};
}

// Packets of legs this worker owns that RSS gave to another worker; they were
// counted as received there. Rare (a leg's RTCP on its odd port, a stray
// source), so taken one at a time.
unsigned take_handoffs(Worker& w) {
  if (!w.handoff) return 0;
  rte_mbuf* pkts[kChunk];
  const unsigned n = rte_ring_sc_dequeue_burst(w.handoff, reinterpret_cast<void**>(pkts), kChunk, nullptr);
  if (!n) return 0;
  const RelayClock clock = relay_clock(w);
  for (unsigned i = 0; i < n; ++i) process_chunk(w, pkts[i]->port, &pkts[i], 1, clock);
  return n;
}

// Offline to RCU while asleep, so that a writer waiting for quiescence does
// not wait for the sleep; the quiescent state of the poll before is reported.
// Returns the TSC cycles it took.
uint64_t idle_sleep(Worker& w, uint32_t sleep_us) {
  rte_rcu_qsbr_thread_offline(w.shared->rcu, w.index);
  const uint64_t start = rte_rdtsc();
  timespec ts{static_cast<time_t>(sleep_us / 1'000'000), static_cast<long>(sleep_us % 1'000'000) * 1000};
  nanosleep(&ts, nullptr);
  const uint64_t cycles = rte_rdtsc() - start;
  rte_rcu_qsbr_thread_online(w.shared->rcu, w.index);
  counter_add(w.counters.sleep_cycles, cycles);
  counter_add(w.counters.sleeps, uint64_t{1});
  return cycles;
}

}  // namespace

void worker_process_burst(Worker& w, uint16_t rx_port, rte_mbuf** pkts, uint16_t n) {
  const RelayClock clock = relay_clock(w);
  counter_add(w.counters.rx, uint64_t{n});
  for (unsigned off = 0; off < n; off += kChunk) {
    process_chunk(w, rx_port, pkts + off, std::min<unsigned>(kChunk, n - off), clock);
  }
}

bool worker_prepare(Worker& w, const std::vector<uint16_t>& tx_ports, int socket, std::string& error) {
  const uint16_t size = w.shared->burst;
  w.scratch = static_cast<uint8_t*>(rte_malloc_socket("tandem_scratch", kScratchBytes, RTE_CACHE_LINE_SIZE, socket));
  if (!w.scratch) {
    error = "cannot allocate a worker's scratch buffer";
    return false;
  }
  w.tx.assign(RTE_MAX_ETHPORTS, nullptr);
  for (uint16_t port : tx_ports) {
    auto* b = static_cast<rte_eth_dev_tx_buffer*>(
        rte_zmalloc_socket("tandem_tx", RTE_ETH_TX_BUFFER_SIZE(size), RTE_CACHE_LINE_SIZE, socket));
    if (!b) {
      error = "cannot allocate TX buffers";
      return false;
    }
    rte_eth_tx_buffer_init(b, size);
    rte_eth_tx_buffer_set_err_callback(b, rte_eth_tx_buffer_count_callback,
                                       &w.counters.drops[index(DropReason::tx_full)]);
    w.tx[port] = b;
  }
  return true;
}

void worker_release(Worker& w) {
  for (auto*& b : w.tx) {
    rte_free(b);
    b = nullptr;
  }
  rte_free(w.scratch);
  w.scratch = nullptr;
}

int worker_main(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  const WorkerShared& sh = *w.shared;
  rte_rcu_qsbr_thread_register(sh.rcu, w.index);
  rte_rcu_qsbr_thread_online(sh.rcu, w.index);
  std::vector<rte_mbuf*> burst(sh.burst);
  IdlePolicy idle(sh.rx_desc, sh.idle_max_delay_us);
  if (sh.poll_mode == PollMode::adaptive && idle.max_delay_us() > 0) prctl(PR_SET_TIMERSLACK, kTimerSlackNs);
  const uint64_t cycles_per_us = std::max<uint64_t>(1, rte_get_tsc_hz() / 1'000'000);

  while (!sh.stop->load(std::memory_order_relaxed)) {
    unsigned received = send_injected(w) + take_handoffs(w);
    bool full = false;
    for (const RxQueueRef& q : w.rx) {
      const uint16_t n = rte_eth_rx_burst(q.port, q.queue, burst.data(), sh.burst);
      if (n) {
        worker_process_burst(w, q.port, burst.data(), n);
        received += n;
        full |= n == sh.burst;
      }
    }
    flush(w);
    rte_rcu_qsbr_quiescent(sh.rcu, w.index);
    counter_add(received ? w.counters.busy_polls : w.counters.idle_polls, uint64_t{1});
    if (sh.poll_mode != PollMode::adaptive) continue;
    if (const uint32_t sleep_us = idle.after_poll(received, full)) {
      idle.slept(sleep_us, static_cast<uint32_t>(idle_sleep(w, sleep_us) / cycles_per_us));
    }
  }
  rte_rcu_qsbr_thread_offline(sh.rcu, w.index);
  rte_rcu_qsbr_thread_unregister(sh.rcu, w.index);
  return 0;
}

}  // namespace tandem::dp
