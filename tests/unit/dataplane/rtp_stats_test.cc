// RTP reception statistics against streams computed by hand from RFC 3550
// appendix A.1 (sequence validation), A.3 (expected and lost) and A.8 (jitter).
//
// A.1 keeps a new source on probation until two packets arrive in sequence;
// once it is valid both packets of that run are counted (A.1 itself counts only
// the second): N in-order packets give received == expected == N. A confirmed
// big sequence jump restarts the sequence without probation, so only the packet
// that confirms it is counted there.
#include "dataplane/rtp_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <random>
#include <vector>

namespace tandem::dp {
namespace {

constexpr uint32_t kSsrcA = 0xa0a0a0a0;
constexpr uint32_t kSsrcB = 0xb0b0b0b0;
constexpr uint32_t kPtime = 160;  // 20 ms at 8 kHz, in timestamp units

class RtpStatsTest : public ::testing::Test {
 protected:
  // A packet with timestamp and arrival in step (constant transit: no jitter).
  bool packet(uint16_t seq, uint32_t ssrc = kSsrcA) { return timed(seq, kPtime * seq, kPtime * seq + 5000, ssrc); }
  bool timed(uint16_t seq, uint32_t ts, uint32_t arrival, uint32_t ssrc = kSsrcA) {
    return rtp_stats_update(s, ssrc, seq, ts, arrival);
  }
  // Every sequence number in [first, last] (wrapping) but the skipped ones.
  void stream(uint16_t first, uint32_t count, std::initializer_list<uint16_t> skip = {}, uint32_t ssrc = kSsrcA) {
    for (uint32_t i = 0; i < count; ++i) {
      const auto seq = static_cast<uint16_t>(first + i);
      if (std::find(skip.begin(), skip.end(), seq) == skip.end()) packet(seq, ssrc);
    }
  }
  RtpSummary summary() const { return rtp_stats_summary(s); }
  void expect_counts(uint64_t expected, uint64_t received, int64_t lost) const {
    const RtpSummary r = summary();
    EXPECT_EQ(r.expected, expected);
    EXPECT_EQ(r.received, received);
    EXPECT_EQ(r.lost, lost);
  }

  RtpStats s{};
};

TEST_F(RtpStatsTest, NothingReceived) {
  expect_counts(0, 0, 0);
  EXPECT_EQ(summary().jitter_mean, 0u);
}

TEST_F(RtpStatsTest, FirstPacketIsOnProbation) {
  EXPECT_FALSE(packet(1000));
  expect_counts(0, 0, 0);
  EXPECT_EQ(summary().ssrc, kSsrcA);
  EXPECT_TRUE(packet(1001));  // valid now: 1000 and 1001 both counted
  expect_counts(2, 2, 0);
}

TEST_F(RtpStatsTest, InOrderStream) {
  EXPECT_FALSE(packet(1000));
  for (uint16_t seq = 1001; seq < 1050; ++seq) EXPECT_TRUE(packet(seq)) << seq;
  expect_counts(50, 50, 0);
  const RtpSummary r = summary();
  EXPECT_EQ(r.extended_max, 1049u);
  EXPECT_EQ(r.ssrc, kSsrcA);
  EXPECT_EQ(r.ssrc_changes, 0);
  EXPECT_EQ(r.jitter, 0u);
}

TEST_F(RtpStatsTest, ProbationStartsAgainOnAGap) {
  EXPECT_FALSE(packet(10));
  EXPECT_FALSE(packet(12));  // not in sequence: one more in sequence needed
  EXPECT_TRUE(packet(13));   // 12 and 13 counted, 10 is not part of the run
  expect_counts(2, 2, 0);
  EXPECT_EQ(summary().extended_max, 13u);
}

// The packets of the in-sequence run that validates a source are counted once it
// is valid, so a call record does not miss the first packet of every stream.
TEST_F(RtpStatsTest, ProbationPacketsAreCountedOnceValid) {
  EXPECT_FALSE(packet(500));
  expect_counts(0, 0, 0);  // a single packet: the source is not valid yet
  EXPECT_TRUE(packet(501));
  expect_counts(2, 2, 0);  // two in sequence: both counted, none lost

  s = RtpStats{};
  stream(1000, 50);
  expect_counts(50, 50, 0);
  stream(7000, 50, {}, kSsrcB);  // after an SSRC change
  EXPECT_EQ(summary().ssrc_changes, 1);
  expect_counts(100, 100, 0);  // all 50 of each source
}

TEST_F(RtpStatsTest, LossIsExpectedMinusReceived) {
  stream(0, 100, {10, 11, 50});  // base 0, max 99
  expect_counts(100, 97, 3);
}

TEST_F(RtpStatsTest, ReorderingIsNotLossOnceTheLatePacketArrives) {
  stream(0, 5, {3});
  expect_counts(5, 4, 1);  // 3 is missing for now
  EXPECT_TRUE(packet(3));
  expect_counts(5, 5, 0);
  EXPECT_EQ(summary().extended_max, 4u) << "a late packet does not move the maximum back";

  for (uint16_t seq : {6, 5, 9, 7, 8, 10}) packet(seq);
  expect_counts(11, 11, 0);
}

TEST_F(RtpStatsTest, DuplicatesMakeLossNegative) {
  stream(0, 10);
  EXPECT_TRUE(packet(5));
  EXPECT_TRUE(packet(9));  // the highest again
  expect_counts(10, 12, -2);
}

TEST_F(RtpStatsTest, LatePacketWithinMisorderLimitIsCounted) {
  stream(1000, 11);  // 1000..1010 counted
  EXPECT_TRUE(packet(1010 - 99));
  expect_counts(11, 12, -1);
  EXPECT_EQ(summary().extended_max, 1010u);
}

TEST_F(RtpStatsTest, SequenceWrapCountsACycle) {
  stream(65530, 20);  // 65530..65535, 0..13
  const RtpSummary r = summary();
  EXPECT_EQ(r.extended_max, 65536u + 13);
  EXPECT_EQ(s.cycles, 1);
  expect_counts(20, 20, 0);
}

TEST_F(RtpStatsTest, LossAcrossTheWrap) {
  stream(65530, 20, {65535, 0});
  expect_counts(20, 18, 2);
  EXPECT_EQ(summary().extended_max, 65536u + 13);
}

TEST_F(RtpStatsTest, PacketLateAcrossTheWrapDoesNotCountACycle) {
  for (uint16_t seq : {65534, 65535, 1, 0, 2}) packet(seq);
  EXPECT_EQ(s.cycles, 1);
  EXPECT_EQ(summary().extended_max, 65536u + 2);
  expect_counts(5, 5, 0);
}

TEST_F(RtpStatsTest, ManyWraps) {
  const uint32_t n = 3 * 65536 + 10;
  stream(0, n);
  EXPECT_EQ(s.cycles, 3);
  EXPECT_EQ(summary().extended_max, n - 1);
  expect_counts(n, n, 0);
}

TEST_F(RtpStatsTest, GapBelowMaxDropoutIsLoss) {
  stream(0, 10);
  EXPECT_TRUE(packet(9 + 2999));
  expect_counts(3009, 11, 2998);
}

TEST_F(RtpStatsTest, BigJumpNeedsTwoSequentialPacketsToRestart) {
  stream(100, 10);  // 100..109 counted
  EXPECT_FALSE(packet(109 + 3000)) << "a jump of MAX_DROPOUT awaits confirmation";
  expect_counts(10, 10, 0);
  EXPECT_EQ(summary().extended_max, 109u);

  EXPECT_TRUE(packet(109 + 3001));  // confirms: the sequence restarts here, 3109 stays uncounted
  expect_counts(11, 11, 0);
  EXPECT_EQ(summary().extended_max, 109u + 3001);

  for (uint16_t seq = 3111; seq < 3120; ++seq) packet(seq);
  expect_counts(20, 20, 0);  // the gap of the jump is not loss
}

TEST_F(RtpStatsTest, BigJumpBackwardsAlsoNeedsConfirmation) {
  stream(1000, 11);
  EXPECT_FALSE(packet(800));
  EXPECT_TRUE(packet(801));  // 800 stays uncounted
  expect_counts(12, 12, 0);
  EXPECT_EQ(summary().extended_max, 801u);
}

TEST_F(RtpStatsTest, UnconfirmedJumpIsIgnored) {
  stream(100, 10);
  EXPECT_FALSE(packet(5000));
  stream(110, 10);
  expect_counts(20, 20, 0);
  EXPECT_EQ(summary().extended_max, 119u);
}

TEST_F(RtpStatsTest, LossCarriesOverAJump) {
  stream(100, 10, {104});  // 9 of 10
  packet(9000);            // the jump, not counted
  packet(9001);            // confirms it: counted
  stream(9002, 5, {9003});
  expect_counts(10 + 1 + 5, 9 + 1 + 4, 2);
}

TEST_F(RtpStatsTest, SsrcChangeCarriesCountsOver) {
  stream(0, 11, {5});  // A: 0..10 expected, 10 received
  expect_counts(11, 10, 1);

  EXPECT_FALSE(packet(5000, kSsrcB)) << "a new source starts on probation";
  RtpSummary r = summary();
  EXPECT_EQ(r.ssrc, kSsrcB);
  EXPECT_EQ(r.ssrc_changes, 1);
  expect_counts(11, 10, 1);

  EXPECT_TRUE(packet(5001, kSsrcB));  // B valid: 5000 and 5001 counted
  expect_counts(13, 12, 1);
  stream(5002, 9, {5005}, kSsrcB);  // B: 5000..5010 expected, 10 received
  expect_counts(22, 20, 2);
  EXPECT_EQ(summary().extended_max, 5010u);

  stream(7, 3, {}, kSsrcA);  // A again: 7, 8 and 9 counted
  r = summary();
  EXPECT_EQ(r.ssrc, kSsrcA);
  EXPECT_EQ(r.ssrc_changes, 2);
  expect_counts(25, 23, 2);
}

TEST_F(RtpStatsTest, SsrcChangeBeforeTheFirstSourceWasValid) {
  packet(40);                  // A never valid: never counted
  stream(300, 3, {}, kSsrcB);  // B: 300..302 counted
  EXPECT_EQ(summary().ssrc_changes, 1);
  expect_counts(3, 3, 0);
}

TEST_F(RtpStatsTest, SsrcChangeAfterAWrapStartsItsOwnSequence) {
  stream(65000, 1000);  // wraps once
  ASSERT_EQ(s.cycles, 1);
  stream(10, 5, {}, kSsrcB);
  expect_counts(1000 + 5, 1000 + 5, 0);
  EXPECT_EQ(summary().extended_max, 14u);
}

TEST_F(RtpStatsTest, ConstantTransitHasNoJitter) {
  for (uint16_t seq = 0; seq < 200; ++seq) timed(seq, 90000 + kPtime * seq, 7 + kPtime * seq);
  const RtpSummary r = summary();
  EXPECT_EQ(r.jitter, 0u);
  EXPECT_EQ(r.jitter_max, 0u);
  EXPECT_EQ(r.jitter_mean, 0u);
}

// Packets 0..n-1 with timestamps kPtime apart, each arriving `delay[i]` units
// after its nominal time.
void feed_delays(RtpStats& s, const std::vector<int>& delay, uint32_t ts0 = 1000, uint32_t arrival0 = 50000) {
  for (size_t i = 0; i < delay.size(); ++i) {
    const auto n = static_cast<uint32_t>(i);
    rtp_stats_update(s, kSsrcA, static_cast<uint16_t>(i), ts0 + kPtime * n,
                     arrival0 + kPtime * n + static_cast<uint32_t>(delay[i]));
  }
}

TEST(RtpStatsJitter, HandComputed) {
  // Packet 0 is on probation and never reaches the jitter code; packet 1
  // validates the source (received 2) and gives the first transit, with J still
  // 0: a first sample of 0. Packet 2 is 160 units late: D = 160, J = 160/16 =
  // 10. Then D = 0 twice: J = 10 - 10/16 = 9.375, then 9.375 - 9.375/16 = 8.79.
  // Scaled by 16 and rounded as in A.8: 160, 150, 141 -> 10, 9, 8. Mean over
  // the four samples (received - 1 = 4): (0 + 10 + 9 + 8) / 4 = 27 / 4 = 6.
  RtpStats s{};
  feed_delays(s, {0, 0, 160, 160, 160});
  const RtpSummary r = rtp_stats_summary(s);
  EXPECT_EQ(r.jitter, 8u);
  EXPECT_EQ(r.jitter_max, 10u);
  EXPECT_EQ(r.jitter_mean, 6u);
}

TEST(RtpStatsJitter, EarlyArrivalCountsLikeLateArrival) {
  RtpStats s{};
  feed_delays(s, {0, 0, -160, -160, -160});
  const RtpSummary r = rtp_stats_summary(s);
  EXPECT_EQ(r.jitter, 8u);
  EXPECT_EQ(r.jitter_max, 10u);
  EXPECT_EQ(r.jitter_mean, 6u);  // as in HandComputed
}

TEST(RtpStatsJitter, TimestampAndArrivalClockWraps) {
  RtpStats s{};
  feed_delays(s, {0, 0, 160, 160, 160}, 0xffffff00u, 0xfffffe00u);
  const RtpSummary r = rtp_stats_summary(s);
  EXPECT_EQ(r.jitter, 8u);
  EXPECT_EQ(r.jitter_max, 10u);
}

TEST(RtpStatsJitter, MatchesDoublePrecisionReference) {
  // A.8 in real numbers: J += (|D| - J) / 16 from packet 2 on (packet 0, on
  // probation, never reaches the jitter code, so packet 1 only gives the first
  // transit). The mean has one sample per counted packet after the first:
  // packets 1..n-1, the first of them J = 0. The integer version keeps J scaled
  // by 16 and rounds each step, so it stays within half a unit of the real
  // value; its reported values are floored, so each may differ from floor(J)
  // by one.
  std::mt19937 rng(3550);
  std::uniform_int_distribution<int> delay(0, 800);  // up to 100 ms late at 8 kHz
  RtpStats s{};
  double j = 0;
  double max_floor = 0;
  double sum_floor = 0;
  uint32_t prev_transit = 0;
  const int n = 3000;
  for (int i = 0; i < n; ++i) {
    const auto seq = static_cast<uint16_t>(i);
    const uint32_t ts = 8000 + kPtime * seq;
    const uint32_t arrival = 100 + kPtime * seq + static_cast<uint32_t>(delay(rng));
    rtp_stats_update(s, kSsrcA, seq, ts, arrival);
    const uint32_t transit = arrival - ts;
    if (i >= 2) {
      const double d = std::abs(static_cast<double>(static_cast<int32_t>(transit - prev_transit)));
      j += (d - j) / 16;
      max_floor = std::max(max_floor, std::floor(j));
      ASSERT_NEAR(rtp_stats_summary(s).jitter, std::floor(j), 1.0) << "packet " << i;
    }
    if (i >= 1) sum_floor += std::floor(j);  // 0 at packet 1
    prev_transit = transit;
  }
  const RtpSummary r = rtp_stats_summary(s);
  EXPECT_GT(r.jitter, 100u) << "the stream must actually jitter for this test to mean anything";
  EXPECT_NEAR(r.jitter_max, max_floor, 1.0);
  EXPECT_NEAR(r.jitter_mean, std::floor(sum_floor / (n - 1)), 1.0);
  EXPECT_LT(r.jitter_mean, r.jitter_max);
}

TEST(RtpStatsJitter, MeanCountsOnlyPacketsThatHaveAJitterValue) {
  // The mean is of the estimate at every counted packet after the leg's first.
  // Source A: packet 1 validates it (A.0 and A.1 counted, the estimate 0
  // once), packet 2 is 160 late: J = 10. Source B starts afresh: packet 1
  // validates it and only records a transit, the estimate stays 10 for B.0
  // and B.1 (two samples); B.2 has D = 0: J = 10 - 10/16 -> 9.
  // (0 + 10 + 10 + 10 + 9) / (received - 1 = 5) = 7.
  RtpStats s{};
  rtp_stats_update(s, kSsrcA, 0, 0, 1000);
  rtp_stats_update(s, kSsrcA, 1, 160, 1160);
  rtp_stats_update(s, kSsrcA, 2, 320, 1480);
  rtp_stats_update(s, kSsrcB, 0, 0, 2000);
  rtp_stats_update(s, kSsrcB, 1, 160, 2160);
  rtp_stats_update(s, kSsrcB, 2, 320, 2320);
  const RtpSummary r = rtp_stats_summary(s);
  ASSERT_EQ(r.received, 6u);  // all three packets of each source
  EXPECT_EQ(r.jitter_max, 10u);
  EXPECT_EQ(r.jitter_mean, 7u);
}

TEST(RtpStatsJitter, ArrivalUnits) {
  EXPECT_EQ(arrival_units(20000, 8), 160u);     // 20 ms at 8 kHz
  EXPECT_EQ(arrival_units(20000, 48), 960u);    // 20 ms at 48 kHz
  EXPECT_EQ(arrival_units(1999, 8), 15u);       // truncated
  const uint64_t ten_days_us = 10ull * 86400 * 1000 * 1000;
  EXPECT_EQ(arrival_units(ten_days_us, 48), static_cast<uint32_t>(ten_days_us * 48 / 1000)) << "wraps, never overflows";
}

}  // namespace
}  // namespace tandem::dp
