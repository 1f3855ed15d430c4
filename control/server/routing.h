// From a rules decision to the list of places a call is offered to, in order:
// the customer's VM, a forward through least-cost routing, ring targets with
// their timeouts, or a refusal with its SIP code. Pure: no SIP stack.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cdr/record.h"
#include "rules/snapshot.h"

namespace tandem::control {

struct Target {
  std::string uri;                  // Request-URI of our INVITE
  std::string label;                // for logs and the CDR's target: "vm", "+4917...", "sip:..."
  uint16_t timeout_s = 0;           // ringing allowed; 0 = the server's --no-answer
  std::string provider;             // the carrier of an outbound leg, else empty
  rules::Id provider_id = 0;
  int64_t cost_micros = 0;          // its rate per minute
  uint32_t increment_s = 0;
  bool any_failure_moves_on = false;  // ring targets: busy or refused tries the next one too
};

struct Plan {
  cdr::Direction direction = cdr::Direction::inbound;
  std::string caller;               // normalised where it could be
  std::string called;
  std::string customer;
  std::vector<Target> targets;      // empty: refused, or a menu
  rules::Id menu_id = 0;            // not 0: the attendant answers and plays this menu
  int refuse_status = 0;            // when targets is empty
  std::string refuse_phrase;
  std::string why;                  // the decision, one line, for the log
};

// A call from a provider or the SBC to one of our numbers.
Plan plan_inbound(const rules::Snapshot& rules, std::string_view called, std::string_view caller,
                  rules::UtcSeconds now, const rules::ProviderLoad* load);
// Where `action` of `customer` leads, `decided` saying which rule chose it (for
// `why`); `p` has the call's numbers. A menu's extension is a number on the VM.
Plan plan_action(const rules::Snapshot& rules, const rules::Customer& customer, const rules::Action& action,
                 const std::string& decided, rules::UtcSeconds now, const rules::ProviderLoad* load, Plan p);
// A call from a customer's VM to `dialled`, out through the providers by cost.
Plan plan_outbound(const rules::Snapshot& rules, const rules::Customer& customer, std::string_view dialled,
                   std::string_view caller, rules::UtcSeconds now, const rules::ProviderLoad* load);

// "sip:user@host:port;params" -> "host:port" (what a Request-URI to a number there needs).
std::string_view uri_hostport(std::string_view uri);
// "sip:NUMBER@HOSTPORT" for a number at a provider or VM address.
std::string number_at(std::string_view number, std::string_view address_uri);

// The providers' and VMs' hosts that are IPv4 literals: who may send us calls,
// and, for a VM, whose customer places an outbound call.
struct PeerHost {
  uint32_t ip = 0;                  // host order
  const rules::Customer* customer = nullptr;  // a VM's; nullptr for a provider
  std::string name;
};
std::vector<PeerHost> peer_hosts(const rules::Snapshot& rules);

}  // namespace tandem::control
