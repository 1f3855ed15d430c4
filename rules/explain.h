// Human-readable explanations of routing decisions, for `tandemctl route`
// and logs: the rule that decided, and why each earlier one did not match.
#pragma once

#include <string>

#include "rules/menu.h"
#include "rules/snapshot.h"

namespace tandem::rules {

// One line per rule: "rule 12 (prio 10, \"office\"): caller +4930... is not +4940..."
std::string explain(const InboundDecision& d);
std::string explain(const OutboundDecision& d);
// Where a caller's entries led from a menu (follow_menus): each menu when it
// is entered (its prompt, timeouts, retries, options), each entry's outcome,
// then the action or the menu still waiting. `c`: the menus' customer.
std::string explain(const MenuPath& p, const Customer& c);
// "menu 7 \"main\": prompt /p/main.wav, first key within 10 s, ..." and one line per option.
std::string describe(const Menu& m);
// The rule's conditions: "caller prefix +4930, mon-fri 08:00-18:00, 2026-12-24..2026-12-26".
std::string describe(const Rule& r);

}  // namespace tandem::rules
