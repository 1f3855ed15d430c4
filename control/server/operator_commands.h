// tandem-control's operator commands, on the operator socket (control/operator_socket.h):
//   {"cmd":"stats"}                 counters, load, rules and CDR writer state
//   {"cmd":"calls"}                 the live calls
//   {"cmd":"call","id":"SERIAL|CALL-ID"}
//   {"cmd":"drain"} / {"cmd":"undrain"}  our OPTIONS answers tell the SBCs to send no new calls / to send again
//   {"cmd":"rules-reload"}          load the Rules DB now (on a thread of its own)
//   {"cmd":"cdr-stats"}             the CDR writer's counters
#pragma once

#include <nlohmann/json.hpp>

#include "cdr/writer.h"
#include "control/operator_socket.h"
#include "control/server/call_server.h"
#include "rules/reloader.h"

namespace tandem::control {

void add_server_commands(OperatorSocket& socket, CallServer& server, rules::Reloader& rules, cdr::Writer& cdrs);

nlohmann::json call_json(const Call& call, bool detail);

}  // namespace tandem::control
