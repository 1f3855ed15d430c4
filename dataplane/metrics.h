// tandem-dataplane's Prometheus exposition (metrics/exposition.h): what the
// health reply says (sessions, mbufs, per worker its packets and polls, per
// port its NIC counters, bytes and link, drops by reason; the exception path's
// source tables), built by housekeeping on
// the main lcore once a second from the workers' counters as it reads them
// for tandemctl, and served off the worker lcores.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/config.h"
#include "dataplane/punt_policer.h"
#include "dataplane/worker.h"
#include "dataplane_protocol/protocol.h"

namespace tandem::dp {

// The NIC's byte counters per port (the health reply carries packets only).
struct PortBytes {
  uint64_t rx = 0, tx = 0;
};
using PortsBytes = std::array<PortBytes, proto::kMaxPorts>;
PortsBytes read_port_bytes(const Config& config);

// Seconds each worker slept (the health reply counts its sleeps only). Under
// --idle-max-delay-us nearly every poll finds packets, so busy / (busy + idle)
// polls reads 100 % at any load; 1 - the rate of this is the share of its core
// the worker kept, which follows the load.
using WorkersSleep = std::array<double, proto::kMaxWorkers>;
WorkersSleep read_workers_sleep(const std::vector<std::unique_ptr<Worker>>& workers);

std::string dataplane_metrics(const proto::HealthReply& h, const PortsBytes& bytes, const WorkersSleep& slept,
                              const PuntTableUse& punt, const Config& config);

}  // namespace tandem::dp
