// route_inbound: priority, caller patterns, anonymous callers, days and time
// windows in the customer's zone (DST, midnight), date ranges, defaults, and
// the explanation of the rules that did not match.
#include <gtest/gtest.h>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <random>

#include "rules/snapshot.h"
#include "tests/unit/rules/sample_rules.h"

namespace tandem::rules {
namespace {

using namespace testing;

const char* kMobile = "+4917011111111";

// The id of the rule that decided, 0 for the customer's default action.
Id decided(const Snapshot& s, std::string_view caller, UtcSeconds t) {
  const InboundDecision d = s.route_inbound(kDid, caller, t);
  EXPECT_EQ(d.status, InboundStatus::routed) << d.error;
  if (d.status != InboundStatus::routed) return ~Id{0};
  EXPECT_NE(d.action, nullptr);
  return d.rule ? d.rule->id : 0;
}

const UtcSeconds kTuesdayNoon = utc(2026, 1, 13, 11);  // 12:00 CET

TEST(RulesInbound, PriorityOrderNotTableOrder) {
  RulesData d = base();
  d.rules.push_back(rule(1, 20, forward(kMobile)));
  d.rules.push_back(rule(2, 10, reject(486)));
  d.rules.push_back(rule(3, 10, voicemail()));  // same priority as 2: lower id first
  auto s = build_ok(d);
  const InboundDecision r = s->route_inbound(kDid, "+4940555555", kTuesdayNoon);
  ASSERT_EQ(r.status, InboundStatus::routed);
  ASSERT_NE(r.rule, nullptr);
  EXPECT_EQ(r.rule->id, 2u);
  EXPECT_EQ(r.action->kind, ActionKind::reject);
  EXPECT_EQ(r.action->sip_code, 486);
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_EQ(r.customer->name, "Acme");
  EXPECT_EQ(r.number->e164, kDid);
}

TEST(RulesInbound, CalledNumberInAnyForm) {
  auto s = build_ok(base());
  for (const char* called : {"+49301234567", "030 1234567", "0049-30-1234567", "+49 (0)30 1234567"}) {
    const InboundDecision r = s->route_inbound(called, "", kTuesdayNoon);
    EXPECT_EQ(r.status, InboundStatus::routed) << called;
    EXPECT_EQ(r.called, kDid);
  }
  InboundDecision r = s->route_inbound("+49301234568", "", kTuesdayNoon);
  EXPECT_EQ(r.status, InboundStatus::unknown_number);
  EXPECT_NE(r.error.find("+49301234568"), std::string::npos);
  r = s->route_inbound("hello", "", kTuesdayNoon);
  EXPECT_EQ(r.status, InboundStatus::bad_number);
  EXPECT_FALSE(r.error.empty());
}

TEST(RulesInbound, NoMatchingRuleGivesTheCustomersDefault) {
  RulesData d = base();
  d.customers[0].default_action = forward("0170 2222222");
  Rule r = rule(1, 10, reject(603));
  r.caller_match = CallerMatch::exact;
  r.caller_pattern = "+4940999999";
  d.rules.push_back(r);
  auto s = build_ok(d);
  const InboundDecision x = s->route_inbound(kDid, "+4940111111", kTuesdayNoon);
  EXPECT_EQ(x.rule, nullptr);
  ASSERT_NE(x.action, nullptr);
  EXPECT_EQ(x.action->kind, ActionKind::forward);
  EXPECT_EQ(x.action->number, "+491702222222");  // normalised at build
  ASSERT_EQ(x.skipped.size(), 1u);
  EXPECT_EQ(x.skipped[0].rule->id, 1u);
  EXPECT_EQ(x.skipped[0].reason, MissReason::caller_differs);
}

TEST(RulesInbound, CallerExactAndPrefixInAnyForm) {
  RulesData d = base();
  Rule boss = rule(1, 10, forward(kMobile));
  boss.caller_match = CallerMatch::exact;
  boss.caller_pattern = "0170 5555555";  // national form in the DB
  Rule berlin = rule(2, 20, menu(7));
  berlin.caller_match = CallerMatch::prefix;
  berlin.caller_pattern = "030";
  d.rules = {boss, berlin};
  d.menus.push_back(attendant(7));
  auto s = build_ok(d);
  EXPECT_EQ(decided(*s, "+491705555555", kTuesdayNoon), 1u);
  EXPECT_EQ(decided(*s, "01705555555", kTuesdayNoon), 1u);
  EXPECT_EQ(decided(*s, "+4917055555550", kTuesdayNoon), 0u);  // longer: not exact
  EXPECT_EQ(decided(*s, "+4930987654", kTuesdayNoon), 2u);
  EXPECT_EQ(decided(*s, "030 987654", kTuesdayNoon), 2u);
  EXPECT_EQ(decided(*s, "+4940987654", kTuesdayNoon), 0u);
  const InboundDecision x = s->route_inbound(kDid, "+4930987654", kTuesdayNoon);
  ASSERT_EQ(x.skipped.size(), 1u);
  EXPECT_EQ(x.skipped[0].reason, MissReason::caller_differs);
  EXPECT_EQ(x.caller, "+4930987654");
  EXPECT_TRUE(x.caller_valid);

  // Prefixes as long as the caller, or longer; 15 digits.
  Rule exact_prefix = rule(3, 5, reject(486));
  exact_prefix.caller_match = CallerMatch::prefix;
  exact_prefix.caller_pattern = "+4940123456";
  Rule longest = rule(4, 6, reject(487));
  longest.caller_match = CallerMatch::exact;
  longest.caller_pattern = "+491234567890123";
  d.rules = {exact_prefix, longest};
  s = build_ok(d);
  EXPECT_EQ(decided(*s, "+4940123456", kTuesdayNoon), 3u);
  EXPECT_EQ(decided(*s, "+49401234567", kTuesdayNoon), 3u);
  EXPECT_EQ(decided(*s, "+494012345", kTuesdayNoon), 0u);  // shorter than the prefix
  EXPECT_EQ(decided(*s, "+4940123457", kTuesdayNoon), 0u);
  EXPECT_EQ(decided(*s, "+491234567890123", kTuesdayNoon), 4u);
  EXPECT_EQ(decided(*s, "+491234567890124", kTuesdayNoon), 0u);
}

// Thousands of numbers, in runs and scattered: each finds its own customer
// and rules; numbers next to ours are not ours.
TEST(RulesInbound, ManyNumbers) {
  RulesData d = base();
  d.customers.push_back(Customer{2, "Other", "UTC", "sip:pbx@vm2.example.net", reject(404)});
  d.rules = {rule(1, 1, reject(486))};
  for (Id i = 0; i < 5000; ++i) {
    const std::string n = i % 2 ? "+4940" + std::to_string(2000000 + i) : "+1" + std::to_string(2125550000 + i * 7919);
    d.numbers.push_back(Number{100 + i, n, i % 3 ? kCustomer : 2});
    if (i % 5 == 0) d.rules.push_back(rule(1000 + i, 1, forward(kMobile)));
    if (i % 5 == 0) d.rules.back().number_id = 100 + i;
  }
  auto s = build_ok(d);
  ASSERT_NE(s, nullptr);
  for (Id i = 0; i < 5000; ++i) {
    const Number& n = d.numbers[1 + i];
    const InboundDecision x = s->route_inbound(n.e164, "", kTuesdayNoon);
    ASSERT_EQ(x.status, InboundStatus::routed) << n.e164;
    EXPECT_EQ(x.number->id, n.id);
    EXPECT_EQ(x.customer->id, n.customer_id);
    EXPECT_EQ(x.rule ? x.rule->id : 0, i % 5 == 0 ? 1000 + i : 0) << n.e164;
    EXPECT_EQ(s->number(n.e164), x.number);
  }
  EXPECT_EQ(s->route_inbound("+49402000000", "", kTuesdayNoon).status, InboundStatus::unknown_number);
  EXPECT_EQ(s->route_inbound("+12125550001", "", kTuesdayNoon).status, InboundStatus::unknown_number);
  EXPECT_EQ(decided(*s, "", kTuesdayNoon), 1u);
}

TEST(RulesInbound, AnonymousCallers) {
  RulesData d = base();
  Rule anon = rule(1, 10, reject(433));
  anon.caller_match = CallerMatch::anonymous;
  Rule vip = rule(2, 20, forward(kMobile));
  vip.caller_match = CallerMatch::prefix;
  vip.caller_pattern = "+49";
  d.rules = {anon, vip};
  auto s = build_ok(d);
  for (const char* caller : {"", "anonymous", "Anonymous", "UNKNOWN", "withheld", "restricted", "private"}) {
    EXPECT_EQ(decided(*s, caller, kTuesdayNoon), 1u) << caller;
  }
  const InboundDecision x = s->route_inbound(kDid, "+4930111111", kTuesdayNoon);
  ASSERT_NE(x.rule, nullptr);
  EXPECT_EQ(x.rule->id, 2u);
  ASSERT_EQ(x.skipped.size(), 1u);
  EXPECT_EQ(x.skipped[0].reason, MissReason::caller_not_anonymous);

  // A caller pattern never matches a withheld caller.
  d.rules = {vip};
  s = build_ok(d);
  const InboundDecision y = s->route_inbound(kDid, "anonymous", kTuesdayNoon);
  EXPECT_TRUE(y.caller_anonymous);
  EXPECT_EQ(y.rule, nullptr);
  ASSERT_EQ(y.skipped.size(), 1u);
  EXPECT_EQ(y.skipped[0].reason, MissReason::caller_anonymous);
}

TEST(RulesInbound, UnparseableCallerMatchesOnlyAny) {
  RulesData d = base();
  Rule p = rule(1, 10, reject(403));
  p.caller_match = CallerMatch::prefix;
  p.caller_pattern = "+4";
  d.rules = {p, rule(2, 20, forward(kMobile))};
  auto s = build_ok(d);
  const InboundDecision x = s->route_inbound(kDid, "alice", kTuesdayNoon);
  EXPECT_FALSE(x.caller_anonymous);
  EXPECT_FALSE(x.caller_valid);
  EXPECT_EQ(x.caller, "alice");
  ASSERT_NE(x.rule, nullptr);
  EXPECT_EQ(x.rule->id, 2u);
}

// Mon-Fri 08:00-18:00 Berlin: the same UTC instant is inside in winter (CET,
// +1) and outside in summer (CEST, +2), and the other way round.
TEST(RulesInbound, BusinessHoursFollowTheCustomersZoneAndDst) {
  RulesData d = base();
  Rule office = rule(1, 10, forward(kMobile));
  office.days = weekdays;
  office.window = TimeWindow{hm(8), hm(18)};
  d.rules = {office};
  auto s = build_ok(d);
  // Tuesday 2026-01-13 (CET).
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 13, 6, 59)), 0u);   // 07:59 CET
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 13, 7, 0)), 1u);    // 08:00 CET
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 13, 16, 59)), 1u);  // 17:59 CET
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 13, 17, 0)), 0u);   // 18:00 CET: end is exclusive
  // Tuesday 2026-07-14 (CEST).
  EXPECT_EQ(decided(*s, "", utc(2026, 7, 14, 6, 0)), 1u);    // 08:00 CEST
  EXPECT_EQ(decided(*s, "", utc(2026, 7, 14, 5, 59)), 0u);   // 07:59 CEST
  EXPECT_EQ(decided(*s, "", utc(2026, 7, 14, 16, 0)), 0u);   // 18:00 CEST
  EXPECT_EQ(decided(*s, "", utc(2026, 7, 14, 15, 59)), 1u);  // 17:59 CEST
  // Saturday noon.
  const InboundDecision x = s->route_inbound(kDid, "", utc(2026, 1, 17, 11));
  ASSERT_EQ(x.skipped.size(), 1u);
  EXPECT_EQ(x.skipped[0].reason, MissReason::day_of_week);
  EXPECT_EQ(x.local.weekday, 5);
  const InboundDecision y = s->route_inbound(kDid, "", utc(2026, 1, 13, 6, 59));
  ASSERT_EQ(y.skipped.size(), 1u);
  EXPECT_EQ(y.skipped[0].reason, MissReason::outside_time_window);
  EXPECT_EQ(format(y.local), "2026-01-13 Tue 07:59:00 CET (+01:00)");
}

// Berlin, Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
// Sunday 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00 UTC.
TEST(RulesInbound, DstTransitionDays) {
  RulesData d = base();
  Rule night = rule(1, 10, reject(480));
  night.days = sun;
  night.window = TimeWindow{hm(2), hm(3)};
  d.rules = {night};
  auto s = build_ok(d);
  // Spring: 02:00-03:00 does not exist that day.
  EXPECT_EQ(decided(*s, "", utc(2026, 3, 29, 0, 59)), 0u);  // 01:59 CET
  EXPECT_EQ(decided(*s, "", utc(2026, 3, 29, 1, 0)), 0u);   // 03:00 CEST
  const InboundDecision spring = s->route_inbound(kDid, "", utc(2026, 3, 29, 1, 30));
  EXPECT_EQ(spring.local.zone_abbr, "CEST");
  EXPECT_EQ(spring.local.second_of_day, hm(3, 30));
  EXPECT_EQ(spring.local.utc_offset_s, 7200);
  // Autumn: 02:00-03:00 happens twice, and both match.
  EXPECT_EQ(decided(*s, "", utc(2026, 10, 25, 0, 30)), 1u);  // 02:30 CEST
  EXPECT_EQ(decided(*s, "", utc(2026, 10, 25, 1, 30)), 1u);  // 02:30 CET
  EXPECT_EQ(decided(*s, "", utc(2026, 10, 25, 2, 0)), 0u);   // 03:00 CET
  EXPECT_EQ(decided(*s, "", utc(2026, 10, 24, 23, 59)), 0u); // 01:59 CEST

  // A 03:00-04:00 window on the spring Sunday is one real hour from 01:00 UTC.
  d.rules[0].window = TimeWindow{hm(3), hm(4)};
  s = build_ok(d);
  EXPECT_EQ(decided(*s, "", utc(2026, 3, 29, 1, 0)), 1u);
  EXPECT_EQ(decided(*s, "", utc(2026, 3, 29, 1, 59)), 1u);
  EXPECT_EQ(decided(*s, "", utc(2026, 3, 29, 2, 0)), 0u);
}

TEST(RulesInbound, OtherZones) {
  RulesData d = base("America/New_York");
  Rule office = rule(1, 10, forward(kMobile));
  office.days = weekdays;
  office.window = TimeWindow{hm(9), hm(17)};
  d.rules = {office};
  auto s = build_ok(d);
  // New York springs forward on Sunday 2026-03-08 (Europe three weeks later).
  EXPECT_EQ(decided(*s, "", utc(2026, 3, 6, 13, 30)), 0u);  // Fri 08:30 EST
  EXPECT_EQ(decided(*s, "", utc(2026, 3, 9, 13, 30)), 1u);  // Mon 09:30 EDT
  EXPECT_EQ(decided(*s, "", utc(2026, 3, 9, 21, 30)), 0u);  // Mon 17:30 EDT
  // Friday 23:00 UTC is Friday 18:00 EST; Saturday 02:00 UTC is still Friday in New York.
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 10, 2, 0)), 0u);   // Fri 21:00 EST: after hours

  RulesData k = base("Asia/Kolkata");  // +05:30, no DST
  Rule early = rule(1, 10, reject(486));
  early.window = TimeWindow{hm(9, 30), hm(10)};
  k.rules = {early};
  s = build_ok(k);
  EXPECT_EQ(decided(*s, "", utc(2026, 7, 1, 4, 0)), 1u);    // 09:30 IST
  EXPECT_EQ(decided(*s, "", utc(2026, 7, 1, 3, 59)), 0u);
}

// The snapshot keeps each zone's offsets from 1970 to 2100 in a table and
// does the civil arithmetic itself: it must agree with cctz everywhere,
// around every transition, and before and after the table (cctz itself).
TEST(RulesInbound, LocalTimeAgreesWithCctz) {
  const char* zones[] = {"Europe/Berlin",    "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
                         "America/St_Johns", "Pacific/Chatham",  "Europe/Dublin",       "Africa/Casablanca",
                         "Antarctica/Troll", "UTC",              "America/Sao_Paulo",   "Pacific/Kiritimati"};
  RulesData d = base();
  d.numbers.clear();
  d.customers.clear();
  for (Id i = 0; i < std::size(zones); ++i) {
    d.customers.push_back(Customer{i + 1, zones[i], zones[i], "sip:pbx@vm.example.net", voicemail()});
    d.numbers.push_back(Number{i + 1, "+4930100000" + std::to_string(i), i + 1});
  }
  auto s = build_ok(d);
  ASSERT_NE(s, nullptr);
  std::mt19937_64 rng(3);
  for (Id i = 0; i < std::size(zones); ++i) {
    absl::TimeZone tz;
    ASSERT_TRUE(absl::LoadTimeZone(zones[i], &tz));
    std::vector<int64_t> times;
    for (int k = 0; k < 2000; ++k) times.push_back(-2208988800 + static_cast<int64_t>(rng() % 9467280000));
    absl::TimeZone::CivilTransition tr;
    for (absl::Time t = absl::FromUnixSeconds(-100000); tz.NextTransition(t, &tr);) {
      t = tz.At(tr.to).trans;
      const int64_t u = absl::ToUnixSeconds(t);
      if (u > 4200000000) break;
      for (int64_t delta : {-86400, -3601, -1, 0, 1, 3599, 86400}) times.push_back(u + delta);
    }
    for (int64_t u : {int64_t{-1}, int64_t{0}, int64_t{4102444799}, int64_t{4102444800}}) times.push_back(u);
    const std::string did = "+4930100000" + std::to_string(i);
    for (int64_t u : times) {
      const InboundDecision x = s->route_inbound(did, "", UtcSeconds{std::chrono::seconds{u}});
      ASSERT_EQ(x.status, InboundStatus::routed);
      const absl::TimeZone::CivilInfo ci = tz.At(absl::FromUnixSeconds(u));
      const absl::CivilDay day(ci.cs);
      const std::string where = std::string(zones[i]) + " at " + std::to_string(u);
      ASSERT_EQ(x.local.date, (Date{static_cast<int32_t>(day.year()), static_cast<uint8_t>(day.month()),
                                    static_cast<uint8_t>(day.day())}))
          << where;
      ASSERT_EQ(x.local.weekday, static_cast<uint8_t>(absl::GetWeekday(day))) << where;
      ASSERT_EQ(x.local.second_of_day, static_cast<uint32_t>(ci.cs.hour() * 3600 + ci.cs.minute() * 60 + ci.cs.second()))
          << where;
      ASSERT_EQ(x.local.utc_offset_s, ci.offset) << where;
      ASSERT_EQ(x.local.zone_abbr, ci.zone_abbr) << where;
    }
  }
}

// "Fri 22:00-06:00" belongs to Friday: it matches Friday late and Saturday
// early, not Friday early (that is Thursday's night).
TEST(RulesInbound, WindowsWrappingMidnightBelongToTheDayTheyStart) {
  RulesData d = base();
  Rule night = rule(1, 10, voicemail());
  night.days = fri;
  night.window = TimeWindow{hm(22), hm(6)};
  d.rules = {night, rule(2, 20, forward(kMobile))};
  auto s = build_ok(d);
  // Friday 2026-01-16 and Saturday 2026-01-17, CET = UTC+1.
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 16, 21, 0)), 1u);   // Fri 22:00
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 16, 22, 59)), 1u);  // Fri 23:59
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 16, 23, 0)), 1u);   // Sat 00:00
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 17, 4, 59)), 1u);   // Sat 05:59
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 17, 5, 0)), 2u);    // Sat 06:00
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 16, 20, 59)), 2u);  // Fri 21:59
  const InboundDecision early_friday = s->route_inbound(kDid, "", utc(2026, 1, 16, 2, 0));
  ASSERT_EQ(early_friday.skipped.size(), 1u);  // Fri 03:00: Thursday's night
  EXPECT_EQ(early_friday.skipped[0].reason, MissReason::day_of_week);
  const InboundDecision sat_night = s->route_inbound(kDid, "", utc(2026, 1, 17, 22, 0));
  ASSERT_EQ(sat_night.skipped.size(), 1u);  // Sat 23:00: Saturday's night
  EXPECT_EQ(sat_night.skipped[0].reason, MissReason::day_of_week);
  const InboundDecision sat_noon = s->route_inbound(kDid, "", utc(2026, 1, 17, 11, 0));
  ASSERT_EQ(sat_noon.skipped.size(), 1u);
  EXPECT_EQ(sat_noon.skipped[0].reason, MissReason::outside_time_window);

  // A window ending at 24:00 does not wrap.
  d.rules = {rule(1, 10, voicemail())};
  d.rules[0].window = TimeWindow{hm(20), hm(24)};
  s = build_ok(d);
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 16, 22, 59)), 1u);  // 23:59
  EXPECT_EQ(decided(*s, "", utc(2026, 1, 16, 23, 0)), 0u);   // 00:00
}

TEST(RulesInbound, HolidaysInLocalDates) {
  RulesData d = base();
  Rule xmas = rule(1, 5, voicemail());
  xmas.dates = {DateRange{{2026, 12, 24}, {2026, 12, 26}}, DateRange{{2026, 12, 31}, {2027, 1, 1}}};
  Rule office = rule(2, 10, forward(kMobile));
  d.rules = {xmas, office};
  auto s = build_ok(d);
  EXPECT_EQ(decided(*s, "", utc(2026, 12, 23, 22, 59)), 2u);  // Dec 23 23:59 CET
  EXPECT_EQ(decided(*s, "", utc(2026, 12, 23, 23, 0)), 1u);   // Dec 24 00:00 CET
  EXPECT_EQ(decided(*s, "", utc(2026, 12, 26, 22, 59)), 1u);  // Dec 26 23:59
  EXPECT_EQ(decided(*s, "", utc(2026, 12, 26, 23, 0)), 2u);   // Dec 27
  EXPECT_EQ(decided(*s, "", utc(2027, 1, 1, 12)), 1u);
  EXPECT_EQ(decided(*s, "", utc(2027, 1, 2, 12)), 2u);
  const InboundDecision x = s->route_inbound(kDid, "", utc(2026, 12, 28, 12));
  ASSERT_EQ(x.skipped.size(), 1u);
  EXPECT_EQ(x.skipped[0].reason, MissReason::outside_dates);

  // A night window on Christmas Eve runs into the 25th; the night before it does not count.
  Rule eve = rule(3, 1, reject(480));
  eve.window = TimeWindow{hm(18), hm(8)};
  eve.dates = {DateRange{{2026, 12, 24}, {2026, 12, 24}}};
  d.rules = {eve, office};
  s = build_ok(d);
  EXPECT_EQ(decided(*s, "", utc(2026, 12, 25, 2)), 3u);   // Dec 25 03:00: started on the 24th
  EXPECT_EQ(decided(*s, "", utc(2026, 12, 24, 2)), 2u);   // Dec 24 03:00: started on the 23rd
  EXPECT_EQ(decided(*s, "", utc(2026, 12, 24, 17)), 3u);  // Dec 24 18:00
}

TEST(RulesInbound, ExplainsEveryEarlierRule) {
  RulesData d = base();
  Rule a = rule(1, 1, reject(433));
  a.caller_match = CallerMatch::anonymous;
  Rule b = rule(2, 2, reject(486));
  b.window = TimeWindow{hm(1), hm(2)};
  Rule c = rule(3, 3, reject(486));
  c.days = sun;
  Rule e = rule(4, 4, reject(486));
  e.dates = {DateRange{{2020, 1, 1}, {2020, 1, 2}}};
  Rule f = rule(5, 5, reject(486));
  f.caller_match = CallerMatch::exact;
  f.caller_pattern = "+4940111111";
  d.rules = {e, c, b, a, f, rule(6, 6, forward(kMobile)), rule(7, 7, voicemail())};
  auto s = build_ok(d);
  const InboundDecision x = s->route_inbound(kDid, "+4940222222", kTuesdayNoon);
  ASSERT_NE(x.rule, nullptr);
  EXPECT_EQ(x.rule->id, 6u);
  ASSERT_EQ(x.skipped.size(), 5u);
  const MissReason want[] = {MissReason::caller_not_anonymous, MissReason::outside_time_window,
                             MissReason::day_of_week, MissReason::outside_dates,
                             MissReason::caller_differs};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(x.skipped[i].rule->id, i + 1);
    EXPECT_EQ(x.skipped[i].reason, want[i]) << name(x.skipped[i].reason);
  }
  EXPECT_EQ(name(MissReason::outside_dates), "outside_dates");
}

TEST(RulesInbound, ValidationNamesEveryProblem) {
  RulesData d = base();
  d.customers[0].time_zone = "Europe/Atlantis";
  d.customers.push_back(Customer{2, "Other", "UTC", "pbx.example.net", reject(200)});
  d.numbers.push_back(Number{11, "030 1234567", 2});  // the same DID as kDid
  d.numbers.push_back(Number{12, "+49 35", 2});
  d.numbers.push_back(Number{13, "+4940123456", 99});
  d.menus.push_back(attendant(7, 2));
  Rule r1 = rule(1, 1, menu(7));
  r1.window = TimeWindow{hm(8), hm(8)};
  Rule r2 = rule(2, 2, menu(8));
  r2.caller_pattern = "+49";
  r2.days = 0;
  Rule r3 = rule(3, 3, voicemail());
  r3.number_id = 77;
  Rule r4 = rule(4, 4, forward("12"));
  r4.dates = {DateRange{{2026, 2, 1}, {2026, 1, 1}}, DateRange{{2026, 2, 30}, {2026, 3, 1}}};
  Rule r5 = rule(5, 5, voicemail());
  r5.caller_match = CallerMatch::exact;
  r5.caller_pattern = "bob";
  d.rules = {r1, r2, r3, r4, r5};
  const std::string e = build_errors(d);
  for (const char* want : {"unknown time zone \"Europe/Atlantis\"", "is not a sip: URI",
                           "default action: reject code 200", "listed twice", "too short",
                           "customer 99 does not exist", "belongs to another customer",
                           "empty time window", "menu 8 does not exist", "takes no pattern",
                           "no day of week", "number 77 does not exist", "ends before it starts",
                           "invalid date", "rule 4: forward", "rule 5: caller pattern"}) {
    EXPECT_NE(e.find(want), std::string::npos) << "missing \"" << want << "\" in:\n" << e;
  }
}

TEST(RulesInbound, ManyErrorsAreCappedWithACount) {
  RulesData d = base();
  for (Id i = 0; i < 80; ++i) d.rules.push_back(rule(100 + i, 1, reject(99)));
  std::vector<std::string> errors;
  EXPECT_EQ(Snapshot::build(d, {}, errors), nullptr);
  ASSERT_EQ(errors.size(), 51u);
  EXPECT_EQ(errors.back(), "... and 30 more");
}

TEST(RulesInbound, MenusAndLookups) {
  RulesData d = base();
  Menu m = attendant(7);
  m.invalid_action = reject(404);
  m.options.push_back(MenuOption{"1", forward(kMobile)});
  m.options.push_back(MenuOption{"#", menu(7)});
  d.menus.push_back(m);
  d.rules = {rule(1, 1, menu(7))};
  auto s = build_ok(d);
  const InboundDecision x = s->route_inbound(kDid, "", kTuesdayNoon);
  ASSERT_EQ(x.action->kind, ActionKind::menu);
  const Menu* found = s->menu(x.action->menu_id);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->options.size(), 2u);
  EXPECT_EQ(s->customer(kCustomer)->vm_sip, "sip:pbx@vm1.example.net");
  EXPECT_NE(s->number(kDid), nullptr);
  EXPECT_EQ(s->number("+49301234568"), nullptr);
  EXPECT_EQ(s->menu(8), nullptr);

  d.menus[0].options.push_back(MenuOption{"1", voicemail()});
  d.menus[0].options.push_back(MenuOption{"x", voicemail()});
  const std::string e = build_errors(d);
  EXPECT_NE(e.find("option 1: given twice"), std::string::npos) << e;
  EXPECT_NE(e.find("'x' is not 0-9"), std::string::npos) << e;
}

}  // namespace
}  // namespace tandem::rules
