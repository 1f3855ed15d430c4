// The relay latencies tandem-bench-rtp-load reports (bench/latency_histogram.h).
#include "bench/latency_histogram.h"

#include <gtest/gtest.h>

namespace tandem::bench {
namespace {

TEST(LatencyHistogram, PercentilesAreTheLatenciesAtTheirRank) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile_us(0.99), 0u) << "nothing yet";
  for (uint64_t us = 1; us <= 100; ++us) h.add(us * 1000 + 999);  // truncated to whole microseconds
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.percentile_us(0), 1u);
  EXPECT_EQ(h.percentile_us(0.5), 50u);
  EXPECT_EQ(h.percentile_us(0.99), 99u);
  EXPECT_EQ(h.percentile_us(1), 100u);
  EXPECT_EQ(h.max_us(), 100u);
}

TEST(LatencyHistogram, TheLongestLandInTheLastBucketButKeepTheirMax) {
  LatencyHistogram h;
  h.add(5'000'000'000);  // 5 s: a packet held through a stall
  h.add(2000);
  EXPECT_EQ(h.percentile_us(1), LatencyHistogram::kMaxUs);
  EXPECT_EQ(h.percentile_us(0), 2u);
  EXPECT_EQ(h.max_us(), 5'000'000u);
}

}  // namespace
}  // namespace tandem::bench
