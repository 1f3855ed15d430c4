#include "dataplane/token_bucket.h"

#include <gtest/gtest.h>

namespace tandem::dp {
namespace {

constexpr uint64_t kHz = 1000000;  // one cycle a microsecond: intervals read as microseconds
constexpr uint64_t kStart = 5000000;

// A bucket of `per_second` tokens a second and `burst`, as a policer keeps it.
struct Bucket {
  Bucket(uint32_t per_second, uint32_t burst) : rate(TokenRate::of(kHz, per_second, burst)) {}
  bool take(uint64_t now) { return take_token(full_at, rate, now); }
  // How many of `count` packets, sent `gap` cycles apart from `start`, pass.
  unsigned admitted(uint64_t start, uint64_t gap, unsigned count) {
    unsigned n = 0;
    for (unsigned i = 0; i < count; ++i) n += take(start + i * gap);
    return n;
  }

  TokenRate rate;
  uint64_t full_at = 0;
};

TEST(TokenBucket, ANewBucketHoldsItsBurst) {
  Bucket b(100, 10);
  EXPECT_EQ(b.rate.interval, 10000u);
  EXPECT_EQ(b.rate.tolerance, 90000u);
  EXPECT_EQ(b.admitted(kStart, 0, 50), 10u) << "back to back, the burst and no more";
}

TEST(TokenBucket, RefillsAtItsRate) {
  Bucket b(100, 10);
  b.admitted(kStart, 0, 10);
  EXPECT_FALSE(b.take(kStart + 9999)) << "a token takes 10 ms";
  EXPECT_TRUE(b.take(kStart + 10000));
  EXPECT_FALSE(b.take(kStart + 10001));
}

TEST(TokenBucket, AFloodGetsTheRateTimesTheTimePlusTheBurst) {
  Bucket b(1000, 200);
  // 50,000 packets a second (one per 20 us) for two seconds.
  const unsigned passed = b.admitted(kStart, 20, 100000);
  EXPECT_GE(passed, 2000u + 200u - 1);
  EXPECT_LE(passed, 2000u + 200u + 1);
}

TEST(TokenBucket, ASenderAtTheRateIsNeverDropped) {
  Bucket b(1000, 1);
  EXPECT_EQ(b.admitted(kStart, 1000, 5000), 5000u) << "exactly at the rate, without burst";
}

TEST(TokenBucket, AnIdleBucketIsFullAgainButNoFuller) {
  Bucket b(100, 10);
  b.admitted(kStart, 0, 10);
  EXPECT_EQ(b.admitted(kStart + 3600 * kHz, 0, 50), 10u);
}

TEST(TokenBucket, RateZeroIsUnlimited) {
  Bucket b(0, 10);
  EXPECT_TRUE(b.rate.unlimited());
  EXPECT_EQ(b.admitted(kStart, 0, 100000), 100000u);
}

TEST(TokenBucket, ARateAboveTheClockStillCounts) {
  EXPECT_EQ(Bucket(10000000, 1).rate.interval, 1u) << "one token a cycle at most, never zero (which is unlimited)";
}

}  // namespace
}  // namespace tandem::dp
