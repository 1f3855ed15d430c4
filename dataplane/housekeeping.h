// The main lcore's loop: the exception path from the kernel to the wire, ARP
// (learning and our own requests), the control socket, idle timeouts, the
// periodic stats line and the metrics' text. Everything that writes the session and neighbour
// tables runs here, so they have a single writer.
#pragma once

#include "dataplane/control_handlers.h"
#include "dataplane/control_server.h"
#include "dataplane/runtime.h"
#include "metrics/exposition.h"

namespace tandem::dp {

// `metrics`: where the exposition is published once a second, or nullptr.
void housekeeping_run(Runtime& rt, ControlServer& server, ControlHandlers& handlers, metrics::TextServer* metrics);

}  // namespace tandem::dp
