// Human-readable explanations of routing decisions, for `tandemctl route`
// and logs: the rule that decided, and why each earlier one did not match.
#pragma once

#include <string>

#include "rules/snapshot.h"

namespace tandem::rules {

// One line per rule: "rule 12 (prio 10, \"office\"): caller +4930... is not +4940..."
std::string explain(const InboundDecision& d);
std::string explain(const OutboundDecision& d);
// The rule's conditions: "caller prefix +4930, mon-fri 08:00-18:00, 2026-12-24..2026-12-26".
std::string describe(const Rule& r);

}  // namespace tandem::rules
