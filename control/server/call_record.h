// A call's CDR (cdr/record.h) from what the call server knows when it ends:
// everything but the record id and, for a call whose media session is still
// being deleted, the legs' counters, which the dataplane's reply brings.
#pragma once

#include <string>

#include "cdr/record.h"
#include "control/server/call.h"

namespace tandem::control {

cdr::Record call_record(const Call& call, const std::string& dc, const std::string& node);

}  // namespace tandem::control
