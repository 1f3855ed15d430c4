// A call's CDR (cdr/record.h) from what the call server knows when it ends:
// everything but the record id and, for a call whose media session is still
// being deleted, the legs' counters, which the dataplane's reply brings.
#pragma once

#include <string>

#include "cdr/record.h"
#include "control/server/call.h"

namespace tandem::control {

// The id is the one given at the answer (Call::cdr_id), 0 for a call never answered.
cdr::Record call_record(const Call& call, const std::string& dc, const std::string& node);

// The rate of the call's current target (nothing for a call that has none).
cdr::Tariff tariff(const Call& call);

}  // namespace tandem::control
