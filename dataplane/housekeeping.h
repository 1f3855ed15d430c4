// The main lcore's loop: the exception path from the kernel to the wire, ARP
// (learning and our own requests), the control socket, idle timeouts and the
// periodic stats line. Everything that writes the session and neighbour
// tables runs here, so they have a single writer.
#pragma once

#include "dataplane/control_handlers.h"
#include "dataplane/control_server.h"
#include "dataplane/runtime.h"

namespace tandem::dp {

void housekeeping_run(Runtime& rt, ControlServer& server, ControlHandlers& handlers);

}  // namespace tandem::dp
