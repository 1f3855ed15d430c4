// tandem-bench-rtp-load's streams: which legs it sends for, what it sends, and
// how it accounts what comes back (bench/rtp_load_streams.h).
#include "bench/rtp_load_streams.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace tandem::bench::rtpload {
namespace {

namespace proto = dp::proto;

uint32_t ip(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a.s_addr;
}

proto::LegInfo leg(const char* remote, uint16_t local_port, uint16_t remote_port, uint8_t port) {
  proto::LegInfo l{};
  l.local_ip = ip("198.18.70.1");
  l.remote_ip = ip(remote);
  l.local_port = local_port;
  l.remote_port = remote_port;
  l.port = port;
  return l;
}

proto::SessionInfo session(uint8_t port, uint16_t local, uint16_t remote_a, uint16_t remote_b) {
  proto::SessionInfo s{};
  s.legs[0] = leg("198.18.70.2", local, remote_a, port);
  s.legs[1] = leg("198.18.70.3", static_cast<uint16_t>(local + 2), remote_b, port);
  return s;
}

using Packet = std::array<uint8_t, kRtpBytes>;

Packet packet(const Streams& s, uint32_t sender, uint32_t k) {
  Packet p{};
  s.write_rtp(sender, k, p.data());
  return p;
}

Streams two_sessions() {
  Skipped skipped;
  return Streams::from_sessions({session(0, 30000, 4000, 6000), session(0, 30004, 4002, 6002)}, 0, skipped);
}

TEST(RtpLoadStreams, TakesOnlySessionsWithBothLegsOnThePortAndTheirRemotesKnown) {
  auto no_remote = session(0, 30008, 4004, 6004);
  no_remote.legs[1].remote_ip = 0;
  Skipped skipped;
  const Streams s = Streams::from_sessions(
      {session(0, 30000, 4000, 6000), session(1, 30004, 4002, 6002), no_remote}, 0, skipped);
  EXPECT_EQ(s.sessions(), 1u);
  EXPECT_EQ(skipped.other_port, 2u);
  EXPECT_EQ(skipped.remote_unknown, 1u);
  EXPECT_EQ(s.remote_ips().size(), 2u);
  EXPECT_TRUE(s.is_remote(ip("198.18.70.3")));
  EXPECT_FALSE(s.is_remote(ip("198.18.70.1")));
  EXPECT_EQ(s.find_by_local(ip("198.18.70.1"), 30002), 1u);
  EXPECT_EQ(s.find_by_local(ip("198.18.70.1"), 30004), UINT32_MAX);
}

TEST(RtpLoadStreams, WritesG711PacketsWithSeqTimestampAndSsrcPerLeg) {
  const Streams s = two_sessions();
  const Packet a0 = packet(s, 0, 0), a1 = packet(s, 0, 1), b0 = packet(s, 1, 0);
  EXPECT_EQ(a0[0], 0x80);
  EXPECT_EQ(a0[1], kPayloadTypePcma);
  const auto seq = [](const Packet& p) { return static_cast<uint16_t>(p[2] << 8 | p[3]); };
  const auto word = [](const Packet& p, size_t at) { return uint32_t{p[at]} << 24 | p[at + 1] << 16 | p[at + 2] << 8 | p[at + 3]; };
  EXPECT_EQ(static_cast<uint16_t>(seq(a1) - seq(a0)), 1);
  EXPECT_EQ(word(a1, 4) - word(a0, 4), kPayloadBytes);
  EXPECT_EQ(word(a0, 8), word(a1, 8));
  EXPECT_NE(word(a0, 8), word(b0, 8));
}

TEST(RtpLoadStreams, CountsWhatTheOtherLegSentAsReceived) {
  Streams s = two_sessions();
  for (uint32_t k = 0; k < 5; ++k) {
    const Packet p = packet(s, 0, k);
    s.account(1, p.data(), kRtpBytes);
    ++s.legs()[0].sent;
  }
  const Totals t = totals(s.legs());
  EXPECT_EQ(s.legs()[1].received, 5u);
  EXPECT_EQ(t.expected, 5u);
  EXPECT_EQ(t.received, 5u);
  EXPECT_EQ(t.lost_by_seq, 0);
  EXPECT_EQ(t.bad, 0u);
  EXPECT_EQ(t.legs_without_packets, 3u);
}

TEST(RtpLoadStreams, CountsGapsReorderingAndDuplicatesBySeq) {
  Streams s = two_sessions();
  std::vector<uint32_t> timed;  // what the generator times: each packet once
  for (uint32_t k : {0u, 1u, 3u, 2u, 2u, 5u}) {
    const Packet p = packet(s, 0, k);
    if (const auto n = s.account(1, p.data(), kRtpBytes)) timed.push_back(*n);
  }
  EXPECT_EQ(timed, (std::vector<uint32_t>{0, 1, 3, 2, 5}));
  const Stream& leg = s.legs()[1];
  EXPECT_EQ(leg.received, 5u);
  EXPECT_EQ(leg.out_of_order, 1u);
  EXPECT_EQ(leg.duplicates, 1u);
  EXPECT_EQ(totals(s.legs()).lost_by_seq, 1);  // 4
}

TEST(RtpLoadStreams, FollowsTheSeqAcrossItsWrap) {
  Streams s = two_sessions();
  const uint32_t first = 65536u - s.legs()[0].first_seq - 3;  // seq 65533
  for (uint32_t k = first; k < first + 8; ++k) {
    const Packet p = packet(s, 0, k);
    s.account(1, p.data(), kRtpBytes);
  }
  const Stream& leg = s.legs()[1];
  EXPECT_EQ(leg.received, 8u);
  EXPECT_EQ(leg.max_ext_seq - leg.base_ext_seq, 7u);
  EXPECT_EQ(leg.out_of_order, 0u);
  EXPECT_EQ(totals(s.legs()).lost_by_seq, 0);
}

TEST(RtpLoadStreams, RefusesAnotherLegsPacketAChangedPayloadOrAShortOne) {
  Streams s = two_sessions();
  const Packet other = packet(s, 2, 0);  // the second session's: not leg 1's peer
  EXPECT_FALSE(s.account(1, other.data(), kRtpBytes).has_value());
  Packet changed = packet(s, 0, 0);
  changed[kRtpBytes - 1] ^= 1;
  s.account(1, changed.data(), kRtpBytes);
  const Packet good = packet(s, 0, 0);
  s.account(1, good.data(), kRtpBytes - 1);
  EXPECT_EQ(s.legs()[1].bad, 3u);
  EXPECT_EQ(s.legs()[1].received, 0u);
}

}  // namespace
}  // namespace tandem::bench::rtpload
