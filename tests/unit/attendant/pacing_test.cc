// The pacing histogram's quantiles: bucket edges, early frames, the overflow.
#include "attendant/pacing.h"

#include <gtest/gtest.h>

namespace tandem::attendant {
namespace {

TEST(PacingHistogram, QuantilesAreBucketUpperEdges) {
  PacingHistogram h;
  EXPECT_EQ(h.quantile_us(0.99), 0u);
  for (int i = 0; i < 98; ++i) h.record(25'000);  // 25 us: the 20-30 us bucket
  h.record(-5'000);                               // early counts as on time
  h.record(1'500'000);                            // 1.5 ms
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.quantile_us(0.01), 10u);
  EXPECT_EQ(h.quantile_us(0.50), 30u);
  EXPECT_EQ(h.quantile_us(0.99), 30u);
  EXPECT_EQ(h.quantile_us(1.0), 1510u);
}

TEST(PacingHistogram, LateBeyondTheRangeLandsInTheLastBucket) {
  PacingHistogram h;
  h.record(5'000'000'000);  // a 5 s stall
  EXPECT_EQ(h.quantile_us(1.0), 20'010u);
}

}  // namespace
}  // namespace tandem::attendant
