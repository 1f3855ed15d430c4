#include "dataplane/token_bucket.h"

#include <gtest/gtest.h>

namespace tandem::dp {
namespace {

constexpr uint64_t kHz = 1000000;  // one cycle a microsecond: intervals read as microseconds
constexpr uint64_t kStart = 5000000;

// How many of `count` packets, sent `gap` cycles apart from `start`, pass.
unsigned admitted(uint64_t& full_at, const TokenRate& rate, uint64_t start, uint64_t gap, unsigned count) {
  unsigned n = 0;
  for (unsigned i = 0; i < count; ++i) n += take_token(full_at, rate, start + i * gap);
  return n;
}

TEST(TokenBucket, ANewBucketHoldsItsBurst) {
  const TokenRate rate = TokenRate::of(kHz, 100, 10);
  EXPECT_EQ(rate.interval, 10000u);
  EXPECT_EQ(rate.tolerance, 90000u);
  uint64_t full_at = 0;
  EXPECT_EQ(admitted(full_at, rate, kStart, 0, 50), 10u) << "back to back, the burst and no more";
}

TEST(TokenBucket, RefillsAtItsRate) {
  const TokenRate rate = TokenRate::of(kHz, 100, 10);
  uint64_t full_at = 0;
  admitted(full_at, rate, kStart, 0, 10);
  EXPECT_FALSE(take_token(full_at, rate, kStart + 9999)) << "a token takes 10 ms";
  EXPECT_TRUE(take_token(full_at, rate, kStart + 10000));
  EXPECT_FALSE(take_token(full_at, rate, kStart + 10001));
}

TEST(TokenBucket, AFloodGetsTheRateTimesTheTimePlusTheBurst) {
  const TokenRate rate = TokenRate::of(kHz, 1000, 200);
  uint64_t full_at = 0;
  // 50,000 packets a second (one per 20 us) for two seconds.
  const unsigned passed = admitted(full_at, rate, kStart, 20, 100000);
  EXPECT_GE(passed, 2000u + 200u - 1);
  EXPECT_LE(passed, 2000u + 200u + 1);
}

TEST(TokenBucket, ASenderUnderTheRateIsNeverDropped) {
  const TokenRate rate = TokenRate::of(kHz, 1000, 1);
  uint64_t full_at = 0;
  EXPECT_EQ(admitted(full_at, rate, kStart, 1000, 5000), 5000u) << "exactly at the rate, without burst";
}

TEST(TokenBucket, AnIdleBucketIsFullAgainButNoFuller) {
  const TokenRate rate = TokenRate::of(kHz, 100, 10);
  uint64_t full_at = 0;
  admitted(full_at, rate, kStart, 0, 10);
  EXPECT_EQ(admitted(full_at, rate, kStart + 3600 * kHz, 0, 50), 10u);
}

TEST(TokenBucket, RateZeroIsUnlimited) {
  const TokenRate rate = TokenRate::of(kHz, 0, 10);
  EXPECT_TRUE(rate.unlimited());
  uint64_t full_at = 0;
  EXPECT_EQ(admitted(full_at, rate, kStart, 0, 100000), 100000u);
}

TEST(TokenBucket, ARateAboveTheClockStillCounts) {
  const TokenRate rate = TokenRate::of(kHz, 10000000, 1);
  EXPECT_EQ(rate.interval, 1u) << "one token a cycle at most, never zero (which is unlimited)";
}

}  // namespace
}  // namespace tandem::dp
