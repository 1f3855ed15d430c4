// tandem-dataplane's Prometheus exposition (metrics/exposition.h): what the
// health reply says (sessions, mbufs, per worker its packets and polls, per
// port its NIC counters, bytes and link, drops by reason; the exception path's
// source tables), built by housekeeping on
// the main lcore once a second from the workers' counters as it reads them
// for tandemctl, and served off the worker lcores.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "dataplane/config.h"
#include "dataplane/punt_policer.h"
#include "dataplane_protocol/protocol.h"

namespace tandem::dp {

// The NIC's byte counters per port (the health reply carries packets only).
struct PortBytes {
  uint64_t rx = 0, tx = 0;
};
using PortsBytes = std::array<PortBytes, proto::kMaxPorts>;
PortsBytes read_port_bytes(const Config& config);

std::string dataplane_metrics(const proto::HealthReply& h, const PortsBytes& bytes, const PuntTableUse& punt,
                              const Config& config);

}  // namespace tandem::dp
