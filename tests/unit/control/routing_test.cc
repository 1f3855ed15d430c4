// From rules decisions to the call server's target lists.
#include "control/server/routing.h"

#include <gtest/gtest.h>

#include "tests/unit/rules/sample_rules.h"

namespace tandem::control {
namespace {

using namespace rules;
using namespace rules::testing;

const UtcSeconds kNow = utc(2026, 3, 2, 12);  // a Monday

RulesData with_providers() {
  RulesData d = base();
  d.customers[0].vm_sip = "sip:pbx@198.18.2.2:5060;transport=udp";
  d.providers = {Provider{1, "alpha", "sip:198.18.1.2:5062", 0, true, 0},
                 Provider{2, "beta", "sip:gw.beta.example:5060", 0, true, 1},
                 Provider{3, "gamma", "sip:198.18.1.9", 0, false, 0}};
  Rate a{1, 1, "49", 10'000, 60, {}, {}};
  Rate b{2, 2, "49", 20'000, 1, {}, {}};
  Rate c{3, 3, "49", 1'000, 60, {}, {}};
  d.rates = {a, b, c};
  return d;
}

TEST(Routing, UriHostport) {
  EXPECT_EQ(uri_hostport("sip:pbx@198.18.2.2:5060;transport=udp"), "198.18.2.2:5060");
  EXPECT_EQ(uri_hostport("sip:198.18.1.2:5062"), "198.18.1.2:5062");
  EXPECT_EQ(uri_hostport("sips:gw.example.net"), "gw.example.net");
  EXPECT_EQ(number_at("+4930123", "sip:pbx@vm1:5070"), "sip:+4930123@vm1:5070");
}

TEST(Routing, DefaultActionRingsTheVmWithTheCalledNumber) {
  auto s = build_ok(with_providers());
  Plan p = plan_inbound(*s, kDid, "+4940111", kNow, nullptr);
  ASSERT_EQ(p.targets.size(), 1u) << p.why;
  EXPECT_EQ(p.targets[0].uri, "sip:+49301234567@198.18.2.2:5060");
  EXPECT_EQ(p.customer, "Acme");
  EXPECT_EQ(p.direction, cdr::Direction::inbound);
  EXPECT_TRUE(p.targets[0].provider.empty());
}

TEST(Routing, ForwardGoesThroughEveryEnabledProviderByCost) {
  RulesData d = with_providers();
  d.rules = {rule(1, 10, forward("+4917012345"))};
  auto s = build_ok(d);
  Plan p = plan_inbound(*s, kDid, "+4940111", kNow, nullptr);
  ASSERT_EQ(p.targets.size(), 2u) << p.why;  // gamma is disabled
  EXPECT_EQ(p.targets[0].provider, "alpha");
  EXPECT_EQ(p.targets[0].uri, "sip:+4917012345@198.18.1.2:5062");
  EXPECT_EQ(p.targets[0].cost_micros, 10'000);
  EXPECT_EQ(p.targets[1].provider, "beta");
  EXPECT_FALSE(p.targets[0].any_failure_moves_on);
}

TEST(Routing, RingTargetsInOrderWithTheirTimeouts) {
  RulesData d = with_providers();
  Action ring;
  ring.kind = ActionKind::ring;
  ring.ring = {RingTarget{"sip:desk@198.18.2.7", 5}, RingTarget{"+4917012345", 20}};
  d.rules = {rule(1, 10, ring)};
  auto s = build_ok(d);
  Plan p = plan_inbound(*s, kDid, "+4940111", kNow, nullptr);
  ASSERT_EQ(p.targets.size(), 2u) << p.why;
  EXPECT_EQ(p.targets[0].uri, "sip:desk@198.18.2.7");
  EXPECT_EQ(p.targets[0].timeout_s, 5);
  EXPECT_EQ(p.targets[1].provider, "alpha");  // the number's best provider
  EXPECT_EQ(p.targets[1].timeout_s, 20);
  EXPECT_TRUE(p.targets[0].any_failure_moves_on && p.targets[1].any_failure_moves_on);
}

TEST(Routing, RefusalsCarryTheirCode) {
  RulesData d = with_providers();
  d.rules = {rule(1, 10, reject(603))};
  auto s = build_ok(d);
  EXPECT_EQ(plan_inbound(*s, kDid, "+4940111", kNow, nullptr).refuse_status, 603);
  EXPECT_EQ(plan_inbound(*s, "+49309999999", "+4940111", kNow, nullptr).refuse_status, 404);
  EXPECT_EQ(plan_inbound(*s, "vivekg", "+4940111", kNow, nullptr).refuse_status, 484);
}

TEST(Routing, AMenuIsAnsweredByTheAttendantAndItsActionsLeadToTargets) {
  RulesData m = with_providers();
  m.menus = {attendant(5)};
  m.rules = {rule(1, 10, menu(5))};
  auto sm = build_ok(m);
  Plan p = plan_inbound(*sm, kDid, "+4940111", kNow, nullptr);
  EXPECT_EQ(p.menu_id, 5u);
  EXPECT_TRUE(p.targets.empty());
  EXPECT_EQ(p.refuse_status, 0);
  EXPECT_NE(p.why.find("menu 5"), std::string::npos) << p.why;

  const rules::Customer& c = *sm->customer(kCustomer);
  Action ext;
  ext.kind = ActionKind::extension;
  ext.number = "201";
  Plan e = plan_action(*sm, c, ext, "menu 5", kNow, nullptr, p);
  ASSERT_EQ(e.targets.size(), 1u) << e.why;
  EXPECT_EQ(e.targets[0].uri, number_at("201", c.vm_sip)) << "an extension is a number on the customer's VM";
  EXPECT_TRUE(e.targets[0].provider.empty());

  Action fwd;
  fwd.kind = ActionKind::forward;
  fwd.number = "+4917012345";
  Plan f = plan_action(*sm, c, fwd, "menu 5", kNow, nullptr, p);
  ASSERT_EQ(f.targets.size(), 2u) << "every provider by cost, for failover: " << f.why;
  EXPECT_EQ(f.targets[0].provider, "alpha");

  Action vm;
  vm.kind = ActionKind::voicemail;
  Plan v = plan_action(*sm, c, vm, "menu 5", kNow, nullptr, p);
  ASSERT_EQ(v.targets.size(), 1u);
  EXPECT_EQ(v.targets[0].uri, number_at(p.called, c.vm_sip));
}

TEST(Routing, OutboundByCostAnd503WhenNoProviderIsLeft) {
  auto s = build_ok(with_providers());
  Plan p = plan_outbound(*s, *s->customer(kCustomer), "+4917012345", "+49301234567", kNow, nullptr);
  ASSERT_EQ(p.targets.size(), 2u) << p.why;
  EXPECT_EQ(p.direction, cdr::Direction::outbound);
  EXPECT_EQ(p.called, "+4917012345");
  EXPECT_EQ(p.targets[0].provider, "alpha");

  EXPECT_EQ(plan_outbound(*s, *s->customer(kCustomer), "+1212555", "x", kNow, nullptr).refuse_status, 503);
  EXPECT_EQ(plan_outbound(*s, *s->customer(kCustomer), "12ab", "x", kNow, nullptr).refuse_status, 484);
}

TEST(Routing, PeersAreTheIpLiteralsOfProvidersAndVms) {
  auto s = build_ok(with_providers());
  auto peers = peer_hosts(*s);
  ASSERT_EQ(peers.size(), 3u);  // beta is a host name: not a literal
  EXPECT_EQ(peers[0].ip, (198u << 24) | (18u << 16) | (2u << 8) | 2u);
  ASSERT_NE(peers[0].customer, nullptr);
  EXPECT_EQ(peers[0].customer->name, "Acme");
  EXPECT_EQ(peers[1].customer, nullptr);
}

}  // namespace
}  // namespace tandem::control
