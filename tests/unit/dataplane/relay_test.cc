#include "dataplane/relay.h"

#include <gtest/gtest.h>

#include <functional>

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

// Two legs of one session: packets arrive on leg 0 (`in`) and leave through leg 1 (`out`),
// whose remote control already knows.
class RelayTest : public ::testing::Test {
 protected:
  RelayTest() {
    in.local_ip = kInLocalIp;
    in.local_port = htons(kInLocalPort);
    in.flags = kLegDefaultMode;
    in_counters.rtp.clock_khz = 8;
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
    return relay_packet(session, 0, p, payload.data(), RelayClock{now_ms, uint64_t{now_ms} * 1000});
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

  Session session{};
  LegPath& in = session.paths[0];
  LegPath& out = session.paths[1];
  LegCounters& in_counters = session.counters[0];
  LegCounters& out_counters = session.counters[1];
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
  EXPECT_EQ(in_counters.packets, 1u) << "refused packets are not counted as relayed";
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
  EXPECT_EQ(in_counters.rtcp_packets, 1u);

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
  const uint32_t rtp_received = in_counters.rtp.received;
  const uint16_t max_seq = in_counters.rtp.max_seq;
  const RelayResult r = receive(kHostA, 5004, To::rtp_port, test::rtcp_payload(200));
  ASSERT_TRUE(r.forward);
  EXPECT_EQ(in_counters.rtcp_packets, 1u);
  EXPECT_EQ(in_counters.packets, 3u);
  EXPECT_EQ(in_counters.rtp.received, rtp_received) << "RTCP must not feed the RTP statistics";
  EXPECT_EQ(in_counters.rtp.max_seq, max_seq);
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
  expect_dropped(receive(kHostA, 5005, To::rtcp_port, test::rtcp_payload(200, 7)), DropReason::bad_rtcp);
  expect_dropped(receive(kHostA, 5005, To::rtcp_port, test::rtcp_payload(200, 28, 3)), DropReason::bad_rtcp);
  EXPECT_EQ(in.drop_bad_rtp, 5u);
  EXPECT_EQ(in_counters.packets, 0u);
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
  EXPECT_EQ(in_counters.last_rx_ms, now_ms) << "and is not idle";
  EXPECT_EQ(in_counters.packets, 0u) << "nothing was relayed";
  EXPECT_EQ(in_counters.rtp.state & kRtpStarted, kRtpStarted) << "but the stream is measured";

  out.remote = Remote{kOutRemoteIp, 0, 0}.pack();  // an address without a port is not enough
  expect_dropped(rtp_from(kHostA, 5004), DropReason::no_destination);

  out.remote = remote(kOutRemoteIp, 7078, 7079).pack();
  EXPECT_TRUE(rtp_from(kHostA, 5004).forward);
}

TEST_F(RelayTest, ALegWhoseFarEndIsTheNodeSendsTheOtherLegsPacketsToTheKernel) {
  out.remote = 0;  // the attendant: no remote, the node answers on the relay's address
  out.flags = kLegDefaultMode | kLegNode;
  RelayResult r = rtp_from(kHostA, 5004);
  EXPECT_TRUE(r.forward);
  EXPECT_TRUE(r.to_node);
  EXPECT_TRUE(receive(kHostA, 5005, To::rtcp_port, test::rtcp_payload()).to_node) << "RTCP too";
  EXPECT_EQ(in_counters.packets, 2u) << "counted as relayed: the menu's media is in the CDR";
  expect_dropped(rtp_from(kHostB, 5004), DropReason::source_mismatch);  // the caller's latching still applies

  out.flags = kLegDefaultMode;  // the transfer: an ordinary leg again
  out.remote = remote(kOutRemoteIp, 7078, 7079).pack();
  r = rtp_from(kHostA, 5004);
  EXPECT_TRUE(r.forward);
  EXPECT_FALSE(r.to_node);
  EXPECT_EQ(r.out.dst_ip, kOutRemoteIp);
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

// With several workers the other leg's RTCP can overtake its first RTP: it
// latched only its RTCP port, and RTCP goes back there, while RTP waits.
TEST_F(RelayTest, RtcpGoesBackToALegThatLatchedOnlyItsRtcp) {
  out.remote = remote(kOutRemoteIp, 0, 7079).pack();
  const RelayResult r = rtcp_from(kHostA, 5005);
  ASSERT_TRUE(r.forward);
  EXPECT_EQ(r.out.dst_port, htons(7079));
  expect_dropped(rtp_from(kHostA, 5004), DropReason::no_destination);
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
  EXPECT_EQ(in_counters.packets, 4u);
  EXPECT_EQ(in_counters.bytes, 3u * 172 + 52);
  EXPECT_EQ(in_counters.rtcp_packets, 1u);
  EXPECT_EQ(in_counters.last_rx_ms, now_ms);
  const uint32_t last = now_ms;

  expect_dropped(rtp_from(kHostB, 5004), DropReason::source_mismatch);
  EXPECT_EQ(in_counters.packets, 4u);
  EXPECT_EQ(in_counters.bytes, 3u * 172 + 52);
  EXPECT_EQ(in_counters.last_rx_ms, last) << "a refused packet does not keep the leg alive";
  EXPECT_EQ(out_counters.packets, 0u) << "only the receiving leg counts";
}

TEST_F(RelayTest, RtpFeedsTheReceivingLegsStatistics) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(rtp_from(kHostA, 5004).forward);
  EXPECT_EQ(in_counters.rtp.ssrc, 0x11223344u);
  EXPECT_EQ(in_counters.rtp.received, 5u) << "the probation packets count once the source is valid";
  EXPECT_EQ(in_counters.rtp.max_seq, 1004);
  EXPECT_EQ(out_counters.rtp.received, 0u);
}

// RFC 3550 5.1 and A.1: what the fixed header announces must be in the packet.
TEST_F(RelayTest, RtpHeaderFieldsBeyondThePacketAreDropped) {
  auto with = [&](uint8_t first_octet, size_t media, const std::function<void(std::vector<uint8_t>&)>& edit = {}) {
    auto p = rtp(media);
    p[0] = first_octet;
    if (edit) edit(p);
    return receive(kHostA, 5004, To::rtp_port, p);
  };
  expect_dropped(with(0x8f, 56), DropReason::bad_rtp);  // 15 CSRCs: 60 bytes, 56 there
  EXPECT_TRUE(with(0x8f, 60).forward) << "exactly the CSRC list";
  // X: the extension header's length (in 32-bit words) must fit.
  expect_dropped(with(0x90, 3), DropReason::bad_rtp);  // not even the extension header
  expect_dropped(with(0x90, 8, [](auto& p) { p[14] = 0; p[15] = 2; }), DropReason::bad_rtp);  // 4 + 8 > 8
  EXPECT_TRUE(with(0x90, 12, [](auto& p) { p[14] = 0; p[15] = 2; }).forward);
  // P: the last octet counts the padding, itself included; never 0, never past the header.
  expect_dropped(with(0xa0, 20, [](auto& p) { p.back() = 0; }), DropReason::bad_rtp);
  expect_dropped(with(0xa0, 20, [](auto& p) { p.back() = 21; }), DropReason::bad_rtp);
  EXPECT_TRUE(with(0xa0, 20, [](auto& p) { p.back() = 20; }).forward) << "all of the payload is padding";
  expect_dropped(with(0xa1, 8, [](auto& p) { p.back() = 5; }), DropReason::bad_rtp);  // a CSRC, then 4 bytes
  EXPECT_EQ(in.drop_bad_rtp, 6u);
}

TEST_F(RelayTest, RtcpLengthBeyondThePacketIsDropped) {
  auto rtcp = test::rtcp_payload(200, 28);
  rtcp[3] = 7;  // 32 bytes announced, 28 there
  expect_dropped(receive(kHostA, 5005, To::rtcp_port, rtcp), DropReason::bad_rtcp);
  auto compound = test::rtcp_payload(200, 28);
  const auto sdes = test::rtcp_payload(202, 12);
  compound.insert(compound.end(), sdes.begin(), sdes.end());
  compound.insert(compound.end(), 14, 0xee);  // an SRTCP trailer: index and tag
  EXPECT_TRUE(receive(kHostA, 5005, To::rtcp_port, compound).forward);
}

TEST(Martians, SourcesThatCanNeverBeAPeer) {
  const uint32_t own = ipv4("198.18.0.1");
  for (const char* a : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.0.9", "224.0.0.1", "239.1.2.3", "240.0.0.1",
                        "255.255.255.255", "198.18.0.1"}) {
    EXPECT_TRUE(is_martian(ipv4(a), own)) << a;
  }
  for (const char* a : {"1.0.0.1", "10.0.0.1", "126.255.255.255", "128.0.0.1", "198.18.0.2", "223.255.255.254"}) {
    EXPECT_FALSE(is_martian(ipv4(a), own)) << a;
  }
}

TEST_F(RelayTest, MartianSourcesNeverLatch) {
  for (const char* a : {"0.0.0.0", "255.255.255.255", "224.0.0.5", "240.1.1.1", "127.0.0.1"}) {
    expect_dropped(rtp_from(ipv4(a), 5004), DropReason::martian_source);
  }
  expect_dropped(rtp_from(in.local_ip, 5004), DropReason::martian_source);  // the relay itself
  EXPECT_EQ(in.drop_source, 6u);
  EXPECT_FALSE(in_remote().known());
  EXPECT_TRUE(rtp_from(kHostA, 5004).forward) << "the real caller still latches";
  EXPECT_EQ(in_remote(), remote(kHostA, 5004, 5005));
}

// A remote from signalling bounds who may latch (issue: media hijack).
TEST_F(RelayTest, SignalledRemoteLetsOnlyItsAddressLatch) {
  in.remote = remote(kHostA, 6000, 6001).pack();
  expect_dropped(rtp_from(kHostB, 6000), DropReason::source_mismatch);  // a stranger first
  expect_dropped(rtcp_from(kHostB, 6001), DropReason::source_mismatch);
  EXPECT_EQ(in_flags() & (kLegLatchedRtp | kLegLatchedRtcp), 0) << "the stranger latched nothing";
  EXPECT_TRUE(rtp_from(kHostA, 7000).forward) << "address only by default: the port may differ (NAT)";
  EXPECT_EQ(in_remote().rtp_port, htons(7000));
  expect_dropped(rtp_from(kHostB, 7000), DropReason::source_mismatch);
}

TEST_F(RelayTest, SignalledRemoteWithLockedPort) {
  in.flags = kLegDefaultMode | kLegLockPort;
  in.remote = remote(kHostA, 6000, 6001).pack();
  expect_dropped(rtp_from(kHostA, 7000), DropReason::source_mismatch);
  EXPECT_TRUE(rtp_from(kHostA, 6000).forward);
  expect_dropped(rtcp_from(kHostA, 7001), DropReason::source_mismatch);
  EXPECT_TRUE(rtcp_from(kHostA, 6001).forward);
}

TEST_F(RelayTest, SignalledRemoteWithoutLockLearnsAnyone) {
  in.flags = kLegLearn | kLegStrict;
  in.remote = remote(kHostA, 6000, 6001).pack();
  EXPECT_TRUE(rtp_from(kHostB, 7000).forward);
  EXPECT_EQ(in_remote(), remote(kHostB, 7000, 7001));
}

TEST_F(RelayTest, NonStrictRelatchingStaysOnTheLockedAddress) {
  in.flags = kLegLearn | kLegLockAddress;
  in.remote = remote(kHostA, 6000, 6001).pack();
  EXPECT_TRUE(rtp_from(kHostA, 6000).forward);
  EXPECT_TRUE(rtp_from(kHostA, 6100).forward) << "the same host from another port re-latches";
  EXPECT_EQ(in_remote().rtp_port, htons(6100));
  expect_dropped(rtp_from(kHostB, 6000), DropReason::source_mismatch);
}

}  // namespace
}  // namespace tandem::dp
