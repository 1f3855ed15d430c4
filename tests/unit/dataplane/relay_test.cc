#include "dataplane/relay.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/dataplane/frame_builder.h"

namespace tandem::dp {
namespace {

using test::ipv4;

const uint32_t kHostA = ipv4("203.0.113.10");
const uint32_t kHostB = ipv4("203.0.113.66");
const uint32_t kInLocalIp = ipv4("198.18.0.1");
const uint32_t kOutLocalIp = ipv4("198.18.1.1");
const uint32_t kOutRemoteIp = ipv4("192.0.2.20");
constexpr uint16_t kInLocalPort = 30000;   // host order; RTCP on 30001
constexpr uint16_t kOutLocalPort = 30002;  // host order; RTCP on 30003
constexpr uint8_t kOutDpdkPort = 1;

enum class To { rtp_port, rtcp_port };

Remote remote(uint32_t ip, uint16_t rtp_port, uint16_t rtcp_port) {
  return Remote{ip, htons(rtp_port), htons(rtcp_port)};
}

// Two legs of one session: packets arrive on `in` and leave through `out`,
// whose remote control already knows.
class RelayTest : public ::testing::Test {
 protected:
  RelayTest() {
    in.local_ip = kInLocalIp;
    in.local_port = htons(kInLocalPort);
    in.flags = kLegDefaultMode;
    in.rtp.clock_khz = 8;
    out.local_ip = kOutLocalIp;
    out.local_port = htons(kOutLocalPort);
    out.flags = kLegDefaultMode;
    out.port = kOutDpdkPort;
    out.remote = remote(kOutRemoteIp, 7078, 7079).pack();
  }

  // One packet from ip:port (host order) to the in leg's RTP or RTCP port.
  RelayResult receive(uint32_t src_ip, uint16_t src_port, To to, const std::vector<uint8_t>& payload) {
    ParsedPacket p{};
    p.l3_offset = 14;
    p.l4_offset = 34;
    p.src_ip = src_ip;
    p.dst_ip = in.local_ip;
    p.src_port = htons(src_port);
    p.dst_port = htons(static_cast<uint16_t>(kInLocalPort + (to == To::rtcp_port ? 1 : 0)));
    p.payload_len = static_cast<uint16_t>(payload.size());
    now_ms += 20;
    return relay_packet(in, out, p, payload.data(), RelayClock{now_ms, uint64_t{now_ms} * 1000});
  }
  // The next packet of an RTP stream, `media` bytes after its header.
  std::vector<uint8_t> rtp(size_t media = 160) {
    test::RtpSpec r;
    r.seq = seq++;
    r.timestamp = 160u * r.seq;
    r.media_bytes = media;
    return test::rtp_payload(r);
  }
  RelayResult rtp_from(uint32_t ip, uint16_t port) { return receive(ip, port, To::rtp_port, rtp()); }
  RelayResult rtcp_from(uint32_t ip, uint16_t port) { return receive(ip, port, To::rtcp_port, test::rtcp_payload()); }

  Remote in_remote() const { return Remote::unpack(in.remote.load()); }
  uint8_t in_flags() const { return in.flags.load(); }

  Leg in{};
  Leg out{};
  uint32_t now_ms = 5000;
  uint16_t seq = 1000;
};

void expect_dropped(const RelayResult& r, DropReason reason) {
  EXPECT_FALSE(r.forward);
  EXPECT_EQ(r.reason, reason);
}

TEST_F(RelayTest, FirstRtpPacketLatchesRemoteAndGuessesRtcpPort) {
  EXPECT_FALSE(in_remote().known());
  EXPECT_TRUE(rtp_from(kHostA, 5004).forward);
  EXPECT_EQ(in_remote(), remote(kHostA, 5004, 5005));
  EXPECT_TRUE(in_flags() & kLegLatchedRtp);
  EXPECT_FALSE(in_flags() & kLegLatchedRtcp);
  EXPECT_EQ(in_flags() & kLegModeMask, kLegDefaultMode) << "mode bits untouched";
}

TEST_F(RelayTest, StrictModeDropsOtherSourcesOnceLatched) {
  ASSERT_TRUE(rtp_from(kHostA, 5004).forward);
  expect_dropped(rtp_from(kHostB, 5004), DropReason::source_mismatch);  // another host
  expect_dropped(rtp_from(kHostA, 5006), DropReason::source_mismatch);  // another port of the host
  EXPECT_EQ(in.drop_source, 2u);
  EXPECT_EQ(in_remote(), remote(kHostA, 5004, 5005));
  EXPECT_EQ(in.packets, 1u) << "refused packets are not counted as relayed";
  EXPECT_TRUE(rtp_from(kHostA, 5004).forward);
}

TEST_F(RelayTest, NonStrictModeRelatchesToTheLatestSource) {
  in.flags = kLegLearn;
  ASSERT_TRUE(rtp_from(kHostA, 5004).forward);
  const RelayResult r = rtp_from(kHostB, 6000);
  EXPECT_TRUE(r.forward);
  EXPECT_EQ(in_remote(), remote(kHostB, 6000, 6001));
  EXPECT_EQ(in.drop_source, 0u);
  EXPECT_EQ(r.out.dst_ip, kOutRemoteIp) << "re-latching changes this leg, not where media goes";
}

TEST_F(RelayTest, LearningOffAndStrictAcceptsOnlyTheControlGivenAddress) {
  in.flags = kLegStrict;
  in.remote = remote(kHostA, 6000, 6001).pack();
  EXPECT_TRUE(rtp_from(kHostA, 6000).forward);
  EXPECT_TRUE(rtcp_from(kHostA, 6001).forward);
  expect_dropped(rtp_from(kHostB, 6000), DropReason::source_mismatch);
  expect_dropped(rtp_from(kHostA, 6002), DropReason::source_mismatch);
  expect_dropped(rtcp_from(kHostA, 6000), DropReason::source_mismatch);  // the RTP port sending RTCP
  EXPECT_EQ(in.drop_source, 3u);
  EXPECT_EQ(in_remote(), remote(kHostA, 6000, 6001));
  EXPECT_EQ(in_flags(), kLegStrict) << "nothing latches when learning is off";
}

TEST_F(RelayTest, LearningOffAndNotStrictAcceptsAnySourceWithoutLatching) {
  in.flags = 0;
  in.remote = remote(kHostA, 6000, 6001).pack();
  EXPECT_TRUE(rtp_from(kHostB, 7000).forward);
  EXPECT_EQ(in_remote(), remote(kHostA, 6000, 6001));
  EXPECT_EQ(in_flags(), 0);
}

TEST_F(RelayTest, LearningOffAndStrictRefusesEveryoneUntilControlGivesTheAddress) {
  in.flags = kLegStrict;
  expect_dropped(rtp_from(kHostB, 7000), DropReason::source_mismatch);
  EXPECT_EQ(in.drop_source, 1u);
  EXPECT_FALSE(in_remote().known());
  EXPECT_EQ(in_flags(), kLegStrict);

  in.remote = remote(kHostA, 6000, 6001).pack();
  EXPECT_TRUE(rtp_from(kHostA, 6000).forward);
}

TEST_F(RelayTest, LatchingRtpKeepsTheRtcpPortSignallingGave) {
  in.remote = remote(kHostA, 5004, 5004).pack();  // rtcp-mux
  ASSERT_TRUE(rtp_from(kHostA, 5004).forward);
  EXPECT_EQ(in_remote(), remote(kHostA, 5004, 5004));

  in.flags = kLegDefaultMode;
  in.remote = remote(kHostA, 5004, 5010).pack();  // a=rtcp:5010
  ASSERT_TRUE(rtp_from(kHostA, 5004).forward);
  EXPECT_EQ(in_remote(), remote(kHostA, 5004, 5010));

  in.flags = kLegDefaultMode;
  in.remote = remote(kHostA, 5004, 5004).pack();  // mux, but a NAT moved the port
  ASSERT_TRUE(rtp_from(kHostA, 6000).forward);
  EXPECT_EQ(in_remote(), remote(kHostA, 6000, 6000));

  in.flags = kLegDefaultMode;
  in.remote = remote(kHostA, 5004, 5010).pack();  // a NAT moved the port: RTCP is a guess now
  ASSERT_TRUE(rtp_from(kHostA, 6000).forward);
  EXPECT_EQ(in_remote(), remote(kHostA, 6000, 6001));
}

TEST_F(RelayTest, RtcpOnOddPortLatchesItsOwnPort) {
  ASSERT_TRUE(rtp_from(kHostA, 5004).forward);
  const RelayResult r = rtcp_from(kHostA, 5011);  // a NAT picked another port for RTCP
  EXPECT_TRUE(r.forward);
  EXPECT_EQ(in_remote(), remote(kHostA, 5004, 5011));
  EXPECT_TRUE(in_flags() & kLegLatchedRtp);
  EXPECT_TRUE(in_flags() & kLegLatchedRtcp);
  EXPECT_EQ(in.rtcp_packets, 1u);

  expect_dropped(rtcp_from(kHostA, 5005), DropReason::source_mismatch);  // the guess, now refused
  EXPECT_TRUE(rtp_from(kHostA, 5004).forward);
  EXPECT_EQ(in_remote(), remote(kHostA, 5004, 5011)) << "RTP keeps the latched RTCP port";
}

TEST_F(RelayTest, RtcpFirstThenRtpKeepsTheRtcpPort) {
  ASSERT_TRUE(rtcp_from(kHostA, 5011).forward);
  EXPECT_EQ(in_remote(), remote(kHostA, 0, 5011));
  EXPECT_EQ(in_flags() & (kLegLatchedRtp | kLegLatchedRtcp), kLegLatchedRtcp);
  ASSERT_TRUE(rtp_from(kHostA, 5004).forward);
  EXPECT_EQ(in_remote(), remote(kHostA, 5004, 5011));
}

TEST_F(RelayTest, StrictModeRefusesRtpFromAnotherHostThanTheLatchedRtcp) {
  ASSERT_TRUE(rtcp_from(kHostA, 5011).forward);
  expect_dropped(rtp_from(kHostB, 5004), DropReason::source_mismatch);
  EXPECT_EQ(in_remote(), remote(kHostA, 0, 5011));

  in.flags = kLegLearn | kLegLatchedRtcp;  // the same, not strict
  EXPECT_TRUE(rtp_from(kHostB, 5004).forward);
  EXPECT_EQ(in_remote(), remote(kHostB, 5004, 5011));
}

TEST_F(RelayTest, RtcpMuxOnTheRtpPortIsCountedAsRtcp) {
  ASSERT_TRUE(rtp_from(kHostA, 5004).forward);
  ASSERT_TRUE(rtp_from(kHostA, 5004).forward);
  const uint32_t rtp_received = in.rtp.received;
  const uint16_t max_seq = in.rtp.max_seq;
  const RelayResult r = receive(kHostA, 5004, To::rtp_port, test::rtcp_payload(200));
  ASSERT_TRUE(r.forward);
  EXPECT_EQ(in.rtcp_packets, 1u);
  EXPECT_EQ(in.packets, 3u);
  EXPECT_EQ(in.rtp.received, rtp_received) << "RTCP must not feed the RTP statistics";
  EXPECT_EQ(in.rtp.max_seq, max_seq);
  EXPECT_EQ(r.out.src_port, htons(kOutLocalPort)) << "muxed RTCP stays on the RTP ports";
  EXPECT_EQ(r.out.dst_port, htons(7078));
  EXPECT_FALSE(in_flags() & kLegLatchedRtcp);
}

TEST(IsRtcp, PacketTypeRangeOnEvenPortAnythingOnOddPort) {
  auto second_octet = [](uint8_t b) { return std::vector<uint8_t>{0x80, b}; };
  EXPECT_FALSE(is_rtcp(30000, second_octet(191).data(), 2));
  EXPECT_TRUE(is_rtcp(30000, second_octet(192).data(), 2));
  EXPECT_TRUE(is_rtcp(30000, second_octet(200).data(), 2));
  EXPECT_TRUE(is_rtcp(30000, second_octet(223).data(), 2));
  EXPECT_FALSE(is_rtcp(30000, second_octet(224).data(), 2));  // marker + PT 96
  EXPECT_FALSE(is_rtcp(30000, second_octet(0).data(), 2));
  EXPECT_FALSE(is_rtcp(30000, second_octet(200).data(), 1)) << "too short to tell";
  EXPECT_TRUE(is_rtcp(30001, second_octet(0).data(), 2));
  EXPECT_TRUE(is_rtcp(30001, nullptr, 0));
}

TEST_F(RelayTest, BadRtpAndRtcpAreDropped) {
  test::RtpSpec v1;
  v1.version = 1;
  expect_dropped(receive(kHostA, 5004, To::rtp_port, test::rtp_payload(v1)), DropReason::bad_rtp);
  auto short_rtp = rtp(0);
  short_rtp.resize(11);
  expect_dropped(receive(kHostA, 5004, To::rtp_port, short_rtp), DropReason::bad_rtp);
  expect_dropped(receive(kHostA, 5004, To::rtp_port, {}), DropReason::bad_rtp);
  expect_dropped(receive(kHostA, 5005, To::rtcp_port, test::rtcp_payload(200, 7)), DropReason::bad_rtp);
  expect_dropped(receive(kHostA, 5005, To::rtcp_port, test::rtcp_payload(200, 28, 3)), DropReason::bad_rtp);
  EXPECT_EQ(in.drop_bad_rtp, 5u);
  EXPECT_EQ(in.packets, 0u);
  EXPECT_FALSE(in_remote().known()) << "a bad packet must not latch";
  EXPECT_EQ(in_flags(), kLegDefaultMode);

  // The shortest good ones.
  EXPECT_TRUE(receive(kHostA, 5004, To::rtp_port, rtp(0)).forward);
  EXPECT_TRUE(receive(kHostA, 5005, To::rtcp_port, test::rtcp_payload(201, 8)).forward);
  EXPECT_EQ(in.drop_bad_rtp, 5u);
}

TEST_F(RelayTest, NoDestinationUntilTheOtherLegKnowsItsRemote) {
  out.remote = 0;
  expect_dropped(rtp_from(kHostA, 5004), DropReason::no_destination);
  EXPECT_EQ(in_remote(), remote(kHostA, 5004, 5005)) << "the receiving leg still latches";
  EXPECT_EQ(in.last_rx_ms, now_ms) << "and is not idle";
  EXPECT_EQ(in.packets, 0u) << "nothing was relayed";
  EXPECT_EQ(in.rtp.state & kRtpStarted, kRtpStarted) << "but the stream is measured";

  out.remote = Remote{kOutRemoteIp, 0, 0}.pack();  // an address without a port is not enough
  expect_dropped(rtp_from(kHostA, 5004), DropReason::no_destination);

  out.remote = remote(kOutRemoteIp, 7078, 7079).pack();
  EXPECT_TRUE(rtp_from(kHostA, 5004).forward);
}

TEST_F(RelayTest, RtpIsForwardedFromTheOutgoingLegsRtpPort) {
  const RelayResult r = rtp_from(kHostA, 5004);
  ASSERT_TRUE(r.forward);
  EXPECT_EQ(r.out.src_ip, kOutLocalIp);
  EXPECT_EQ(r.out.dst_ip, kOutRemoteIp);
  EXPECT_EQ(r.out.src_port, htons(kOutLocalPort));
  EXPECT_EQ(r.out.dst_port, htons(7078));
  EXPECT_EQ(r.out.port, kOutDpdkPort);
}

TEST_F(RelayTest, RtcpIsForwardedFromTheOutgoingLegsRtcpPort) {
  out.remote = remote(kOutRemoteIp, 7078, 9999).pack();  // RTCP latched elsewhere
  const RelayResult r = rtcp_from(kHostA, 5005);
  ASSERT_TRUE(r.forward);
  EXPECT_EQ(r.out.src_ip, kOutLocalIp);
  EXPECT_EQ(r.out.dst_ip, kOutRemoteIp);
  EXPECT_EQ(r.out.src_port, htons(kOutLocalPort + 1));
  EXPECT_EQ(r.out.dst_port, htons(9999));
  EXPECT_EQ(r.out.port, kOutDpdkPort);
}

TEST_F(RelayTest, CountsPacketsBytesAndLastReceiveTime) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(receive(kHostA, 5004, To::rtp_port, rtp(160)).forward);
  ASSERT_TRUE(receive(kHostA, 5005, To::rtcp_port, test::rtcp_payload(200, 52)).forward);
  EXPECT_EQ(in.packets, 4u);
  EXPECT_EQ(in.bytes, 3u * 172 + 52);
  EXPECT_EQ(in.rtcp_packets, 1u);
  EXPECT_EQ(in.last_rx_ms, now_ms);
  const uint32_t last = now_ms;

  expect_dropped(rtp_from(kHostB, 5004), DropReason::source_mismatch);
  EXPECT_EQ(in.packets, 4u);
  EXPECT_EQ(in.bytes, 3u * 172 + 52);
  EXPECT_EQ(in.last_rx_ms, last) << "a refused packet does not keep the leg alive";
  EXPECT_EQ(out.packets, 0u) << "only the receiving leg counts";
}

TEST_F(RelayTest, RtpFeedsTheReceivingLegsStatistics) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(rtp_from(kHostA, 5004).forward);
  EXPECT_EQ(in.rtp.ssrc, 0x11223344u);
  EXPECT_EQ(in.rtp.received, 4u) << "RFC 3550 A.1: the first packet is on probation";
  EXPECT_EQ(in.rtp.max_seq, 1004);
  EXPECT_EQ(out.rtp.received, 0u);
}

}  // namespace
}  // namespace tandem::dp
