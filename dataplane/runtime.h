// Everything the running dataplane owns, built by main() in start-up order and
// torn down in reverse. Housekeeping and the control handlers work on it; the
// workers see only WorkerShared.
#pragma once

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <atomic>
#include <memory>
#include <vector>

#include "dataplane/clock.h"
#include "dataplane/config.h"
#include "dataplane/neighbors.h"
#include "dataplane/ports.h"
#include "dataplane/session_table.h"
#include "dataplane/worker.h"

namespace tandem::dp {

// Written by the housekeeping thread only.
struct HousekeepingCounters {
  uint64_t injected[RTE_MAX_ETHPORTS] = {};  // kernel -> wire, by wire port
  uint64_t arp_requests = 0;
  uint64_t sessions_created = 0;
  uint64_t sessions_deleted = 0;
  uint32_t timeouts = 0;
};

struct Runtime {
  Config config;
  Clock clock;
  PortLayout layout{};
  Ports ports;
  rte_rcu_qsbr* rcu = nullptr;
  std::unique_ptr<SessionTable> sessions;
  std::unique_ptr<Neighbors> neighbors;
  rte_ring* arp_ring = nullptr;
  rte_ring* resolve_ring = nullptr;
  WorkerShared shared{};
  std::vector<std::unique_ptr<Worker>> workers;
  HousekeepingCounters counters;
  std::atomic<bool> stop{false};
};

// The workers' policers, for housekeeping to read (punt_policer.h).
inline std::vector<const PuntPolicer*> policers(const Runtime& rt) {
  std::vector<const PuntPolicer*> out;
  for (const auto& w : rt.workers) out.push_back(&w->policer);
  return out;
}

}  // namespace tandem::dp
