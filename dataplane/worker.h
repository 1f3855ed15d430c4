// A worker lcore: run to completion over its RX queues. Per burst:
// RX -> parse -> index lookup -> relay (latch, stats) -> rewrite -> buffered TX,
// and the rest, policed, to the exception path. No locks, no allocation, no syscalls
// (but the idle sleep of adaptive mode).
#pragma once

#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/clock.h"
#include "dataplane/config.h"
#include "dataplane_protocol/drop_reasons.h"
#include "dataplane/neighbors.h"
#include "dataplane/ports.h"
#include "dataplane/punt_policer.h"
#include "dataplane/session_table.h"

namespace tandem::dp {

// Written only by its worker; read by housekeeping with counter_read().
struct WorkerCounters {
  uint64_t rx;
  uint64_t relayed;
  uint64_t punted;
  uint64_t busy_polls;
  uint64_t idle_polls;
  uint64_t sleeps;
  uint64_t handed_off;  // packets of legs another worker owns, passed to it
  uint64_t sleep_cycles;  // TSC cycles asleep in the adaptive poll mode
  uint64_t drops[kDropReasonCount];
};

// What workers share, read-only once they run.
struct WorkerShared {
  SessionTable* sessions;
  const Neighbors* neighbors;
  const std::vector<PortView>* ports;   // by DPDK port id
  rte_ring* arp_ring;                   // ARP frames to housekeeping (it learns, then punts)
  rte_ring* resolve_ring;               // next hops to ask ARP for: port << 32 | ip
  rte_rcu_qsbr* rcu;
  // Each worker's ring of packets other workers hand it, by worker index;
  // empty with one worker, when every leg is its own.
  std::vector<rte_ring*> handoff;
  const Clock* clock;
  uint16_t burst;
  uint16_t rx_desc;                     // per RX queue: the adaptive mode's sleeps never fill them
  PollMode poll_mode;
  uint32_t idle_max_delay_us;           // adaptive mode's latency budget (idle_policy.h); 0 = the old policy
  bool exception_path;
  const std::atomic<bool>* stop;
};

struct RxQueueRef {
  uint16_t port;
  uint16_t queue;
};

struct alignas(64) Worker {
  unsigned index = 0;                   // RCU thread id, and TX queue index on every port
  std::vector<RxQueueRef> rx;
  rte_ring* inject = nullptr;           // frames from the kernel to send, mbuf->port = wire port
  rte_ring* handoff = nullptr;          // packets of legs it owns, from other workers (several workers)
  std::vector<rte_eth_dev_tx_buffer*> tx;  // by DPDK port id (wire and tap)
  const WorkerShared* shared = nullptr;
  // The exception path's slow lane: frames longer than the tap takes are cut
  // into IPv4 fragments (fragment.h) in mbufs of this pool; a chained frame is
  // first copied into `scratch`.
  rte_mempool* fragment_pool = nullptr;
  uint8_t* scratch = nullptr;           // kScratchBytes, from worker_prepare()
  PuntPolicer policer;                  // what of the exception path reaches the kernel
  WorkerCounters counters{};
};

inline constexpr uint32_t kScratchBytes = 65536 + 64;  // the largest IPv4 datagram and its L2 header

// Allocates the TX buffers (socket-local) for every port the worker may send
// on, and the scratch buffer.
bool worker_prepare(Worker& w, const std::vector<uint16_t>& tx_ports, int socket, std::string& error);
void worker_release(Worker& w);

// lcore entry point: arg is a Worker*.
int worker_main(void* arg);

// One pass over a received burst; exposed for the benchmark of the per-packet path.
void worker_process_burst(Worker& w, uint16_t rx_port, rte_mbuf** pkts, uint16_t n);

}  // namespace tandem::dp
