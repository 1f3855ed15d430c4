// route_outbound: per provider its longest valid prefix, providers by cost,
// then preference, then id; disabled and full providers skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "rules/snapshot.h"
#include "tests/unit/rules/sample_rules.h"

namespace tandem::rules {
namespace {

using namespace testing;

const UtcSeconds kNow = utc(2026, 3, 1, 12);

Provider provider(Id id, std::string name, int32_t preference = 0) {
  return Provider{id, std::move(name), "sip:gw.example.net", 0, true, preference};
}

Rate rate(Id id, Id provider, std::string prefix, int64_t cost_micros) {
  Rate r;
  r.id = id;
  r.provider_id = provider;
  r.prefix = std::move(prefix);
  r.cost_micros = cost_micros;
  return r;
}

std::string order(const OutboundDecision& d) {
  std::string s;
  for (const auto& c : d.providers) {
    s += (s.empty() ? "" : " ") + c.provider->name + ":" + c.rate->prefix;
  }
  return s;
}

class Load : public ProviderLoad {
 public:
  uint32_t active_calls(Id provider) const override {
    auto it = calls.find(provider);
    return it == calls.end() ? 0 : it->second;
  }
  std::map<Id, uint32_t> calls;
};

TEST(RulesLcr, LongestPrefixOfEachProviderThenCost) {
  RulesData d = base();
  d.providers = {provider(1, "alpha"), provider(2, "beta")};
  d.rates = {rate(1, 1, "49", 20'000), rate(2, 1, "4917", 100'000), rate(3, 2, "49", 50'000),
             rate(4, 2, "1", 5'000)};
  auto s = build_ok(d);
  // Mobile: alpha's 4917 (0.10) loses to beta's 49 (0.05), even though 4917 is longer.
  OutboundDecision x = s->route_outbound("+4917012345678", kNow);
  ASSERT_TRUE(x.ok) << x.error;
  EXPECT_EQ(order(x), "beta:49 alpha:4917");
  x = s->route_outbound("+4930123456", kNow);
  EXPECT_EQ(order(x), "alpha:49 beta:49");
  x = s->route_outbound("0301234567", kNow);  // national form
  EXPECT_EQ(x.dialled, "+49301234567");
  EXPECT_EQ(order(x), "alpha:49 beta:49");
  x = s->route_outbound("+12125551234", kNow);
  EXPECT_EQ(order(x), "beta:1");
  x = s->route_outbound("+33123456789", kNow);  // nobody
  EXPECT_TRUE(x.ok);
  EXPECT_TRUE(x.providers.empty());
  x = s->route_outbound("not a number", kNow);
  EXPECT_FALSE(x.ok);
  EXPECT_FALSE(x.error.empty());
}

TEST(RulesLcr, EqualCostsByPreferenceThenId) {
  RulesData d = base();
  d.providers = {provider(5, "e", 2), provider(3, "c", 1), provider(4, "d", 1), provider(6, "f", 0)};
  d.rates = {rate(1, 5, "44", 10'000), rate(2, 3, "44", 10'000), rate(3, 4, "44", 10'000),
             rate(4, 6, "44", 10'001)};
  auto s = build_ok(d);
  EXPECT_EQ(order(s->route_outbound("+442079460000", kNow)), "c:44 d:44 e:44 f:44");
}

TEST(RulesLcr, DisabledAndFullProvidersAreSkippedAndListed) {
  RulesData d = base();
  d.providers = {provider(1, "cheap"), provider(2, "mid"), provider(3, "dear")};
  d.providers[0].enabled = false;
  d.providers[1].max_calls = 10;
  d.rates = {rate(1, 1, "49", 1'000), rate(2, 2, "49", 2'000), rate(3, 3, "49", 3'000)};
  auto s = build_ok(d);
  Load load;
  load.calls[2] = 9;
  OutboundDecision x = s->route_outbound("+4930123456", kNow, &load);
  EXPECT_EQ(order(x), "mid:49 dear:49");
  ASSERT_EQ(x.skipped.size(), 1u);
  EXPECT_EQ(x.skipped[0].provider->name, "cheap");
  EXPECT_EQ(x.skipped[0].reason, ProviderSkip::disabled);
  load.calls[2] = 10;
  x = s->route_outbound("+4930123456", kNow, &load);
  EXPECT_EQ(order(x), "dear:49");
  ASSERT_EQ(x.skipped.size(), 2u);
  EXPECT_EQ(name(x.skipped[1].reason), "at_capacity");
  load.calls[3] = 1'000'000;  // no max_calls: no limit
  EXPECT_EQ(order(s->route_outbound("+4930123456", kNow, &load)), "dear:49");
  EXPECT_EQ(order(s->route_outbound("+4930123456", kNow)), "mid:49 dear:49");  // no load view
}

TEST(RulesLcr, ValidityDates) {
  RulesData d = base();
  d.providers = {provider(1, "alpha"), provider(2, "beta")};
  Rate old_mobile = rate(1, 1, "4917", 100'000);
  old_mobile.valid_to = utc(2026, 6, 1);
  Rate new_mobile = rate(2, 1, "4917", 40'000);
  new_mobile.valid_from = utc(2026, 6, 1);
  Rate promo = rate(3, 2, "491701", 1'000);  // a promotion in April only
  promo.valid_from = utc(2026, 4, 1);
  promo.valid_to = utc(2026, 5, 1);
  d.rates = {old_mobile, new_mobile, promo, rate(4, 2, "49", 60'000)};
  auto s = build_ok(d);
  const char* n = "+4917012345678";
  OutboundDecision x = s->route_outbound(n, utc(2026, 5, 31, 23, 59, 59));
  EXPECT_EQ(order(x), "beta:49 alpha:4917");
  EXPECT_EQ(x.providers[1].rate->cost_micros, 100'000);
  x = s->route_outbound(n, utc(2026, 6, 1));  // valid_from inclusive, valid_to exclusive
  EXPECT_EQ(order(x), "alpha:4917 beta:49");
  EXPECT_EQ(x.providers[0].rate->cost_micros, 40'000);
  // In April beta's longer promotion prefix applies; after it, beta falls back to 49.
  EXPECT_EQ(order(s->route_outbound(n, utc(2026, 4, 15))), "beta:491701 alpha:4917");
  EXPECT_EQ(order(s->route_outbound(n, utc(2026, 5, 1))), "beta:49 alpha:4917");
  EXPECT_EQ(order(s->route_outbound(n, utc(2026, 3, 31, 23, 59, 59))), "beta:49 alpha:4917");
}

TEST(RulesLcr, BadRatesDoNotBuild) {
  RulesData d = base();
  d.providers = {provider(1, "alpha"), provider(1, "dup")};
  d.providers.push_back(Provider{2, "", "gw.example.net", 0, true, 0});
  Rate overlap_a = rate(1, 1, "49", 1);
  overlap_a.valid_to = utc(2026, 6, 1);
  Rate overlap_b = rate(2, 1, "49", 2);
  overlap_b.valid_from = utc(2026, 5, 1);
  Rate backwards = rate(3, 1, "44", 1);
  backwards.valid_from = utc(2026, 6, 1);
  backwards.valid_to = utc(2026, 5, 1);
  Rate zero_increment = rate(6, 1, "33", 1);
  zero_increment.increment_s = 0;
  d.rates = {overlap_a, overlap_b, backwards, rate(4, 9, "1", 1), rate(5, 1, "+1", 1),
             zero_increment, rate(7, 1, "1234567890123456", 1), rate(8, 1, "39", -5)};
  const std::string e = build_errors(d);
  for (const char* want : {"provider 1 (dup): duplicate id", "provider 2 (): no name",
                           "is not a sip: URI", "valid at the same time",
                           "valid_to is not after valid_from", "provider 9 does not exist",
                           "rate 5 (prefix +1): the prefix must be", "billing increment 0",
                           "rate 7", "negative cost"}) {
    EXPECT_NE(e.find(want), std::string::npos) << "missing \"" << want << "\" in:\n" << e;
  }
}

TEST(RulesLcr, AdjacentValidityPeriodsAreFine) {
  RulesData d = base();
  d.providers = {provider(1, "alpha")};
  Rate a = rate(1, 1, "49", 1);
  a.valid_to = utc(2026, 6, 1);
  Rate b = rate(2, 1, "49", 2);
  b.valid_from = utc(2026, 6, 1);
  d.rates = {b, a};
  build_ok(d);
}

// Against a plain reading of the rule, on random data: 300 providers (more
// than the 256 the lookup tracks on the stack), 20,000 rates with validity
// periods, some providers disabled or full.
TEST(RulesLcr, AgreesWithAPlainReading) {
  std::mt19937_64 rng(11);
  RulesData d = base();
  for (Id p = 1; p <= 300; ++p) {
    d.providers.push_back(provider(p, "p" + std::to_string(p), static_cast<int32_t>(rng() % 5)));
    d.providers.back().enabled = rng() % 10 != 0;
    d.providers.back().max_calls = rng() % 10 == 0 ? 5 : 0;
  }
  std::set<std::pair<Id, std::string>> taken;  // (provider, prefix)
  for (Id id = 1; d.rates.size() < 20000; ++id) {
    std::string prefix = std::to_string(1 + rng() % 9);
    while (prefix.size() < 1 + rng() % 6) prefix += static_cast<char>('0' + rng() % 10);
    const Id p = 1 + rng() % 300;
    if (!taken.emplace(p, prefix).second) continue;
    Rate r = rate(id, p, prefix, static_cast<int64_t>(rng() % 50) * 1000);
    // One period forever, or two split at 2026-06-01.
    if (rng() % 4 == 0) {
      r.valid_to = utc(2026, 6, 1);
      Rate later = r;
      later.id = 1000000 + id;
      later.valid_to.reset();
      later.valid_from = utc(2026, 6, 1);
      later.cost_micros += 500;
      d.rates.push_back(later);
    }
    d.rates.push_back(r);
  }
  auto s = build_ok(d);
  ASSERT_NE(s, nullptr);
  Load load;
  for (Id p = 1; p <= 300; ++p) load.calls[p] = static_cast<uint32_t>(rng() % 8);
  for (int k = 0; k < 2000; ++k) {
    const std::string number = "+" + std::to_string(1 + rng() % 9) + std::to_string(10000000 + rng() % 90000000);
    const UtcSeconds t = k % 2 ? utc(2026, 3, 1) : utc(2026, 7, 1);
    // The plain reading: per provider the longest prefix valid at t.
    std::map<Id, const Rate*> best;
    for (const Rate& r : d.rates) {
      if (number.compare(1, r.prefix.size(), r.prefix) != 0) continue;
      if ((r.valid_from && t < *r.valid_from) || (r.valid_to && t >= *r.valid_to)) continue;
      const Rate*& b = best[r.provider_id];
      if (!b || b->prefix.size() < r.prefix.size()) b = &r;
    }
    std::vector<std::tuple<int64_t, int32_t, Id, Id>> want;  // cost, preference, provider, rate
    size_t want_skipped = 0;
    for (const auto& [p, r] : best) {
      const Provider& pr = d.providers[p - 1];
      if (!pr.enabled || (pr.max_calls && load.calls[p] >= pr.max_calls)) {
        ++want_skipped;
        continue;
      }
      want.emplace_back(r->cost_micros, pr.preference, p, r->id);
    }
    std::sort(want.begin(), want.end());
    const OutboundDecision x = s->route_outbound(number, t, &load);
    ASSERT_TRUE(x.ok);
    ASSERT_EQ(x.providers.size(), want.size()) << number;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(x.providers[i].provider->id, std::get<2>(want[i])) << number << " #" << i;
      EXPECT_EQ(x.providers[i].rate->id, std::get<3>(want[i])) << number << " #" << i;
    }
    EXPECT_EQ(x.skipped.size(), want_skipped) << number;
  }
}

}  // namespace
}  // namespace tandem::rules
