#include "dataplane/rewrite.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "dataplane/checksum.h"
#include "tests/unit/dataplane/frame_builder.h"

namespace tandem::dp {
namespace {

using test::FrameSpec;

constexpr size_t kHeadroom = 64;
constexpr uint8_t kSentinel = 0xee;

// A frame in a buffer with headroom in front, as in an mbuf, parsed as the fast
// path would before rewriting it.
struct Buffer {
  explicit Buffer(const FrameSpec& s) : bytes(kHeadroom + test::frame_size(s) + kHeadroom, kSentinel) {
    test::write_frame(s, start());
    original.assign(start(), start() + test::frame_size(s));
    const ParseResult r = parse_frame(start(), static_cast<uint32_t>(original.size()), parsed);
    EXPECT_EQ(r.verdict, Verdict::udp) << "the builder made a frame the parser refuses";
  }
  uint8_t* start() { return bytes.data() + kHeadroom; }

  std::vector<uint8_t> bytes;
  std::vector<uint8_t> original;
  ParsedPacket parsed{};
};

Egress egress(uint32_t src_ip, uint16_t src_port, uint32_t dst_ip, uint16_t dst_port, uint16_t vlan) {
  Egress e{};
  e.to = Forward{src_ip, dst_ip, htons(src_port), htons(dst_port), 1};
  e.src_mac[0] = 0x02;
  e.src_mac[5] = 0xaa;
  e.dst_mac[0] = 0x02;
  e.dst_mac[5] = 0xbb;
  e.vlan = vlan;
  return e;
}

// Everything a rewritten frame must satisfy, checked from its bytes alone.
void expect_rewritten(const uint8_t* f, uint32_t len, const Egress& e, const Buffer& in) {
  ParsedPacket out{};
  ASSERT_EQ(parse_frame(f, len, out).verdict, Verdict::udp);
  EXPECT_TRUE(std::equal(e.dst_mac, e.dst_mac + 6, f));
  EXPECT_TRUE(std::equal(e.src_mac, e.src_mac + 6, f + 6));
  EXPECT_EQ(out.has_vlan, e.vlan != 0);
  if (e.vlan != 0) {
    EXPECT_EQ(out.vlan_tci & 0x0fff, e.vlan);
  }

  const uint8_t* ip = f + out.l3_offset;
  EXPECT_EQ(ip[8], kRelayTtl);
  EXPECT_EQ(out.src_ip, e.to.src_ip);
  EXPECT_EQ(out.dst_ip, e.to.dst_ip);
  EXPECT_EQ(out.src_port, e.to.src_port);
  EXPECT_EQ(out.dst_port, e.to.dst_port);
  EXPECT_EQ(test::raw<uint16_t>(ip + 10), test::ipv4_checksum_reference(ip));
  EXPECT_EQ(fold32(csum_partial(ip, 20, 0)), 0xffff) << "header does not verify";

  const uint16_t in_udp_check = test::raw<uint16_t>(in.original.data() + in.parsed.l4_offset + 6);
  const uint16_t udp_check = test::raw<uint16_t>(ip + 26);
  if (in_udp_check == 0) {
    EXPECT_EQ(udp_check, 0) << "no checksum must stay no checksum";
  } else {
    EXPECT_EQ(udp_check, test::udp_checksum_reference(ip));
  }

  // From the IPv4 header's identification on, only addresses, ports and
  // checksums differ; the payload is untouched.
  const uint8_t* in_ip = in.original.data() + in.parsed.l3_offset;
  EXPECT_EQ(test::get_be16(ip + 2), test::get_be16(in_ip + 2));
  EXPECT_EQ(ip[9], in_ip[9]);
  EXPECT_EQ(test::get_be16(ip + 4), test::get_be16(in_ip + 4));
  EXPECT_EQ(test::get_be16(ip + 24), test::get_be16(in_ip + 24));
  EXPECT_TRUE(std::equal(in_ip + 28, in.original.data() + in.original.size(), ip + 28));
}

TEST(Rewrite, AddressesPortsMacsAndTtlAreWritten) {
  FrameSpec s;
  s.ttl = 3;
  Buffer b(s);
  const Egress e = egress(test::ipv4("198.18.0.1"), 30001, test::ipv4("203.0.113.50"), 7079, 0);
  uint8_t* f = rewrite_frame(b.start(), b.parsed, e);
  EXPECT_EQ(f, b.start());
  expect_rewritten(f, static_cast<uint32_t>(b.original.size()), e, b);
}

TEST(Rewrite, IncrementalChecksumsMatchFullRecomputation) {
  std::mt19937 rng(1624);
  std::uniform_int_distribution<uint32_t> u32;
  std::uniform_int_distribution<int> u8(0, 255);
  std::uniform_int_distribution<size_t> payload_len(0, 201);  // odd lengths too
  for (int i = 0; i < 20000; ++i) {
    FrameSpec s;
    s.src_ip = u32(rng);
    s.dst_ip = u32(rng);
    s.src_port = static_cast<uint16_t>(u32(rng));
    s.dst_port = static_cast<uint16_t>(u32(rng));
    s.ttl = static_cast<uint8_t>(u8(rng));
    s.payload.resize(payload_len(rng));
    for (auto& b : s.payload) b = static_cast<uint8_t>(u8(rng));
    s.udp_checksum = i % 10 != 0;
    if (i % 3 == 0) s.vlan_tci = static_cast<uint16_t>(u32(rng));
    Buffer b(s);
    const uint16_t out_vlan = i % 4 == 0 ? 0 : static_cast<uint16_t>(1 + u32(rng) % 4094);
    const Egress e = egress(u32(rng), static_cast<uint16_t>(u32(rng)), u32(rng), static_cast<uint16_t>(u32(rng)),
                            out_vlan);
    uint8_t* f = rewrite_frame(b.start(), b.parsed, e);
    const auto len = static_cast<uint32_t>(b.original.size() + (b.start() - f));
    ASSERT_NO_FATAL_FAILURE(expect_rewritten(f, len, e, b)) << "case " << i;
    if (testing::Test::HasFailure()) FAIL() << "case " << i;
  }
}

// Picks the last two payload bytes so that the frame, once rewritten to `e`,
// has a UDP checksum that computes to zero and must be sent as 0xffff.
FrameSpec frame_whose_rewritten_checksum_is_zero(const Egress& e) {
  FrameSpec s;
  s.payload.assign(20, 0x42);
  FrameSpec out = s;
  out.src_ip = e.to.src_ip;
  out.dst_ip = e.to.dst_ip;
  out.src_port = ntohs(e.to.src_port);
  out.dst_port = ntohs(e.to.dst_port);
  out.payload[18] = out.payload[19] = 0;
  const auto f = test::build_frame(out);
  const uint8_t* udp = f.data() + 34;
  // Sum of everything the checksum covers but the adjustable word; the word
  // that makes the total 0xffff (negative zero) is its complement.
  uint8_t pseudo[12] = {};
  std::memcpy(pseudo, f.data() + 26, 8);
  pseudo[9] = test::kProtoUdp;
  test::put_be16(pseudo + 10, 28);
  std::vector<uint8_t> seg(udp, udp + 28);
  seg[6] = seg[7] = 0;
  const uint16_t sum = fold32(csum_partial(seg.data(), 28, csum_partial(pseudo, 12, 0)));
  const auto word = static_cast<uint16_t>(~sum);
  std::memcpy(&s.payload[18], &word, 2);
  return s;
}

TEST(Rewrite, ComputedZeroUdpChecksumIsSentAsAllOnes) {
  const Egress e = egress(test::ipv4("198.18.0.1"), 30000, test::ipv4("203.0.113.9"), 40000, 0);
  Buffer b(frame_whose_rewritten_checksum_is_zero(e));
  ASSERT_NE(test::raw<uint16_t>(b.original.data() + 40), 0);
  uint8_t* f = rewrite_frame(b.start(), b.parsed, e);
  EXPECT_EQ(test::raw<uint16_t>(f + 40), 0xffff);
  expect_rewritten(f, static_cast<uint32_t>(b.original.size()), e, b);
}

TEST(Rewrite, AllOnesUdpChecksumIsUpdatedLikeAnyOther) {
  // The frame arrives with a computed zero sent as 0xffff; rewriting it back
  // to where it came from must give a real checksum, not "none".
  const Egress there = egress(test::ipv4("198.18.0.1"), 30000, test::ipv4("203.0.113.9"), 40000, 0);
  FrameSpec s = frame_whose_rewritten_checksum_is_zero(there);
  s.src_ip = there.to.src_ip;
  s.dst_ip = there.to.dst_ip;
  s.src_port = 30000;
  s.dst_port = 40000;
  Buffer b(s);
  ASSERT_EQ(test::raw<uint16_t>(b.original.data() + 40), 0xffff);
  const Egress back = egress(test::ipv4("198.51.100.1"), 30002, test::ipv4("192.0.2.77"), 5004, 0);
  uint8_t* f = rewrite_frame(b.start(), b.parsed, back);
  expect_rewritten(f, static_cast<uint32_t>(b.original.size()), back, b);
}

TEST(Rewrite, ZeroUdpChecksumStaysZero) {
  FrameSpec s;
  s.udp_checksum = false;
  Buffer b(s);
  ASSERT_EQ(test::raw<uint16_t>(b.original.data() + 40), 0);
  const Egress e = egress(test::ipv4("10.1.2.3"), 31000, test::ipv4("10.9.8.7"), 9, 0);
  uint8_t* f = rewrite_frame(b.start(), b.parsed, e);
  EXPECT_EQ(test::raw<uint16_t>(f + 40), 0);
}

TEST(Rewrite, AddingVlanTagMovesFrameBackFourBytes) {
  FrameSpec s;
  Buffer b(s);
  const Egress e = egress(test::ipv4("198.18.0.1"), 30000, test::ipv4("203.0.113.9"), 40000, 123);
  uint8_t* f = rewrite_frame(b.start(), b.parsed, e);
  ASSERT_EQ(f, b.start() - 4);
  EXPECT_EQ(test::get_be16(f + 12), test::kEtherVlan);
  EXPECT_EQ(test::get_be16(f + 14), 123);  // PCP 0, DEI 0
  EXPECT_EQ(test::get_be16(f + 16), test::kEtherIpv4);
  EXPECT_TRUE(std::all_of(b.bytes.begin(), b.bytes.begin() + kHeadroom - 4, [](uint8_t x) { return x == kSentinel; }))
      << "wrote before the new frame start";
  expect_rewritten(f, static_cast<uint32_t>(b.original.size() + 4), e, b);
}

TEST(Rewrite, RemovingVlanTagMovesFrameForwardFourBytes) {
  FrameSpec s;
  s.vlan_tci = 0x6064;  // PCP 3, VID 100
  Buffer b(s);
  const Egress e = egress(test::ipv4("198.18.0.1"), 30000, test::ipv4("203.0.113.9"), 40000, 0);
  uint8_t* f = rewrite_frame(b.start(), b.parsed, e);
  ASSERT_EQ(f, b.start() + 4);
  EXPECT_EQ(test::get_be16(f + 12), test::kEtherIpv4);
  expect_rewritten(f, static_cast<uint32_t>(b.original.size() - 4), e, b);
}

TEST(Rewrite, RetaggingKeepsPriorityAndDropEligibleBits) {
  FrameSpec s;
  s.vlan_tci = 0xb00a;  // PCP 5, DEI 1, VID 10
  Buffer b(s);
  const Egress e = egress(test::ipv4("198.18.0.1"), 30000, test::ipv4("203.0.113.9"), 40000, 0x0fa0);
  uint8_t* f = rewrite_frame(b.start(), b.parsed, e);
  ASSERT_EQ(f, b.start());
  EXPECT_EQ(test::get_be16(f + 14), 0xbfa0);
  expect_rewritten(f, static_cast<uint32_t>(b.original.size()), e, b);
}

TEST(Rewrite, UntaggedToUntaggedStaysInPlace) {
  FrameSpec s;
  Buffer b(s);
  const Egress e = egress(test::ipv4("198.18.0.1"), 30000, test::ipv4("203.0.113.9"), 40000, 0);
  EXPECT_EQ(rewrite_frame(b.start(), b.parsed, e), b.start());
  EXPECT_TRUE(std::all_of(b.bytes.begin(), b.bytes.begin() + kHeadroom, [](uint8_t x) { return x == kSentinel; }));
}

TEST(Checksum, Rfc1624ExampleAndUdpZeroRule) {
  // RFC 1624's own example: a header checksum of 0xdd2f with a word changing
  // from 0x5555 to 0x3285 becomes 0x0000.
  EXPECT_EQ(csum_replace16(htons(0xdd2f), htons(0x5555), htons(0x3285)), htons(0x0000));
  EXPECT_EQ(udp_csum_finish(0, 0x1234), 0);
  EXPECT_EQ(udp_csum_finish(0x1111, 0), 0xffff);
  EXPECT_EQ(udp_csum_finish(0x1111, 0x2222), 0x2222);
}

// Verification of received checksums (checksum.h), against the references.
TEST(ChecksumVerify, GoodBadAndAbsent) {
  std::mt19937 rng(7);
  for (size_t payload : {0, 1, 2, 3, 20, 31, 32, 33, 160, 172, 1400}) {
    SCOPED_TRACE("payload " + std::to_string(payload));
    FrameSpec s;
    s.payload.resize(payload);
    for (auto& b : s.payload) b = static_cast<uint8_t>(rng());
    auto f = build_frame(s);
    uint8_t* ip = f.data() + test::kEthLen;
    uint8_t* udp = ip + test::kIpLen;
    const uint32_t udp_len = static_cast<uint32_t>(test::kUdpLen + payload);
    EXPECT_TRUE(ipv4_header_checksum_ok(ip, 20));
    EXPECT_TRUE(udp_checksum_ok(ip, udp, udp_len));
    ip[8] ^= 1;  // the TTL: in the IP header only
    EXPECT_FALSE(ipv4_header_checksum_ok(ip, 20));
    EXPECT_TRUE(udp_checksum_ok(ip, udp, udp_len)) << "the TTL is not in the pseudo-header";
    ip[8] ^= 1;
    ip[15] ^= 0x10;  // the source address: in both
    EXPECT_FALSE(ipv4_header_checksum_ok(ip, 20));
    EXPECT_FALSE(udp_checksum_ok(ip, udp, udp_len));
    ip[15] ^= 0x10;
    if (payload) {
      udp[test::kUdpLen + payload - 1] ^= 0x01;  // the last byte, odd lengths included
      EXPECT_FALSE(udp_checksum_ok(ip, udp, udp_len));
      udp[6] = udp[7] = 0;  // no checksum at all (RFC 768)
      EXPECT_TRUE(udp_checksum_ok(ip, udp, udp_len));
    }
  }
}

}  // namespace
}  // namespace tandem::dp
