// tandem-sbc's Prometheus exposition (control/metrics.h serves it).
#pragma once

#include <string>

#include "control/sbc/sbc.h"

namespace tandem::control::sbc {

// On the SIP thread: the counters, the INVITEs in progress, per server its
// state, load, capacity, calls in flight, probe round trip, calls sent,
// answered and failed over; the providers' rules when there are any.
std::string sbc_metrics(Sbc& sbc);

}  // namespace tandem::control::sbc
