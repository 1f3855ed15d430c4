// tandem-sbc's operator commands, on the operator socket (control/operator_socket.h):
//   {"cmd":"servers"}                     every server: DC, state, load, in flight, probes, RTT, calls, failovers
//   {"cmd":"drain","server":"NAME"}       no new calls to it; its calls go on
//   {"cmd":"undrain","server":"NAME"}
//   {"cmd":"stats"}                       the SBC's counters and nta's
#pragma once

#include "control/operator_socket.h"
#include "control/sbc/sbc.h"

namespace tandem::control::sbc {

void add_sbc_commands(OperatorSocket& socket, Sbc& sbc);

}  // namespace tandem::control::sbc
