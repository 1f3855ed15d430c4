// G.711 against the Recommendation's end points, and every code both ways.
#include "attendant/g711.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace tandem::attendant::g711 {
namespace {

TEST(G711, SilenceAndFullScale) {
  EXPECT_EQ(linear_to_ulaw(0), 0xff);
  EXPECT_EQ(linear_to_alaw(0), 0xd5);
  EXPECT_EQ(linear_to_ulaw(std::numeric_limits<int16_t>::max()), 0x80);
  EXPECT_EQ(linear_to_ulaw(std::numeric_limits<int16_t>::min()), 0x00);
  EXPECT_EQ(linear_to_alaw(std::numeric_limits<int16_t>::max()), 0xaa);
  EXPECT_EQ(linear_to_alaw(std::numeric_limits<int16_t>::min()), 0x2a);
  EXPECT_EQ(ulaw_to_linear(0x80), 32124);
  EXPECT_EQ(ulaw_to_linear(0x00), -32124);
  EXPECT_EQ(alaw_to_linear(0xaa), 32256);
  EXPECT_EQ(alaw_to_linear(0x2a), -32256);
}

TEST(G711, EveryCodeDecodesToAValueThatEncodesBackToIt) {
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<uint8_t>(c);
    EXPECT_EQ(linear_to_alaw(alaw_to_linear(code)), code) << c;
    // mu-law has two zeros (0x7f is -0); both decode to 0, which encodes as +0.
    EXPECT_EQ(linear_to_ulaw(ulaw_to_linear(code)), code == 0x7f ? 0xff : code) << c;
  }
}

TEST(G711, QuantisationErrorIsHalfAStepAtMost) {
  int prev_u = std::numeric_limits<int>::min(), prev_a = std::numeric_limits<int>::min();
  for (int x = std::numeric_limits<int16_t>::min(); x <= std::numeric_limits<int16_t>::max(); ++x) {
    const auto s = static_cast<int16_t>(x);
    const int u = ulaw_to_linear(linear_to_ulaw(s));
    const int a = alaw_to_linear(linear_to_alaw(s));
    // Steps grow with the segment: 1/16 of the magnitude bounds half a step
    // (the clipped ends aside: mu-law's largest code stands for 32124).
    const int bound = std::max(16, std::abs(x) / 15);
    EXPECT_LE(std::abs(u - x), bound) << x;
    EXPECT_LE(std::abs(a - x), bound) << x;
    EXPECT_GE(u, prev_u) << x;  // monotonic: a louder sample never codes quieter
    EXPECT_GE(a, prev_a) << x;
    prev_u = u, prev_a = a;
  }
}

TEST(G711, TranscodingKeepsTheValue) {
  // A-law's smallest code stands for +8, mu-law's code 1 (0xfe), as in G.711's own A-to-mu table.
  EXPECT_EQ(alaw_to_ulaw(0xd5), 0xfe);
  EXPECT_EQ(ulaw_to_alaw(0xff), 0xd5);
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<uint8_t>(c);
    const int a = alaw_to_linear(code);
    EXPECT_LE(std::abs(ulaw_to_linear(alaw_to_ulaw(code)) - a), std::max(16, std::abs(a) / 15)) << c;
    const int u = ulaw_to_linear(code);
    EXPECT_LE(std::abs(alaw_to_linear(ulaw_to_alaw(code)) - u), std::max(16, std::abs(u) / 15)) << c;
  }
}

}  // namespace
}  // namespace tandem::attendant::g711
