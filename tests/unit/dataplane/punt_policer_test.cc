#include "dataplane/punt_policer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/dataplane/frame_builder.h"

namespace tandem::dp {
namespace {

using test::FrameSpec;
using test::ipv4;

constexpr uint64_t kHz = 1000000;  // one cycle a microsecond
constexpr uint64_t kStart = 7000000;
constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ull;

PuntLimits limits(uint32_t source_rate, uint32_t source_burst, uint32_t global_rate, uint32_t global_burst,
                  uint32_t sources = 64) {
  PuntLimits l;
  l.source_rate = source_rate;
  l.source_burst = source_burst;
  l.global_rate = global_rate;
  l.global_burst = global_burst;
  l.arp_icmp_rate = 100;
  l.arp_icmp_burst = 10;
  l.sources = sources;
  return l;
}

PuntKey from(uint32_t ip) { return {PuntClass::source, ip}; }
constexpr PuntKey kArp{PuntClass::arp, 0};
const PuntKey kIcmp{PuntClass::icmp, ipv4("198.18.1.9")};
uint32_t nth(uint32_t i) { return htonl(0xc6120000u + i); }  // 198.18.x.y

TEST(PuntKey, ClassifiesByWhatTheKernelWouldGet) {
  FrameSpec udp;
  udp.src_ip = ipv4("198.18.1.3");
  auto f = test::build_frame(udp);
  PuntKey k = punt_key(f.data(), static_cast<uint32_t>(f.size()), 14);
  EXPECT_EQ(k.cls, PuntClass::source);
  EXPECT_EQ(k.source, ipv4("198.18.1.3"));

  FrameSpec icmp = udp;
  icmp.protocol = test::kProtoIcmp;
  icmp.vlan_tci = 100;
  f = test::build_frame(icmp);
  k = punt_key(f.data(), static_cast<uint32_t>(f.size()), 18);
  EXPECT_EQ(k.cls, PuntClass::icmp) << "ICMP behind a VLAN tag";

  FrameSpec arp = udp;
  arp.ether_type = test::kEtherArp;
  f = test::build_frame(arp);
  EXPECT_EQ(punt_key(f.data(), static_cast<uint32_t>(f.size()), 14).cls, PuntClass::arp);

  FrameSpec v6 = udp;
  v6.ether_type = test::kEtherIpv6;
  f = test::build_frame(v6);
  k = punt_key(f.data(), static_cast<uint32_t>(f.size()), 14);
  EXPECT_EQ(k.cls, PuntClass::source);
  EXPECT_EQ(k.source, 0u) << "not IPv4: the one bucket of unknown sources";

  f = test::build_frame(udp);
  EXPECT_EQ(punt_key(f.data(), 14 + 19, 14).source, 0u) << "an IPv4 header cut short";
  EXPECT_EQ(punt_key(f.data(), static_cast<uint32_t>(f.size()), 0).source, 0u) << "not parsed";
}

TEST(PuntPolicer, CutsAFloodFromOneSourceWhileOthersFlowOn) {
  PuntPolicer p(limits(1000, 100, 100000, 10000), kHz, 1, kSeed);
  const uint32_t flooder = ipv4("198.18.1.3"), caller = ipv4("198.18.1.2");
  unsigned flood_passed = 0, caller_passed = 0, by_source = 0;
  // One second: the flooder at 50,000 packets a second, the caller at 100.
  for (uint64_t t = 0; t < kHz; t += 20) {
    const auto r = p.admit(from(flooder), kStart + t);
    flood_passed += !r;
    by_source += r == DropReason::punt_policed_source;
    if (t % 10000 == 0) caller_passed += !p.admit(from(caller), kStart + t);
  }
  EXPECT_EQ(caller_passed, 100u);
  EXPECT_GE(flood_passed, 1000u + 100u - 1);
  EXPECT_LE(flood_passed, 1000u + 100u + 1);
  EXPECT_EQ(by_source, 50000u - flood_passed);
}

TEST(PuntPolicer, TheGlobalCapHoldsOverManySourcesEachUnderItsOwnRate) {
  PuntPolicer p(limits(1000, 10, 500, 50), kHz, 1, kSeed);
  unsigned passed = 0, global = 0;
  // 40 sources, each under its own rate (100 a second), 4,000 a second together, for a second.
  for (uint64_t t = 0; t < kHz; t += 10000) {
    for (uint32_t s = 0; s < 40; ++s) {
      const auto r = p.admit(from(nth(s)), kStart + t);
      passed += !r;
      global += r == DropReason::punt_policed_global;
    }
  }
  EXPECT_EQ(passed, 50u + 5u * 99u) << "the burst, then 5 tokens in each of the 99 gaps of 10 ms";
  EXPECT_EQ(global, 4000u - passed);
}

TEST(PuntPolicer, APolicedSourceSpendsNothingOfTheGlobalBudget) {
  PuntPolicer p(limits(100, 10, 200, 20), kHz, 1, kSeed);
  const uint32_t flooder = nth(1), other = nth(2);
  unsigned other_passed = 0;
  for (uint64_t t = 0; t < kHz; t += 10) {
    p.admit(from(flooder), kStart + t);
    if (t % 10000 == 0) other_passed += !p.admit(from(other), kStart + t);
  }
  EXPECT_EQ(other_passed, 100u) << "the flooder's 100,000 packets got 110 through; the global 200 left room";
}

TEST(PuntPolicer, SharesTheGlobalAndArpIcmpBudgetsAmongWorkers) {
  PuntPolicer p(limits(0, 1, 1000, 100), kHz, 4, kSeed);
  unsigned passed = 0, arp_icmp = 0;
  for (unsigned i = 0; i < 1000; ++i) {
    passed += !p.admit(from(nth(i)), kStart);
    arp_icmp += !p.admit(kArp, kStart);
  }
  EXPECT_EQ(passed, 25u) << "a quarter of the global burst";
  EXPECT_EQ(arp_icmp, 2u) << "a quarter of the ARP/ICMP burst of 10";
}

TEST(PuntPolicer, ArpAndIcmpHaveEachTheirOwnBudget) {
  PuntPolicer p(limits(1000, 100, 1000, 100), kHz, 1, kSeed);
  unsigned passed = 0;
  for (unsigned i = 0; i < 1000; ++i) {
    const auto r = p.admit(kIcmp, kStart);
    passed += !r;
    EXPECT_EQ(r.value_or(DropReason::punt_policed_arp_icmp), DropReason::punt_policed_arp_icmp);
  }
  EXPECT_EQ(passed, 10u);
  unsigned arp = 0;
  for (unsigned i = 0; i < 20; ++i) arp += !p.admit(kArp, kStart);
  EXPECT_EQ(arp, 10u) << "a ping flood leaves ARP its budget";
  EXPECT_FALSE(p.admit(from(nth(1)), kStart)) << "nor is SIP charged for either";
  EXPECT_EQ(p.sources(), 1u) << "ARP and ICMP take no source bucket";
}

TEST(PuntPolicer, AFullTableReplacesTheSourceSeenLongestAgoAndCountsIt) {
  PuntPolicer p(limits(10, 2, 0, 1), kHz, 1, kSeed);
  ASSERT_EQ(p.capacity(), 64u);
  // 10,000 distinct sources: the table stays at its size, every source past it evicts one.
  for (uint32_t i = 0; i < 10000; ++i) p.admit(from(nth(i)), kStart + i);
  EXPECT_EQ(p.sources(), 64u);
  EXPECT_EQ(p.evictions(), 10000u - 64u);
  // A source that keeps sending is never the oldest of its set, however many pass through.
  PuntPolicer q(limits(10, 2, 0, 1), kHz, 1, kSeed);
  const uint32_t flooder = ipv4("203.0.113.9");
  uint64_t t = kStart;
  for (unsigned i = 0; i < 3; ++i) q.admit(from(flooder), t++);
  for (uint32_t i = 0; i < 10000; ++i) {
    q.admit(from(nth(i)), t++);
    EXPECT_TRUE(q.admit(from(flooder), t++).has_value()) << "the flooder got a fresh bucket after " << i;
  }
}

TEST(PuntPolicer, ASourceBackAfterEvictionStartsWithAFullBucket) {
  PuntPolicer p(limits(10, 2, 0, 1, 64), kHz, 1, kSeed);
  const uint32_t a = nth(100000);
  EXPECT_FALSE(p.admit(from(a), kStart));
  EXPECT_FALSE(p.admit(from(a), kStart));
  EXPECT_TRUE(p.admit(from(a), kStart));
  // Enough others to push it out of its set.
  for (uint32_t i = 0; i < 5000; ++i) p.admit(from(nth(i)), kStart + 1 + i);
  std::vector<proto::PuntOffender> out;
  p.offenders(kStart + 6000, out);
  for (const auto& o : out) EXPECT_NE(o.ip, a) << "evicted, it is no offender any more";
  EXPECT_FALSE(p.admit(from(a), kStart + 6000));
}

TEST(PuntPolicer, AgedBucketsRefillWithoutAnyScan) {
  PuntPolicer p(limits(10, 2, 0, 1), kHz, 1, kSeed);
  const uint32_t a = nth(5);
  p.admit(from(a), kStart);
  p.admit(from(a), kStart);
  EXPECT_TRUE(p.admit(from(a), kStart));
  EXPECT_FALSE(p.admit(from(a), kStart + 3600 * kHz));
  EXPECT_FALSE(p.admit(from(a), kStart + 3600 * kHz));
  EXPECT_TRUE(p.admit(from(a), kStart + 3600 * kHz)) << "refilled to its burst, not beyond";
}

TEST(PuntPolicer, NotIpv4SharesOneBucket) {
  PuntPolicer p(limits(10, 3, 0, 1), kHz, 1, kSeed);
  unsigned passed = 0;
  for (unsigned i = 0; i < 100; ++i) passed += !p.admit(PuntKey{}, kStart);
  EXPECT_EQ(passed, 3u);
}

TEST(PuntPolicer, ReportsTheOffendersWithTheirDropsAndHowRecent) {
  PuntPolicer p(limits(10, 5, 0, 1), kHz, 1, kSeed);
  for (unsigned i = 0; i < 100; ++i) p.admit(from(nth(1)), kStart);
  for (unsigned i = 0; i < 20; ++i) p.admit(from(nth(2)), kStart);
  p.admit(from(nth(3)), kStart);
  std::vector<proto::PuntOffender> out;
  p.offenders(kStart + 2 * kHz, out);
  ASSERT_EQ(out.size(), 2u) << "a source without drops is no offender";
  const PuntPolicer* one[] = {&p};
  const auto top = top_offenders(one, kStart + 2 * kHz, 16);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].ip, nth(1));
  EXPECT_EQ(top[0].dropped, 95u);
  EXPECT_EQ(top[0].passed, 5u);
  EXPECT_NEAR(top[0].last_drop_ms, 2000, 2) << "coarse, but to the millisecond here";
  EXPECT_EQ(top[1].ip, nth(2));
  EXPECT_EQ(top[1].dropped, 15u);
}

TEST(PuntPolicer, TopOffendersSumsASourceOverWorkersAndKeepsTheMost) {
  PuntPolicer a(limits(10, 1, 0, 1), kHz, 2, kSeed), b(limits(10, 1, 0, 1), kHz, 2, kSeed + 2);
  for (uint32_t s = 1; s <= 20; ++s) {
    for (uint32_t i = 0; i <= s; ++i) a.admit(from(nth(s)), kStart);
  }
  for (unsigned i = 0; i < 10; ++i) b.admit(from(nth(1)), kStart + 500000);
  const PuntPolicer* both[] = {&a, &b};
  const auto top = top_offenders(both, kStart + kHz, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].ip, nth(20));
  EXPECT_EQ(top[0].dropped, 20u);
  EXPECT_EQ(top[1].ip, nth(19));
  const auto all = top_offenders(both, kStart + kHz, 20);
  const auto one = std::find_if(all.begin(), all.end(), [](const auto& o) { return o.ip == nth(1); });
  ASSERT_NE(one, all.end());
  EXPECT_EQ(one->dropped, 1u + 9u) << "both workers' drops";
  EXPECT_NEAR(one->last_drop_ms, 500, 2) << "the more recent of the two";
}

TEST(PuntPolicer, ByDefaultLetsEverythingThrough) {
  PuntPolicer p;
  for (unsigned i = 0; i < 100000; ++i) ASSERT_FALSE(p.admit(from(nth(1)), kStart));
  EXPECT_EQ(p.sources(), 0u);
}

}  // namespace
}  // namespace tandem::dp
