#include "control/server/routing.h"

#include <arpa/inet.h>

#include <fmt/format.h>

namespace tandem::control {

std::string_view uri_hostport(std::string_view uri) {
  if (auto colon = uri.find(':'); colon != std::string_view::npos && uri.substr(0, colon).find('@') == std::string_view::npos)
    uri.remove_prefix(colon + 1);  // the scheme
  if (auto at = uri.find('@'); at != std::string_view::npos) uri.remove_prefix(at + 1);
  return uri.substr(0, uri.find_first_of(";?>"));
}

std::string number_at(std::string_view number, std::string_view address_uri) {
  return fmt::format("sip:{}@{}", number, uri_hostport(address_uri));
}

namespace {

Plan refused(Plan p, int status, std::string phrase, std::string why) {
  p.targets.clear();
  p.refuse_status = status;
  p.refuse_phrase = std::move(phrase);
  p.why = std::move(why);
  return p;
}

Target provider_target(std::string_view number, const rules::OutboundChoice& c) {
  Target t;
  t.uri = number_at(number, c.provider->sip_address);
  t.label = std::string(number);
  t.provider = c.provider->name;
  t.provider_id = c.provider->id;
  t.cost_micros = c.rate->cost_micros;
  t.increment_s = c.rate->increment_s;
  return t;
}

// A number reached through outbound routing: every provider by cost, for
// failover. `why` explains an empty result.
std::vector<Target> via_providers(const rules::Snapshot& rules, std::string_view number, rules::UtcSeconds now,
                                  const rules::ProviderLoad* load, std::string& why) {
  rules::OutboundDecision d = rules.route_outbound(number, now, load);
  std::vector<Target> out;
  if (!d.ok) {
    why = d.error;
    return out;
  }
  for (const auto& c : d.providers) out.push_back(provider_target(d.dialled, c));
  if (out.empty())
    why = d.skipped.empty() ? "no provider has a rate for " + d.dialled
                            : fmt::format("{} provider(s) with a rate are disabled or at capacity", d.skipped.size());
  return out;
}

std::string rule_text(const rules::InboundDecision& d) {
  if (!d.rule) return "the customer's default action";
  return d.rule->description.empty() ? fmt::format("rule {}", d.rule->id)
                                     : fmt::format("rule {} ({})", d.rule->id, d.rule->description);
}

}  // namespace

Plan plan_inbound(const rules::Snapshot& rules, std::string_view called, std::string_view caller,
                  rules::UtcSeconds now, const rules::ProviderLoad* load) {
  Plan p;
  p.direction = cdr::Direction::inbound;
  rules::InboundDecision d = rules.route_inbound(called, caller, now);
  p.called = d.called.empty() ? std::string(called) : d.called;
  p.caller = d.caller;
  switch (d.status) {
    case rules::InboundStatus::bad_number:
      return refused(std::move(p), 484, "Address Incomplete", "called number: " + d.error);
    case rules::InboundStatus::unknown_number:
      return refused(std::move(p), 404, "Not Found", p.called + " is not one of our numbers");
    case rules::InboundStatus::routed:
      break;
  }
  p.customer = d.customer->name;
  return plan_action(rules, *d.customer, *d.action, rule_text(d), now, load, std::move(p));
}

Plan plan_action(const rules::Snapshot& rules, const rules::Customer& customer, const rules::Action& a,
                 const std::string& decided, rules::UtcSeconds now, const rules::ProviderLoad* load, Plan p) {
  switch (a.kind) {
    case rules::ActionKind::voicemail: {
      Target t;
      t.uri = number_at(p.called, customer.vm_sip);
      t.label = "vm " + std::string(uri_hostport(customer.vm_sip));
      p.targets.push_back(std::move(t));
      p.why = decided + ": the customer's VM";
      return p;
    }
    case rules::ActionKind::extension: {
      Target t;
      t.uri = number_at(a.number, customer.vm_sip);
      t.label = fmt::format("extension {} on vm {}", a.number, uri_hostport(customer.vm_sip));
      p.targets.push_back(std::move(t));
      p.why = fmt::format("{}: extension {}", decided, a.number);
      return p;
    }
    case rules::ActionKind::forward: {
      std::string why;
      p.targets = via_providers(rules, a.number, now, load, why);
      if (p.targets.empty()) return refused(std::move(p), 503, "Service Unavailable", decided + ": forward: " + why);
      p.why = fmt::format("{}: forward to {} ({} provider(s))", decided, a.number, p.targets.size());
      return p;
    }
    case rules::ActionKind::ring: {
      for (const rules::RingTarget& r : a.ring) {
        if (r.target.starts_with("sip:") || r.target.starts_with("sips:")) {
          Target t;
          t.uri = r.target;
          t.label = r.target;
          t.timeout_s = r.timeout_s;
          t.any_failure_moves_on = true;
          p.targets.push_back(std::move(t));
          continue;
        }
        std::string why;
        auto providers = via_providers(rules, r.target, now, load, why);
        if (providers.empty()) continue;  // this one is unreachable now: ring the next
        Target t = std::move(providers.front());
        t.timeout_s = r.timeout_s;
        t.any_failure_moves_on = true;
        p.targets.push_back(std::move(t));
      }
      if (p.targets.empty()) return refused(std::move(p), 503, "Service Unavailable", decided + ": no ring target is reachable");
      p.why = fmt::format("{}: ring {} target(s) in order", decided, p.targets.size());
      return p;
    }
    case rules::ActionKind::menu:
      p.menu_id = a.menu_id;
      p.why = fmt::format("{}: automated attendant menu {}", decided, a.menu_id);
      return p;
    case rules::ActionKind::reject:
      return refused(std::move(p), a.sip_code, "Rejected", fmt::format("{}: reject with {}", decided, a.sip_code));
    case rules::ActionKind::repeat:
    case rules::ActionKind::hangup:
      break;  // the attendant's own: it acts on them without a plan
  }
  return refused(std::move(p), 500, "Server Internal Error", "unknown action");
}

Plan plan_outbound(const rules::Snapshot& rules, const rules::Customer& customer, std::string_view dialled,
                   std::string_view caller, rules::UtcSeconds now, const rules::ProviderLoad* load) {
  Plan p;
  p.direction = cdr::Direction::outbound;
  p.customer = customer.name;
  p.caller = std::string(caller);
  p.called = std::string(dialled);
  std::string why;
  p.targets = via_providers(rules, dialled, now, load, why);
  if (!p.targets.empty()) p.called = p.targets.front().label;
  if (p.targets.empty()) {
    rules::OutboundDecision d = rules.route_outbound(dialled, now, load);
    if (!d.ok) return refused(std::move(p), 484, "Address Incomplete", "dialled number: " + d.error);
    return refused(std::move(p), 503, "Service Unavailable", why);
  }
  p.why = fmt::format("least-cost routing: {} provider(s), first {}", p.targets.size(), p.targets.front().provider);
  return p;
}

std::vector<PeerHost> peer_hosts(const rules::Snapshot& rules) {
  std::vector<PeerHost> out;
  auto add = [&](std::string_view uri, const rules::Customer* c, const std::string& name) {
    std::string host(uri_hostport(uri));
    host = host.substr(0, host.find(':'));
    in_addr a{};
    if (inet_pton(AF_INET, host.c_str(), &a) == 1) out.push_back(PeerHost{ntohl(a.s_addr), c, name});
  };
  for (const auto& c : rules.data().customers) add(c.vm_sip, rules.customer(c.id), "vm of " + c.name);
  for (const auto& p : rules.data().providers) add(p.sip_address, nullptr, "provider " + p.name);
  return out;
}

}  // namespace tandem::control
