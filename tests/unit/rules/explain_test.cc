#include "rules/explain.h"

#include <gtest/gtest.h>

#include "tests/unit/rules/sample_rules.h"

namespace tandem::rules {
namespace {

using namespace testing;

TEST(RulesExplain, InboundNamesTheDecidingRuleAndWhyTheOthersDidNot) {
  RulesData d = base();
  Rule xmas = rule(1, 1, voicemail());
  xmas.description = "Christmas";
  xmas.dates = {DateRange{{2026, 12, 24}, {2026, 12, 26}}};
  Rule boss = rule(2, 5, forward("+491705555555"));
  boss.caller_match = CallerMatch::exact;
  boss.caller_pattern = "+4940111111";
  Rule night = rule(3, 8, reject(480));
  night.days = fri;
  night.window = TimeWindow{hm(22), hm(6)};
  Rule office = rule(4, 10, forward("+491701111111"));
  office.days = weekdays;
  office.window = TimeWindow{hm(8), hm(18)};
  d.rules = {xmas, boss, night, office};
  auto s = build_ok(d);
  const std::string text = explain(s->route_inbound(kDid, "030 999999", utc(2026, 7, 14, 8)));
  EXPECT_EQ(text,
            "called +49301234567: customer Acme (Europe/Berlin), local time 2026-07-14 Tue 10:00:00 "
            "CEST (+02:00)\n"
            "caller +4930999999\n"
            "  no:  rule 1 (priority 1, \"Christmas\") [2026-12-24..2026-12-26]: local date "
            "2026-07-14 is outside its dates\n"
            "  no:  rule 2 (priority 5) [caller +4940111111]: caller +4930999999 is not +4940111111\n"
            "  no:  rule 3 (priority 8) [fri, 22:00-06:00]: local time 10:00 is outside 22:00-06:00\n"
            "  yes: rule 4 (priority 10) [mon,tue,wed,thu,fri, 08:00-18:00]\n"
            "-> forward to +491701111111\n");
  const std::string dflt = explain(s->route_inbound(kDid, "", utc(2026, 7, 18, 12)));
  EXPECT_NE(dflt.find("caller anonymous\n"), std::string::npos) << dflt;
  EXPECT_NE(dflt.find("no rule matched: the customer's default action\n"
                      "-> voicemail sip:pbx@vm1.example.net\n"),
            std::string::npos)
      << dflt;
  EXPECT_EQ(explain(s->route_inbound("+4930999", "", utc(2026, 7, 18, 12))),
            "number +4930999 is not one of ours\n");
}

TEST(RulesExplain, Outbound) {
  RulesData d = base();
  d.providers = {Provider{1, "alpha", "sip:gw.alpha", 0, true, 1},
                 Provider{2, "beta", "sip:gw.beta", 0, false, 2}};
  Rate a;
  a.id = 1;
  a.provider_id = 1;
  a.prefix = "49";
  a.cost_micros = 12'345;
  Rate b = a;
  b.id = 2;
  b.provider_id = 2;
  b.prefix = "4930";
  d.rates = {a, b};
  auto s = build_ok(d);
  EXPECT_EQ(explain(s->route_outbound("030 123456", utc(2026, 1, 1))),
            "dialled +4930123456\n"
            "  1. alpha sip:gw.alpha: prefix 49, 0.012345/min per 60 s, preference 1\n"
            "  skipped beta (prefix 4930, 0.012345/min): disabled\n");
  EXPECT_EQ(explain(s->route_outbound("+33123456789", utc(2026, 1, 1))),
            "dialled +33123456789\n  no provider has a rate for it\n");
}

}  // namespace
}  // namespace tandem::rules
