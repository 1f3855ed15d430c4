// RTP headers as they come off the socket, well formed or not.
#include "attendant/rtp_view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <vector>

namespace tandem::attendant {
namespace {

std::vector<uint8_t> packet(uint8_t first, const std::vector<uint8_t>& after_header) {
  const uint8_t header[] = {first, 0x80 | 101, 0x12, 0x34, 0, 0, 0x03, 0xe8, 0xde, 0xad, 0xbe, 0xef};
  std::vector<uint8_t> p(sizeof header + after_header.size());
  std::copy(std::begin(header), std::end(header), p.begin());
  std::copy(after_header.begin(), after_header.end(), p.begin() + sizeof header);
  return p;
}

TEST(RtpView, ReadsTheFixedHeader) {
  RtpView v;
  const auto p = packet(0x80, {1, 2, 3, 4});
  ASSERT_TRUE(parse_rtp(p, v));
  EXPECT_TRUE(v.marker);
  EXPECT_EQ(v.payload_type, 101);
  EXPECT_EQ(v.sequence, 0x1234);
  EXPECT_EQ(v.timestamp, 1000u);
  EXPECT_EQ(v.ssrc, 0xdeadbeefu);
  EXPECT_EQ(v.payload.size(), 4u);
  EXPECT_EQ(v.payload[0], 1);
}

TEST(RtpView, SkipsCsrcsTheExtensionAndPadding) {
  RtpView v;
  // One CSRC, an extension of one word, 4 bytes of payload, 3 of padding.
  const auto p = packet(0x80 | 0x20 | 0x10 | 1, {9, 9, 9, 9, 0xbe, 0xde, 0, 1, 7, 7, 7, 7, 5, 6, 7, 8, 0, 0, 3});
  ASSERT_TRUE(parse_rtp(p, v));
  ASSERT_EQ(v.payload.size(), 4u);
  EXPECT_EQ(v.payload[0], 5);
  EXPECT_EQ(v.payload[3], 8);
}

TEST(RtpView, RefusesWhatIsNotWhole) {
  RtpView v;
  EXPECT_FALSE(parse_rtp(std::vector<uint8_t>(11, 0x80), v));  // shorter than a header
  EXPECT_FALSE(parse_rtp(packet(0x40, {1, 2, 3, 4}), v));       // version 1
  EXPECT_FALSE(parse_rtp(packet(0x80 | 2, {1, 2, 3, 4}), v));   // two CSRCs, one word there
  EXPECT_FALSE(parse_rtp(packet(0x80 | 0x10, {0xbe, 0xde}), v));               // extension header cut
  EXPECT_FALSE(parse_rtp(packet(0x80 | 0x10, {0xbe, 0xde, 0, 2, 1, 2, 3, 4}), v));  // extension past the end
  EXPECT_FALSE(parse_rtp(packet(0x80 | 0x20, {1, 2, 3, 0}), v));   // padding count 0
  EXPECT_FALSE(parse_rtp(packet(0x80 | 0x20, {1, 2, 3, 200}), v));  // padding past the start
}

}  // namespace
}  // namespace tandem::attendant
