// A leg's configuration and counters as the control protocol reports them,
// read with relaxed atomics from whichever thread asks.
#pragma once

#include <cstdint>

#include "dataplane_protocol/protocol.h"
#include "dataplane/leg.h"

namespace tandem::dp {

void read_leg_info(const Session& s, unsigned leg, uint32_t now_ms, proto::LegInfo& out);

}  // namespace tandem::dp
