// tandem-dataplane's Prometheus exposition (metrics/exposition.h): what the
// health reply says (sessions, mbufs, per worker its packets and polls, per
// port its NIC counters and link, drops by reason), built by housekeeping on
// the main lcore once a second from the workers' counters as it reads them
// for tandemctl, and served off the worker lcores.
#pragma once

#include <string>

#include "dataplane/config.h"
#include "dataplane_protocol/protocol.h"

namespace tandem::dp {

std::string dataplane_metrics(const proto::HealthReply& h, const Config& config);

}  // namespace tandem::dp
