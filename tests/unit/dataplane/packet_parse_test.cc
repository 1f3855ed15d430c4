#include "dataplane/packet_parse.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "dataplane/fragment.h"
#include "tests/unit/dataplane/frame_builder.h"

namespace tandem::dp {
namespace {

using test::build_frame;
using test::FrameSpec;

struct Parsed {
  ParseResult result;
  ParsedPacket packet;
};

// Parses from a buffer of exactly `len` bytes so that a read past the end is a
// heap overread the sanitizers and valgrind see.
Parsed parse(const std::vector<uint8_t>& frame, size_t len) {
  std::vector<uint8_t> exact(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(len));
  Parsed p{};
  p.result = parse_frame(exact.data(), static_cast<uint32_t>(exact.size()), p.packet);
  return p;
}
Parsed parse(const std::vector<uint8_t>& frame) { return parse(frame, frame.size()); }

void expect_drop(const Parsed& p, DropReason reason) {
  EXPECT_EQ(p.result.verdict, Verdict::drop);
  EXPECT_EQ(p.result.reason, reason);
}
// The frame cut to its first `len` bytes.
void expect_drop(const std::vector<uint8_t>& frame, size_t len, DropReason reason) {
  SCOPED_TRACE("frame cut to " + std::to_string(len) + " bytes");
  expect_drop(parse(frame, len), reason);
}

TEST(PacketParse, PlainUdp) {
  FrameSpec s;
  s.src_ip = test::ipv4("203.0.113.7");
  s.dst_ip = test::ipv4("198.18.0.1");
  s.src_port = 40000;
  s.dst_port = 30002;
  s.payload.assign(172, 0x80);
  const Parsed p = parse(build_frame(s));
  ASSERT_EQ(p.result.verdict, Verdict::udp);
  EXPECT_FALSE(p.packet.has_vlan);
  EXPECT_EQ(p.packet.l3_offset, 14);
  EXPECT_EQ(p.packet.l4_offset, 34);
  EXPECT_EQ(p.packet.src_ip, test::ipv4("203.0.113.7"));
  EXPECT_EQ(p.packet.dst_ip, test::ipv4("198.18.0.1"));
  EXPECT_EQ(p.packet.src_port, htons(40000));
  EXPECT_EQ(p.packet.dst_port, htons(30002));
  EXPECT_EQ(p.packet.payload_len, 172);
}

TEST(PacketParse, UdpBehindVlanTag) {
  FrameSpec s;
  s.vlan_tci = 0xa00a;  // PCP 5, VID 10
  s.payload.assign(33, 0);
  const Parsed p = parse(build_frame(s));
  ASSERT_EQ(p.result.verdict, Verdict::udp);
  EXPECT_TRUE(p.packet.has_vlan);
  EXPECT_EQ(p.packet.vlan_tci, 0xa00a);
  EXPECT_EQ(p.packet.l3_offset, 18);
  EXPECT_EQ(p.packet.l4_offset, 38);
  EXPECT_EQ(p.packet.src_port, htons(s.src_port));
  EXPECT_EQ(p.packet.payload_len, 33);
}

TEST(PacketParse, EmptyUdpPayload) {
  FrameSpec s;
  s.payload.clear();
  const Parsed p = parse(build_frame(s));
  ASSERT_EQ(p.result.verdict, Verdict::udp);
  EXPECT_EQ(p.packet.payload_len, 0);
}

TEST(PacketParse, ArpIsArpTaggedOrNot) {
  FrameSpec s;
  s.ether_type = test::kEtherArp;
  Parsed p = parse(build_frame(s));
  EXPECT_EQ(p.result.verdict, Verdict::arp);
  EXPECT_EQ(p.packet.l3_offset, 14);

  s.vlan_tci = 20;
  p = parse(build_frame(s));
  EXPECT_EQ(p.result.verdict, Verdict::arp);
  EXPECT_EQ(p.packet.l3_offset, 18);
}

TEST(PacketParse, OtherEtherTypesArePunted) {
  for (uint16_t type : {test::kEtherIpv6, uint16_t{0x88cc} /* LLDP */, uint16_t{0x88a8} /* QinQ outer */}) {
    FrameSpec s;
    s.ether_type = type;
    EXPECT_EQ(parse(build_frame(s)).result.verdict, Verdict::punt) << std::hex << type;
    s.vlan_tci = 7;
    EXPECT_EQ(parse(build_frame(s)).result.verdict, Verdict::punt) << "tagged " << std::hex << type;
  }
}

TEST(PacketParse, NonUdpProtocolsArePunted) {
  for (uint8_t proto : {test::kProtoIcmp, test::kProtoTcp, uint8_t{47} /* GRE */}) {
    FrameSpec s;
    s.protocol = proto;
    EXPECT_EQ(parse(build_frame(s)).result.verdict, Verdict::punt) << int{proto};
  }
}

TEST(PacketParse, IpOptionsArePunted) {
  FrameSpec s;
  s.ip_option_words = 1;
  EXPECT_EQ(parse(build_frame(s)).result.verdict, Verdict::punt);
  s.ip_option_words = 10;  // IHL 15, the largest
  EXPECT_EQ(parse(build_frame(s)).result.verdict, Verdict::punt);
}

TEST(PacketParse, FragmentsArePunted) {
  FrameSpec s;
  s.frag = 0x2000;  // MF, offset 0: the first fragment
  EXPECT_EQ(parse(build_frame(s)).result.verdict, Verdict::punt);
  s.frag = 0x00b9;  // last fragment, offset 185 * 8
  EXPECT_EQ(parse(build_frame(s)).result.verdict, Verdict::punt);
  s.frag = 0x2001;  // a middle fragment
  EXPECT_EQ(parse(build_frame(s)).result.verdict, Verdict::punt);
  s.frag = 0x0000;  // neither DF nor MF: a whole datagram
  EXPECT_EQ(parse(build_frame(s)).result.verdict, Verdict::udp);
  s.frag = 0x4000;  // DF alone: a whole datagram
  EXPECT_EQ(parse(build_frame(s)).result.verdict, Verdict::udp);
}

TEST(PacketParse, TruncatedAtEachHeaderIsDropped) {
  FrameSpec untagged;
  const auto plain = build_frame(untagged);
  FrameSpec tagged_spec;
  tagged_spec.vlan_tci = 10;
  const auto tagged = build_frame(tagged_spec);

  for (size_t len : {0, 1, 13}) expect_drop(plain, len, DropReason::truncated);  // Ethernet
  for (size_t len : {14, 17}) expect_drop(tagged, len, DropReason::truncated);   // 802.1Q tag
  for (size_t len : {14, 33}) expect_drop(plain, len, DropReason::truncated);    // IPv4
  for (size_t len : {18, 37}) expect_drop(tagged, len, DropReason::truncated);   // IPv4 behind a tag
}

TEST(PacketParse, DatagramTooShortForUdpHeaderIsTruncated) {
  // A consistent IPv4 header whose datagram ends before the 8-byte UDP header.
  for (uint16_t total : {20, 27}) {
    FrameSpec s;
    auto f = build_frame(s);
    test::put_be16(&f[14 + 2], total);
    expect_drop(parse(f), DropReason::truncated);
  }
}

TEST(PacketParse, FrameCutInsideUdpHeaderIsTruncated) {
  // A frame that ends inside its UDP header is "shorter than its
  // Ethernet/IPv4/UDP headers" (drop_reasons.h), like one that ends inside its
  // IPv4 header. parse_frame() calls it bad_ip_header instead, because the
  // total-length check runs first.
  FrameSpec untagged;
  const auto plain = build_frame(untagged);
  for (size_t len : {34, 41}) expect_drop(plain, len, DropReason::truncated);
  FrameSpec tagged_spec;
  tagged_spec.vlan_tci = 10;
  const auto tagged = build_frame(tagged_spec);
  for (size_t len : {38, 45}) expect_drop(tagged, len, DropReason::truncated);
}

TEST(PacketParse, FrameShorterThanItsDatagramIsBadIpHeader) {
  // All headers are there but the IPv4 total length claims more than the frame
  // holds.
  FrameSpec s;
  const auto f = build_frame(s);
  for (size_t len : {size_t{42}, f.size() - 1}) expect_drop(f, len, DropReason::bad_ip_header);
}

TEST(PacketParse, BadIpHeaderFields) {
  FrameSpec s;
  const auto good = build_frame(s);
  const size_t ip = 14;
  auto with = [&](auto&& edit) {
    auto f = good;
    edit(f);
    return parse(f);
  };
  expect_drop(with([&](auto& f) { f[ip] = 0x65; }), DropReason::bad_ip_header);  // version 6
  expect_drop(with([&](auto& f) { f[ip] = 0x05; }), DropReason::bad_ip_header);  // version 0
  expect_drop(with([&](auto& f) { f[ip] = 0x44; }), DropReason::bad_ip_header);  // IHL 4
  expect_drop(with([&](auto& f) { f[ip] = 0x40; }), DropReason::bad_ip_header);  // IHL 0
  // Total length beyond the frame.
  expect_drop(with([&](auto& f) { test::put_be16(&f[ip + 2], static_cast<uint16_t>(f.size() - ip + 1)); }),
              DropReason::bad_ip_header);
  expect_drop(with([&](auto& f) { test::put_be16(&f[ip + 2], 0xffff); }), DropReason::bad_ip_header);
  // Total length below the header length.
  expect_drop(with([&](auto& f) { test::put_be16(&f[ip + 2], 19); }), DropReason::bad_ip_header);
  expect_drop(with([&](auto& f) { test::put_be16(&f[ip + 2], 0); }), DropReason::bad_ip_header);
  // IHL 6 with a total length of 20: checked before the options are punted.
  expect_drop(with([&](auto& f) {
                f[ip] = 0x46;
                test::put_be16(&f[ip + 2], 20);
              }),
              DropReason::bad_ip_header);
}

TEST(PacketParse, UdpLengthMustMatchIpPayload) {
  FrameSpec s;
  s.payload.assign(40, 0);
  const auto good = build_frame(s);
  const size_t udp_len_at = 14 + 20 + 4;
  for (uint16_t udp_len : {0, 7, 8, 47, 49, 0xffff}) {
    auto f = good;
    test::put_be16(&f[udp_len_at], udp_len);
    expect_drop(parse(f), DropReason::bad_udp_length);
  }
  EXPECT_EQ(parse(good).result.verdict, Verdict::udp);  // 48 is right
}

TEST(PacketParse, EthernetPaddingBeyondTheDatagramIsAccepted) {
  // A 10-byte RTCP-sized datagram pads the frame to the 60-byte minimum.
  FrameSpec s;
  s.payload.assign(2, 0x81);
  s.ethernet_padding = 60 - (14 + 20 + 8 + 2);
  const auto f = build_frame(s);
  ASSERT_EQ(f.size(), 60u);
  const Parsed p = parse(f);
  ASSERT_EQ(p.result.verdict, Verdict::udp);
  EXPECT_EQ(p.packet.payload_len, 2);  // from the IPv4/UDP lengths, not the frame

  s.vlan_tci = 99;
  s.ethernet_padding = 100;
  const Parsed tagged = parse(build_frame(s));
  ASSERT_EQ(tagged.result.verdict, Verdict::udp);
  EXPECT_EQ(tagged.packet.payload_len, 2);
}

// Whatever the bytes, the verdict must be one the rest of the fast path can act
// on without reading outside the frame.
void check_consistent(const std::vector<uint8_t>& f, const Parsed& p) {
  const size_t len = f.size();
  switch (p.result.verdict) {
    case Verdict::drop:
      ASSERT_TRUE(p.result.reason == DropReason::truncated || p.result.reason == DropReason::bad_ip_header ||
                  p.result.reason == DropReason::bad_udp_length)
          << testing::PrintToString(p.result.reason);
      break;
    case Verdict::arp:
    case Verdict::punt:
      ASSERT_GE(len, 14u);
      ASSERT_LE(p.packet.l3_offset, len);
      break;
    case Verdict::udp: {
      const ParsedPacket& pp = p.packet;
      ASSERT_EQ(pp.l3_offset, pp.has_vlan ? 18 : 14);
      ASSERT_EQ(pp.l4_offset, pp.l3_offset + 20);
      ASSERT_LE(size_t{pp.l4_offset} + 8 + pp.payload_len, len);
      const uint8_t* ip = f.data() + pp.l3_offset;
      ASSERT_EQ(ip[0], 0x45);
      ASSERT_EQ(ip[9], test::kProtoUdp);
      ASSERT_EQ(test::get_be16(ip + 2), 20 + 8 + pp.payload_len);
      ASSERT_EQ(pp.src_ip, test::raw<uint32_t>(ip + 12));
      ASSERT_EQ(pp.dst_ip, test::raw<uint32_t>(ip + 16));
      ASSERT_EQ(pp.src_port, test::raw<uint16_t>(ip + 20));
      ASSERT_EQ(pp.dst_port, test::raw<uint16_t>(ip + 22));
      break;
    }
  }
}

// Random bytes rarely get past the EtherType: make some of them look more and
// more like IPv4/UDP so that every check is reached. `level` 0 leaves the bytes
// alone, 1 picks the EtherType, 2 makes a plausible IPv4 header, 3 a total length
// that fits the frame, 4 a matching UDP length too.
void steer(std::vector<uint8_t>& f, int level, bool tagged, bool arp) {
  if (level < 1 || f.size() < 18) return;
  test::put_be16(&f[12], tagged ? test::kEtherVlan : (arp ? test::kEtherArp : test::kEtherIpv4));
  if (tagged) test::put_be16(&f[16], arp ? test::kEtherArp : test::kEtherIpv4);
  const size_t l3 = tagged ? 18 : 14;
  if (level < 2 || arp || f.size() < l3 + 20) return;
  f[l3] = 0x45;
  f[l3 + 6] &= 0x40;  // DF at most
  f[l3 + 7] = 0;
  f[l3 + 9] = test::kProtoUdp;
  if (level < 3) return;
  const auto total = static_cast<uint16_t>(f.size() - l3 - f.size() % 3);  // sometimes padded
  test::put_be16(&f[l3 + 2], total);
  if (level < 4 || total < 28) return;
  test::put_be16(&f[l3 + 24], static_cast<uint16_t>(total - 20));
}

TEST(PacketParse, RandomBytesNeverCrashAndGiveConsistentVerdicts) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 200);
  std::array<int, 4> seen{};
  for (int i = 0; i < 200000; ++i) {
    std::vector<uint8_t> f(length(rng));
    for (auto& b : f) b = static_cast<uint8_t>(byte(rng));
    steer(f, i % 5, i % 3 == 0, i % 11 == 0);
    const Parsed p = parse(f);
    ++seen[static_cast<size_t>(p.result.verdict)];
    ASSERT_NO_FATAL_FAILURE(check_consistent(f, p)) << "frame " << i << " of " << f.size() << " bytes";
  }
  // The steering worked: every verdict was reached many times.
  for (int n : seen) EXPECT_GT(n, 1000);
}

TEST(PacketParse, MutatedValidFramesGiveConsistentVerdicts) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 50000; ++i) {
    FrameSpec s;
    if (i % 2) s.vlan_tci = 5;
    s.payload.assign(static_cast<size_t>(i % 90), 0x55);
    s.ethernet_padding = static_cast<size_t>(i % 7);
    auto f = build_frame(s);
    std::uniform_int_distribution<size_t> pos(0, f.size() - 1);
    for (int flips = 1 + i % 3; flips > 0; --flips) f[pos(rng)] = static_cast<uint8_t>(byte(rng));
    f.resize(std::uniform_int_distribution<size_t>(0, f.size())(rng));
    ASSERT_NO_FATAL_FAILURE(check_consistent(f, parse(f))) << "frame " << i;
  }
}

// net_af_packet's kernel reassembles IPv4 fragments before the dataplane sees
// them (af_packet.h): a datagram far above the MTU arrives as one frame and is
// parsed whole (then looked up, and punted when it is not media).
TEST(PacketParse, ReassembledDatagramAboveTheMtuIsParsedWhole) {
  for (size_t payload : {1473u, 3000u, 8000u, 16276u, 65507u}) {
    SCOPED_TRACE(std::to_string(payload) + " bytes of UDP payload");
    FrameSpec s;
    s.frag = 0;
    s.payload.assign(payload, 0x5a);
    const Parsed p = parse(build_frame(s));
    ASSERT_EQ(p.result.verdict, Verdict::udp);
    EXPECT_EQ(p.packet.payload_len, payload);
  }
}

// -- the exception path's IPv4 fragmentation (fragment.h) ---------------------

struct Fragment {
  std::vector<uint8_t> frame;
  Parsed parsed;
  uint32_t l3 = 0;
  const uint8_t* ip() const { return frame.data() + l3; }
  uint32_t ihl() const { return (ip()[0] & 0x0fu) * 4u; }
  uint32_t total() const { return test::get_be16(ip() + 2); }
  uint16_t field() const { return test::get_be16(ip() + 6); }
  bool more() const { return field() & 0x2000; }
  uint32_t offset() const { return (field() & 0x1fffu) * 8u; }
  const uint8_t* data() const { return ip() + ihl(); }
  uint32_t data_len() const { return total() - ihl(); }
};

std::vector<Fragment> fragment(const std::vector<uint8_t>& frame, uint32_t mtu) {
  Ipv4Fragmenter f;
  EXPECT_TRUE(f.plan(frame.data(), static_cast<uint32_t>(frame.size()), mtu));
  std::vector<Fragment> out(f.count());
  for (uint32_t i = 0; i < f.count(); ++i) {
    out[i].frame.assign(f.frame_size(i), 0xee);
    f.write(i, out[i].frame.data());
    out[i].parsed = parse(out[i].frame);
    out[i].l3 = out[i].parsed.packet.l3_offset;
  }
  return out;
}

// What every set of fragments must satisfy against the frame it came from:
// same L2 header, fixed IPv4 fields and a valid checksum in each, at most `mtu`
// bytes, data in multiples of 8 but in the last, offsets that tile the
// original's data exactly, which the fragments put back together reproduce.
void expect_fragments_of(const std::vector<uint8_t>& frame, const std::vector<Fragment>& frags, uint32_t mtu) {
  ASSERT_FALSE(frags.empty());
  const Parsed orig = parse(frame);
  const uint32_t l3 = orig.packet.l3_offset;
  const uint8_t* ip = frame.data() + l3;
  const uint32_t ihl = (ip[0] & 0x0fu) * 4u;
  const uint32_t total = test::get_be16(ip + 2);
  const uint16_t field = test::get_be16(ip + 6);
  const uint32_t base = (field & 0x1fffu) * 8u;
  std::vector<uint8_t> data;
  for (size_t i = 0; i < frags.size(); ++i) {
    SCOPED_TRACE("fragment " + std::to_string(i) + " of " + std::to_string(frags.size()));
    const Fragment& g = frags[i];
    const bool last = i + 1 == frags.size();
    ASSERT_EQ(g.l3, l3);
    ASSERT_EQ(g.frame.size(), l3 + g.total()) << "no padding, nothing missing";
    EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + l3, g.frame.begin())) << "L2 header copied";
    EXPECT_EQ(g.ip()[0] >> 4, 4);
    EXPECT_LE(g.total(), std::max(mtu, frags.size() == 1 ? total : 0u));
    EXPECT_EQ(test::raw<uint16_t>(g.ip() + 10), test::ipv4_checksum_reference(g.ip()));
    for (size_t at : {4u, 5u, 8u, 9u, 12u, 13u, 14u, 15u, 16u, 17u, 18u, 19u}) {
      EXPECT_EQ(g.ip()[at], ip[at]) << "IPv4 header byte " << at;  // id, TTL, protocol, addresses
    }
    EXPECT_EQ(g.field() & 0xc000, field & 0xc000) << "reserved and DF bits kept";
    EXPECT_EQ(g.more(), !last || (field & 0x2000));
    EXPECT_EQ(g.offset(), base + data.size());
    if (!last) {
      EXPECT_EQ(g.data_len() % 8, 0u);
    }
    if (frags.size() > 1 || field & 0x3fff) {
      EXPECT_EQ(g.parsed.result.verdict, Verdict::punt);
    }
    data.insert(data.end(), g.data(), g.data() + g.data_len());
  }
  ASSERT_EQ(data.size(), total - ihl);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), ip + ihl)) << "the fragments' data is the datagram's";
}

TEST(Fragment, SipMessageOfThreeThousandBytesAsLinuxCutsIt) {
  FrameSpec s;
  s.frag = 0;
  s.payload.resize(3000);
  for (size_t i = 0; i < s.payload.size(); ++i) s.payload[i] = static_cast<uint8_t>(i * 7);
  const auto frame = build_frame(s);
  const auto frags = fragment(frame, 1500);
  ASSERT_EQ(frags.size(), 3u);
  // The frames the caller's kernel put on the wire: 1514, 1514 and 82 bytes.
  EXPECT_EQ(frags[0].frame.size(), 1514u);
  EXPECT_EQ(frags[1].frame.size(), 1514u);
  EXPECT_EQ(frags[2].frame.size(), 82u);
  EXPECT_EQ(frags[1].offset(), 1480u);
  EXPECT_EQ(frags[2].offset(), 2960u);
  expect_fragments_of(frame, frags, 1500);
}

TEST(Fragment, TaggedFrameKeepsItsTagInEveryFragment) {
  FrameSpec s;
  s.vlan_tci = 0x2005;
  s.frag = 0;
  s.payload.assign(8000, 0x33);
  const auto frame = build_frame(s);
  const auto frags = fragment(frame, 1500);
  ASSERT_EQ(frags.size(), 6u);  // 8008 bytes of data: 5 x 1480 + 608
  for (const auto& g : frags) {
    EXPECT_TRUE(g.parsed.packet.has_vlan);
    EXPECT_EQ(g.parsed.packet.vlan_tci, 0x2005);
  }
  expect_fragments_of(frame, frags, 1500);
}

TEST(Fragment, DontFragmentBitIsKeptTheKernelIsTheOnlyHop) {
  FrameSpec s;  // DF set, as the builder makes it
  s.payload.assign(2000, 0x11);
  const auto frame = build_frame(s);
  const auto frags = fragment(frame, 1500);
  ASSERT_EQ(frags.size(), 2u);
  for (const auto& g : frags) EXPECT_TRUE(g.field() & 0x4000);
  expect_fragments_of(frame, frags, 1500);
}

TEST(Fragment, DatagramWithinTheMtuIsOneCopyWithoutPadding) {
  FrameSpec s;
  s.payload.assign(1472, 0x44);
  s.ethernet_padding = 9;
  const auto frame = build_frame(s);
  const auto frags = fragment(frame, 1500);
  ASSERT_EQ(frags.size(), 1u);
  EXPECT_EQ(frags[0].frame, std::vector<uint8_t>(frame.begin(), frame.end() - 9));
  EXPECT_EQ(frags[0].parsed.result.verdict, Verdict::udp);
}

TEST(Fragment, PaddingAfterALargeDatagramIsNotCarried) {
  FrameSpec s;
  s.frag = 0;
  s.payload.assign(3000, 0x66);
  s.ethernet_padding = 6;
  const auto frame = build_frame(s);
  const auto frags = fragment(frame, 1500);
  ASSERT_EQ(frags.size(), 3u);
  EXPECT_EQ(frags[2].frame.size(), 82u);
  expect_fragments_of(frame, frags, 1500);
}

TEST(Fragment, AFragmentIsCutIntoSmallerOnesAtItsOwnOffset) {
  for (uint16_t field : {0x2000 | 100, 100}) {  // a middle fragment (MF), then a last one
    SCOPED_TRACE("flags and offset " + std::to_string(field));
    FrameSpec s;
    s.frag = field;
    s.payload.assign(2992, 0x77);  // 3000 bytes of data
    const auto frame = build_frame(s);
    const auto frags = fragment(frame, 576);
    ASSERT_EQ(frags.size(), 6u);  // 552 per fragment
    EXPECT_EQ(frags[0].offset(), 800u);
    EXPECT_EQ(frags.back().more(), (field & 0x2000) != 0);
    expect_fragments_of(frame, frags, 576);
  }
}

TEST(Fragment, OnlyCopiedOptionsGoIntoLaterFragments) {
  FrameSpec s;
  s.frag = 0;
  s.ip_option_words = 3;
  s.payload.assign(4000, 0x88);
  auto frame = build_frame(s);
  uint8_t* ip = frame.data() + test::kEthLen;
  // Router Alert (copied), Record Route (not copied), end of list.
  const uint8_t options[12] = {0x94, 4, 0, 0, 0x07, 7, 4, 0, 0, 0, 0, 0x00};
  std::memcpy(ip + 20, options, sizeof options);
  const uint16_t check = test::ipv4_checksum_reference(ip);
  std::memcpy(ip + 10, &check, 2);

  const auto frags = fragment(frame, 1500);
  ASSERT_EQ(frags.size(), 3u);
  EXPECT_EQ(frags[0].ihl(), 32u);
  EXPECT_TRUE(std::equal(options, options + sizeof options, frags[0].ip() + 20)) << "all options in the first";
  EXPECT_EQ(frags[0].data_len(), 1464u);
  for (size_t i = 1; i < frags.size(); ++i) {
    EXPECT_EQ(frags[i].ihl(), 24u);
    EXPECT_TRUE(std::equal(options, options + 4, frags[i].ip() + 20)) << "Router Alert only";
  }
  EXPECT_EQ(frags[1].data_len(), 1472u);
  expect_fragments_of(frame, frags, 1500);
}

TEST(Fragment, WhatCannotBeCutIsRefused) {
  Ipv4Fragmenter f;
  auto refused = [&](const std::vector<uint8_t>& frame, size_t len, uint32_t mtu) {
    std::vector<uint8_t> exact(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(len));
    return !f.plan(exact.data(), static_cast<uint32_t>(exact.size()), mtu);
  };
  FrameSpec s;
  s.frag = 0;
  s.payload.assign(3000, 0x99);
  const auto good = build_frame(s);
  EXPECT_FALSE(refused(good, good.size(), 1500));
  EXPECT_TRUE(refused(good, good.size() - 1, 1500)) << "datagram longer than the frame";
  for (size_t len : {0u, 13u, 14u, 33u}) EXPECT_TRUE(refused(good, len, 1500)) << len << " bytes";
  EXPECT_TRUE(refused(good, good.size(), 27)) << "no room for 8 bytes of data";
  EXPECT_FALSE(refused(good, good.size(), 28));

  FrameSpec v6 = s;
  v6.ether_type = test::kEtherIpv6;
  const auto not_ipv4 = build_frame(v6);
  EXPECT_TRUE(refused(not_ipv4, not_ipv4.size(), 1500));
  auto bad = good;
  bad[test::kEthLen] = 0x65;  // version 6
  EXPECT_TRUE(refused(bad, bad.size(), 1500));
  bad = good;
  bad[test::kEthLen] = 0x44;  // IHL 4
  EXPECT_TRUE(refused(bad, bad.size(), 1500));
  bad = good;
  test::put_be16(&bad[test::kEthLen + 6], 0x1fff);  // the last fragment's offset would not fit
  EXPECT_TRUE(refused(bad, bad.size(), 1500));
}

TEST(Fragment, RandomSizesAndMtusReassembleToTheOriginal) {
  std::mt19937 rng(1473);
  std::uniform_int_distribution<size_t> payload(0, 20000);
  std::uniform_int_distribution<uint32_t> mtu(68, 9000);
  std::uniform_int_distribution<int> byte(0, 255);
  std::map<size_t, int> counts;
  for (int i = 0; i < 400; ++i) {
    FrameSpec s;
    s.frag = i % 4 == 0 ? 0x4000 : 0;
    if (i % 3 == 0) s.vlan_tci = static_cast<uint16_t>(1 + i);
    s.ip_option_words = static_cast<uint8_t>(i % 5 == 0 ? 2 : 0);
    s.payload.resize(payload(rng));
    for (auto& b : s.payload) b = static_cast<uint8_t>(byte(rng));
    s.ethernet_padding = static_cast<size_t>(i % 7);
    const auto frame = build_frame(s);
    const uint32_t m = mtu(rng);
    SCOPED_TRACE("case " + std::to_string(i) + ": " + std::to_string(s.payload.size()) + " bytes, MTU " +
                 std::to_string(m));
    const auto frags = fragment(frame, m);
    ++counts[frags.size() > 1];
    ASSERT_NO_FATAL_FAILURE(expect_fragments_of(frame, frags, m));
  }
  EXPECT_GT(counts[1], 300);
}

}  // namespace
}  // namespace tandem::dp

// ---- link checks (check_link) and UDP that cannot be media ------------------

namespace tandem::dp {
namespace {

using test::build_frame;
using test::FrameSpec;

constexpr uint8_t kPortMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};  // FrameSpec's default destination

Link link_of(const FrameSpec& s, uint16_t port_vlan) {
  const auto f = build_frame(s);
  ParsedPacket p{};
  EXPECT_NE(parse_frame(f.data(), static_cast<uint32_t>(f.size()), p).verdict, Verdict::drop);
  return check_link(f.data(), p, kPortMac, port_vlan);
}

TEST(CheckLink, OwnMacInOwnVlan) {
  FrameSpec s;
  EXPECT_EQ(link_of(s, 0), Link::own);
  s.vlan_tci = 0xa00a;  // PCP 5, VID 10
  EXPECT_EQ(link_of(s, 10), Link::own);
  s.vlan_tci = 0x6000;  // a priority tag (VID 0) on an untagged port
  EXPECT_EQ(link_of(s, 0), Link::own);
}

TEST(CheckLink, WrongVlan) {
  FrameSpec s;
  s.vlan_tci = 10;
  EXPECT_EQ(link_of(s, 0), Link::wrong_vlan) << "tagged on an untagged port";
  EXPECT_EQ(link_of(s, 11), Link::wrong_vlan) << "another VLAN id";
  s.vlan_tci.reset();
  EXPECT_EQ(link_of(s, 10), Link::wrong_vlan) << "untagged on a tagged port";
}

TEST(CheckLink, GroupAndForeignMacs) {
  FrameSpec s;
  s.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(link_of(s, 0), Link::group);
  s.dst_mac = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
  EXPECT_EQ(link_of(s, 0), Link::group);
  s.dst_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x09};
  EXPECT_EQ(link_of(s, 0), Link::foreign);
  s.dst_mac = {0x02, 0x00, 0x00, 0x01, 0x00, 0x01};
  EXPECT_EQ(link_of(s, 0), Link::foreign) << "a difference in the middle";
}

TEST(PacketParse, UdpWithOptionsOrAsFirstFragmentIsUnrelayableWithItsPorts) {
  FrameSpec s;
  s.dst_port = 30002;
  s.ip_option_words = 2;
  auto f = build_frame(s);
  ParsedPacket p{};
  ParseResult r = parse_frame(f.data(), static_cast<uint32_t>(f.size()), p);
  EXPECT_EQ(r.verdict, Verdict::punt);
  EXPECT_EQ(r.reason, DropReason::unrelayable);
  ASSERT_TRUE(p.l4_known);
  EXPECT_EQ(p.dst_port, htons(30002));
  EXPECT_EQ(p.dst_ip, s.dst_ip);

  s.ip_option_words = 0;
  s.frag = 0x2000;  // more fragments, offset 0: the first
  f = build_frame(s);
  r = parse_frame(f.data(), static_cast<uint32_t>(f.size()), p);
  EXPECT_EQ(r.verdict, Verdict::punt);
  EXPECT_EQ(r.reason, DropReason::unrelayable);
  EXPECT_TRUE(p.l4_known);

  s.frag = 0x2010;  // a later fragment: no UDP header in it
  f = build_frame(s);
  r = parse_frame(f.data(), static_cast<uint32_t>(f.size()), p);
  EXPECT_EQ(r.verdict, Verdict::punt);
  EXPECT_FALSE(p.l4_known);

  s.frag = 0x4000;
  s.protocol = test::kProtoTcp;
  f = build_frame(s);
  r = parse_frame(f.data(), static_cast<uint32_t>(f.size()), p);
  EXPECT_EQ(r.verdict, Verdict::punt);
  EXPECT_FALSE(p.l4_known) << "only UDP can be addressed to a relay port";
}

}  // namespace
}  // namespace tandem::dp
