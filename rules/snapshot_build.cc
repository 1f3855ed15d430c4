// Snapshot::build: everything validated, then compiled. The customers, menus,
// providers and actions are checked here; the numbers and rules in
// build_inbound.cc, the rates in build_outbound.cc.
#include "rules/snapshot.h"

#include <absl/container/flat_hash_map.h>
#include <absl/time/time.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/compiled_index.h"
#include "rules/e164_digits.h"
#include "rules/snapshot_builder.h"
#include "rules/time_zone.h"

namespace tandem::rules {

namespace {

bool valid_sip(std::string_view s) {
  return (s.substr(0, 4) == "sip:" && s.size() > 4) || (s.substr(0, 5) == "sips:" && s.size() > 5);
}

// Customers and their zones (each distinct zone loaded once); each
// customer's zone.
std::vector<uint16_t> index_customers(Builder& b) {
  RulesData& d = b.d;
  CompiledIndex& ix = b.ix;
  Errors& err = b.err;
  std::vector<uint16_t> customer_zone(d.customers.size(), 0);
  absl::flat_hash_map<std::string, uint16_t> zone_of;
  for (uint32_t i = 0; i < d.customers.size(); ++i) {
    const Customer& c = d.customers[i];
    auto who = [&] { return "customer " + std::to_string(c.id) + " (" + c.name + ")"; };
    if (!ix.customers.emplace(c.id, i).second) err.add(who() + ": duplicate id");
    if (c.name.empty()) err.add(who() + ": no name");
    auto z = zone_of.find(c.time_zone);
    if (z == zone_of.end()) {
      absl::TimeZone tz;
      if (c.time_zone.empty() || !absl::LoadTimeZone(c.time_zone, &tz)) {
        err.add(who() + ": unknown time zone \"" + c.time_zone + "\"");
      } else if (ix.zones.size() > UINT16_MAX) {
        err.add(who() + ": more than 65536 time zones");
      } else {
        ix.zones.emplace_back().load(tz);
        z = zone_of.emplace(c.time_zone, static_cast<uint16_t>(ix.zones.size() - 1)).first;
      }
    }
    if (z != zone_of.end()) customer_zone[i] = z->second;
    if (!valid_sip(c.vm_sip)) err.add(who() + ": VM address \"" + c.vm_sip + "\" is not a sip: URI");
  }
  return customer_zone;
}

void index_menus(Builder& b) {
  for (uint32_t i = 0; i < b.d.menus.size(); ++i) {
    if (!b.ix.menus.emplace(b.d.menus[i].id, i).second) {
      b.err.add("menu " + std::to_string(b.d.menus[i].id) + ": duplicate id");
    }
  }
}

void index_providers(Builder& b) {
  const RulesData& d = b.d;
  Errors& err = b.err;
  if (d.providers.size() > UINT16_MAX) err.add("more than 65535 providers");
  for (uint32_t i = 0; i < d.providers.size(); ++i) {
    const Provider& p = d.providers[i];
    auto who = [&] { return "provider " + std::to_string(p.id) + " (" + p.name + ")"; };
    if (!b.ix.providers.emplace(p.id, i).second) err.add(who() + ": duplicate id");
    if (p.name.empty()) err.add(who() + ": no name");
    if (!valid_sip(p.sip_address)) {
      err.add(who() + ": address \"" + p.sip_address + "\" is not a sip: URI");
    }
  }
}

// The customers' default actions (the rules' actions are checked with the
// rules, the menus' with the menus).
void check_default_actions(Builder& b) {
  for (auto& c : b.d.customers) {
    b.check_action(c.default_action, c.id, false,
                   [&] { return "customer " + std::to_string(c.id) + " default action"; });
  }
}

}  // namespace

void Builder::check_action(Action& a, Id customer_id, bool in_menu, absl::FunctionRef<std::string()> who) {
  std::string e;
  switch (a.kind) {
    case ActionKind::extension:
      if (!valid_extension(a.number)) err.add(who() + ": extension \"" + a.number + "\" is not 1-16 digits");
      [[fallthrough]];
    case ActionKind::repeat:
    case ActionKind::hangup:
      if (!in_menu) err.add(who() + ": " + std::string(name(a.kind)) + " is only for menus");
      break;
    case ActionKind::voicemail:
      break;
    case ActionKind::forward: {
      if (plain_e164(a.number)) break;
      std::string n;
      if (normalize_number(a.number, plan, n, e)) {
        a.number = n;
      } else {
        err.add(who() + ": forward: " + e);
      }
      break;
    }
    case ActionKind::ring:
      if (a.ring.empty()) err.add(who() + ": ring with no target");
      for (auto& t : a.ring) {
        if (t.timeout_s == 0) err.add(who() + ": ring target " + t.target + " with no timeout");
        if (valid_sip(t.target) || plain_e164(t.target)) continue;
        std::string n;
        if (normalize_number(t.target, plan, n, e)) {
          t.target = n;
        } else {
          err.add(who() + ": ring target: " + e);
        }
      }
      break;
    case ActionKind::menu: {
      auto m = ix.menus.find(a.menu_id);
      if (m == ix.menus.end()) {
        err.add(who() + ": menu " + std::to_string(a.menu_id) + " does not exist");
      } else if (d.menus[m->second].customer_id != customer_id) {
        err.add(who() + ": menu " + std::to_string(a.menu_id) + " belongs to another customer");
      }
      break;
    }
    case ActionKind::reject:
      if (a.sip_code < 400 || a.sip_code > 699) {
        err.add(who() + ": reject code " + std::to_string(a.sip_code) + " is not 400-699");
      }
      break;
  }
}

std::shared_ptr<const Snapshot> Snapshot::build(RulesData data, const NumberPlan& plan,
                                                std::vector<std::string>& errors) {
  errors.clear();
  std::shared_ptr<Snapshot> s(new Snapshot(std::move(data), plan));
  {
    Errors err(errors);
    std::string e;
    if (!validate_plan(plan, e)) err.add(e);
    Builder b{s->data_, *s->index_, plan, err};
    const std::vector<uint16_t> customer_zone = index_customers(b);
    index_menus(b);
    index_providers(b);
    check_default_actions(b);
    build_menus(b);
    build_inbound(b, customer_zone);
    build_outbound(b);
    if (err.any()) return nullptr;
  }
  if (!errors.empty()) return nullptr;
  return s;
}

}  // namespace tandem::rules
