// tandem-control's Prometheus exposition (control/metrics.h serves it).
#pragma once

#include <string>

#include "cdr/writer.h"
#include "control/server/call_server.h"
#include "rules/reloader.h"

namespace tandem::control {

// On the SIP thread: the call counters, calls up and capacity, draining, the
// rules, the CDR writer, sofia-sip's counts.
std::string server_metrics(CallServer& server, const rules::Reloader& rules, const cdr::Writer& cdrs);

}  // namespace tandem::control
