// The dataplane's flags (after EAL's `--`). parse_flags() prints its help and
// errors to stdout/stderr: that output in the test log is expected.
#include "dataplane/config.h"

#include <gtest/gtest.h>

#include "dataplane/af_packet.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/dataplane/frame_builder.h"

namespace tandem::dp {
namespace {

using test::ipv4;

constexpr int kExitBadFlag = 2;
const std::string kPort0 = "0:198.18.0.1/24";

FlagsResult parse(std::vector<std::string> args) {
  args.insert(args.begin(), "tandem-dataplane");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_flags(static_cast<int>(args.size()), argv.data());
}

TEST(ParseFlags, OnePortAndDefaults) {
  const FlagsResult r = parse({"--port", kPort0});
  ASSERT_EQ(r.exit_code, -1);
  const Config& c = r.config;
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].port_id, 0);
  EXPECT_EQ(c.ports[0].ip, ipv4("198.18.0.1"));
  EXPECT_EQ(c.ports[0].prefix_len, 24);
  EXPECT_EQ(c.ports[0].role, "");
  EXPECT_EQ(c.ports[0].tap_name, "tdp0");
  EXPECT_EQ(c.burst, 32);
  EXPECT_EQ(c.rx_desc, 1024);
  EXPECT_EQ(c.tx_desc, 1024);
  EXPECT_EQ(c.rx_queues, 0);
  EXPECT_EQ(c.relay_port_min, 30000);
  EXPECT_EQ(c.relay_port_max, 39999);
  EXPECT_EQ(c.poll_mode, PollMode::busy);
  EXPECT_EQ(c.idle_max_delay_us, 200u);
  EXPECT_TRUE(c.exception_path);
  EXPECT_EQ(c.control_socket, "/run/tandem/dataplane.sock");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.punt.source_rate, 2000u);
  EXPECT_EQ(c.punt.source_burst, 400u);
  EXPECT_EQ(c.punt.global_rate, 50000u);
  EXPECT_EQ(c.punt.global_burst, 5000u);
  EXPECT_EQ(c.punt.arp_icmp_rate, 1000u);
  EXPECT_EQ(c.punt.arp_icmp_burst, 200u);
  EXPECT_EQ(c.punt.sources, 4096u);
}

TEST(ParseFlags, PortWithoutGatewayOrVlanHasZeroes) {
  // The second port gives neither gw= nor vlan=: it must not inherit the
  // first one's.
  const FlagsResult r = parse({"--port", "0:198.18.0.1/24,gw=198.18.0.254,vlan=100", "--port", "1:10.0.0.1/8"});
  ASSERT_EQ(r.exit_code, -1);
  ASSERT_EQ(r.config.ports.size(), 2u);
  EXPECT_EQ(r.config.ports[1].gateway, 0u) << "0 means: no gateway";
  EXPECT_EQ(r.config.ports[1].vlan, 0) << "0 means: untagged";
}

TEST(ParseFlags, SeveralAddressesPerPortAndRanges) {
  const FlagsResult r = parse({"--port", "0:198.18.0.1,198.18.0.10-198.18.0.12,198.18.1.7/16,gw=198.18.0.254,role=public"});
  ASSERT_EQ(r.exit_code, -1);
  const PortConfig& p = r.config.ports.at(0);
  EXPECT_EQ(p.ip, ipv4("198.18.0.1"));
  EXPECT_EQ(p.prefix_len, 16);
  EXPECT_EQ(p.gateway, ipv4("198.18.0.254"));
  EXPECT_EQ(p.role, "public");
  EXPECT_EQ(p.more_ips, (std::vector<uint32_t>{ipv4("198.18.0.10"), ipv4("198.18.0.11"), ipv4("198.18.0.12"),
                                               ipv4("198.18.1.7")}));
  EXPECT_EQ(relay_addresses(p).size(), 5u);
  EXPECT_EQ(relay_addresses(p).front(), p.ip);

  // A range across an octet, and exactly the most a port takes.
  const FlagsResult wide = parse({"--port", "0:198.18.0.200-198.18.4.199/16"});
  ASSERT_EQ(wide.exit_code, -1);
  EXPECT_EQ(relay_addresses(wide.config.ports.at(0)).size(), kMaxAddressesPerPort);
  EXPECT_EQ(wide.config.ports.at(0).more_ips.back(), ipv4("198.18.4.199"));
}

TEST(ParseFlags, EveryFlag) {
  const FlagsResult r = parse({
      "--port", "0:198.18.0.1/24,gw=198.18.0.254,vlan=100,role=public,tap=pub0",
      "--port=3:10.20.0.1/16,role=private",
      "--rx-queues", "4",
      "--burst", "64",
      "--rx-desc", "2048",
      "--tx-desc", "512",
      "--mbufs", "65536",
      "--max-sessions", "1000",
      "--relay-ports", "20000-20999",
      "--idle-timeout", "30",
      "--poll-mode", "adaptive",
      "--idle-max-delay-us", "0",
      "--control-socket", "/tmp/tandem.sock",
      "--stats-interval", "10",
      "--exception-path", "none",
      "--log-level", "debug",
      "--punt-rate", "500",
      "--punt-burst", "50",
      "--punt-global-rate", "0",
      "--punt-global-burst", "7",
      "--punt-arp-icmp-rate", "20",
      "--punt-arp-icmp-burst", "3",
      "--punt-sources", "1024",
  });
  ASSERT_EQ(r.exit_code, -1);
  const Config& c = r.config;
  ASSERT_EQ(c.ports.size(), 2u);
  const PortConfig& pub = c.ports[0];
  EXPECT_EQ(pub.port_id, 0);
  EXPECT_EQ(pub.ip, ipv4("198.18.0.1"));
  EXPECT_EQ(pub.prefix_len, 24);
  EXPECT_EQ(pub.gateway, ipv4("198.18.0.254"));
  EXPECT_EQ(pub.vlan, 100);
  EXPECT_EQ(pub.role, "public");
  EXPECT_EQ(pub.tap_name, "pub0");
  const PortConfig& priv = c.ports[1];
  EXPECT_EQ(priv.port_id, 3);
  EXPECT_EQ(priv.ip, ipv4("10.20.0.1"));
  EXPECT_EQ(priv.prefix_len, 16);
  EXPECT_EQ(priv.role, "private");
  EXPECT_EQ(priv.tap_name, "tdp3");

  EXPECT_EQ(c.rx_queues, 4);
  EXPECT_EQ(c.burst, 64);
  EXPECT_EQ(c.rx_desc, 2048);
  EXPECT_EQ(c.tx_desc, 512);
  EXPECT_EQ(c.mbufs, 65536u);
  EXPECT_EQ(c.max_sessions, 1000u);
  EXPECT_EQ(c.relay_port_min, 20000);
  EXPECT_EQ(c.relay_port_max, 20999);
  EXPECT_EQ(c.idle_timeout_s, 30u);
  EXPECT_EQ(c.poll_mode, PollMode::adaptive);
  EXPECT_EQ(c.idle_max_delay_us, 0u);
  EXPECT_EQ(c.control_socket, "/tmp/tandem.sock");
  EXPECT_EQ(c.stats_interval_s, 10u);
  EXPECT_FALSE(c.exception_path);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.punt.source_rate, 500u);
  EXPECT_EQ(c.punt.source_burst, 50u);
  EXPECT_EQ(c.punt.global_rate, 0u) << "unlimited";
  EXPECT_EQ(c.punt.global_burst, 7u);
  EXPECT_EQ(c.punt.arp_icmp_rate, 20u);
  EXPECT_EQ(c.punt.arp_icmp_burst, 3u);
  EXPECT_EQ(c.punt.sources, 1024u);
}

TEST(ParseFlags, EdgesOfTheRanges) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--burst", "1"},
           {"--burst", "256"},
           {"--rx-desc", "64", "--tx-desc", "16384"},
           {"--relay-ports", "1024-1025"},
           {"--relay-ports", "30000-65535"},
           {"--port", "7:192.0.2.1/32,vlan=4094"},
           {"--port", "1:192.0.2.1/1,vlan=1"},
       }) {
    std::vector<std::string> full = {"--port", kPort0};
    full.insert(full.end(), args.begin(), args.end());
    EXPECT_EQ(parse(full).exit_code, -1) << testing::PrintToString(args);
  }
}

TEST(ParseFlags, TheLongListsFromAConfigFileAndFlagsOverIt) {
  const std::string path = ::testing::TempDir() + "tandem-dataplane.conf";
  std::ofstream(path) << "port = [\"0:198.18.0.1/24,role=public\", \"1:198.18.1.1/24\"]\nmax-sessions = 4000\n"
                         "check-config = true\n";
  const FlagsResult r = parse({"--config", path, "--max-sessions", "5000"});
  ASSERT_EQ(r.exit_code, -1);
  ASSERT_EQ(r.config.ports.size(), 2u);
  EXPECT_EQ(r.config.ports[0].role, "public");
  EXPECT_EQ(r.config.max_sessions, 5000u);
  EXPECT_TRUE(r.config.check_config);
  EXPECT_EQ(parse({"--config", path + ".missing"}).exit_code, kExitBadFlag);
  std::remove(path.c_str());
}

TEST(ParseFlags, HelpExitsWithZero) {
  EXPECT_EQ(parse({"--help"}).exit_code, 0);
  EXPECT_EQ(parse({"-h"}).exit_code, 0);
  EXPECT_EQ(parse({"--port", kPort0, "--help"}).exit_code, 0);
}

struct BadFlags {
  const char* why;
  std::vector<std::string> args;
};

void PrintTo(const BadFlags& b, std::ostream* os) { *os << b.why << ": " << testing::PrintToString(b.args); }

class ParseFlagsRefuses : public testing::TestWithParam<BadFlags> {};

TEST_P(ParseFlagsRefuses, WithExitCodeTwo) {
  const FlagsResult r = parse(GetParam().args);
  EXPECT_EQ(r.exit_code, kExitBadFlag);
}

BadFlags with_port(const char* why, std::vector<std::string> args) {
  args.insert(args.begin(), {"--port", kPort0});
  return {why, std::move(args)};
}
BadFlags port_spec(const char* why, const char* spec) { return {why, {std::string("--port=") + spec}}; }

INSTANTIATE_TEST_SUITE_P(UnknownOrMissing, ParseFlagsRefuses,
                         testing::Values(with_port("unknown flag", {"--frobnicate", "1"}),
                                         with_port("unknown short flag", {"-x"}),
                                         with_port("stray argument", {"extra"}),
                                         BadFlags{"no flags at all", {}},
                                         BadFlags{"missing --port", {"--burst", "32"}},
                                         BadFlags{"--port without a value", {"--port"}}));

INSTANTIATE_TEST_SUITE_P(
    PortSpec, ParseFlagsRefuses,
    testing::Values(port_spec("no colon", "0"), port_spec("nothing after the colon", "0:"),
                    port_spec("no prefix", "0:198.18.0.1"), port_spec("empty prefix", "0:198.18.0.1/"),
                    port_spec("prefix 0", "0:198.18.0.1/0"), port_spec("prefix 33", "0:198.18.0.1/33"),
                    port_spec("prefix 256", "0:198.18.0.1/256"), port_spec("prefix junk", "0:198.18.0.1/24x"),
                    port_spec("bad address", "0:198.18.0.300/24"), port_spec("short address", "0:198.18.1/24"),
                    port_spec("hostname", "0:localhost/24"), port_spec("port id 8", "8:198.18.0.1/24"),
                    port_spec("port id junk", "x:198.18.0.1/24"), port_spec("negative port id", "-1:198.18.0.1/24"),
                    port_spec("empty port id", ":198.18.0.1/24"), port_spec("empty gw", "0:198.18.0.1/24,gw="),
                    port_spec("bad gw", "0:198.18.0.1/24,gw=198.18.0"), port_spec("vlan 0", "0:198.18.0.1/24,vlan=0"),
                    port_spec("vlan 4095", "0:198.18.0.1/24,vlan=4095"),
                    port_spec("vlan junk", "0:198.18.0.1/24,vlan=ten"),
                    port_spec("empty role", "0:198.18.0.1/24,role="),
                    port_spec("role of 16", "0:198.18.0.1/24,role=0123456789abcdef"),
                    port_spec("empty tap", "0:198.18.0.1/24,tap="),
                    port_spec("tap of 16", "0:198.18.0.1/24,tap=0123456789abcdef"),
                    port_spec("unknown option", "0:198.18.0.1/24,mtu=9000"),
                    port_spec("option without =", "0:198.18.0.1/24,vlan"),
                    port_spec("trailing comma", "0:198.18.0.1/24,"),
                    port_spec("addresses without a prefix", "0:198.18.0.1,198.18.0.2"),
                    port_spec("option among the addresses", "0:198.18.0.1,role=x,198.18.0.2/24"),
                    port_spec("address twice", "0:198.18.0.1,198.18.0.1/24"),
                    port_spec("range overlapping an address", "0:198.18.0.5,198.18.0.1-198.18.0.9/24"),
                    port_spec("range backwards", "0:198.18.0.9-198.18.0.1/24"),
                    port_spec("range of junk", "0:198.18.0.1-x/24"),
                    port_spec("range too long", "0:198.18.0.0-198.18.4.0/16"),
                    port_spec("too many addresses", "0:198.18.0.1,198.18.1.0-198.18.4.255/16"),
                    port_spec("empty address", "0:198.18.0.1,/24"),
                    BadFlags{"port twice", {"--port", kPort0, "--port", "0:198.18.1.1/24"}}));

INSTANTIATE_TEST_SUITE_P(RelayPorts, ParseFlagsRefuses,
                         testing::Values(with_port("odd min", {"--relay-ports", "30001-39999"}),
                                         with_port("even max", {"--relay-ports", "30000-39998"}),
                                         with_port("min below 1024", {"--relay-ports", "1022-1999"}),
                                         with_port("max below min", {"--relay-ports", "30000-29999"}),
                                         with_port("no dash", {"--relay-ports", "30000"}),
                                         with_port("not numbers", {"--relay-ports", "a-b"}),
                                         with_port("max above 65535", {"--relay-ports", "30000-65537"}),
                                         with_port("empty", {"--relay-ports", ""})));

INSTANTIATE_TEST_SUITE_P(Numbers, ParseFlagsRefuses,
                         testing::Values(with_port("rx-desc not a power of two", {"--rx-desc", "1000"}),
                                         with_port("tx-desc not a power of two", {"--tx-desc", "3000"}),
                                         with_port("rx-desc below range", {"--rx-desc", "32"}),
                                         with_port("idle max delay above 20 ms", {"--idle-max-delay-us", "20001"}),
                                         with_port("tx-desc above range", {"--tx-desc", "32768"}),
                                         with_port("burst 0", {"--burst", "0"}),
                                         with_port("burst 257", {"--burst", "257"}),
                                         with_port("burst negative", {"--burst", "-1"}),
                                         with_port("burst junk", {"--burst", "lots"}),
                                         with_port("rx-queues 65", {"--rx-queues", "65"}),
                                         with_port("max-sessions 0", {"--max-sessions", "0"}),
                                         with_port("idle-timeout above a day", {"--idle-timeout", "86401"}),
                                         with_port("punt burst 0", {"--punt-burst", "0"}),
                                         with_port("punt rate negative", {"--punt-rate", "-1"}),
                                         with_port("punt global rate junk", {"--punt-global-rate", "fast"}),
                                         with_port("punt arp-icmp burst 0", {"--punt-arp-icmp-burst", "0"}),
                                         with_port("punt sources below 64", {"--punt-sources", "32"}),
                                         with_port("punt sources not a power of two", {"--punt-sources", "1000"})));

INSTANTIATE_TEST_SUITE_P(Choices, ParseFlagsRefuses,
                         testing::Values(with_port("poll mode", {"--poll-mode", "spin"}),
                                         with_port("empty poll mode", {"--poll-mode", ""}),
                                         with_port("exception path", {"--exception-path", "kernel"}),
                                         with_port("log level", {"--log-level", "verbose"}),
                                         with_port("empty control socket", {"--control-socket", ""}),
                                         with_port("control socket of 108",
                                                   {"--control-socket", "/" + std::string(107, 's')})));

// -- net_af_packet's ring geometry, added to EAL's --vdev (af_packet.h) -------

TEST(AfPacket, RecognisesItsVdevsAndNoOthers) {
  EXPECT_TRUE(is_af_packet_vdev("net_af_packet0,iface=va1"));
  EXPECT_TRUE(is_af_packet_vdev("eth_af_packet1,iface=eth0,qpairs=2"));
  EXPECT_TRUE(is_af_packet_vdev("net_af_packet0"));
  EXPECT_FALSE(is_af_packet_vdev("net_tap0,iface=tdp0"));
  EXPECT_FALSE(is_af_packet_vdev("net_pcap0,rx_pcap=net_af_packet0.pcap"));
  EXPECT_FALSE(is_af_packet_vdev(""));
}

TEST(AfPacket, RingGeometryIsAddedWhenTheVdevSetsNone) {
  std::string v = "net_af_packet0,iface=va1,qpairs=2";
  EXPECT_TRUE(add_af_packet_ring_defaults(v));
  EXPECT_EQ(v, "net_af_packet0,iface=va1,qpairs=2,framesz=16384,blocksz=16384");
  EXPECT_FALSE(add_af_packet_ring_defaults(v)) << "added once only";

  for (std::string own : {"net_af_packet0,iface=va1,framesz=4096", "net_af_packet0,iface=va1,blocksz=8192",
                          "net_af_packet0,framesz=2048,blocksz=4096,iface=va1"}) {
    const std::string before = own;
    EXPECT_FALSE(add_af_packet_ring_defaults(own)) << before;
    EXPECT_EQ(own, before) << "the operator's geometry is kept";
  }
  std::string tap = "net_tap0,iface=tdp0";
  EXPECT_FALSE(add_af_packet_ring_defaults(tap));
  EXPECT_EQ(tap, "net_tap0,iface=tdp0");
}

TEST(AfPacket, EveryVdevOfTheEalArgumentsInBothSpellings) {
  std::vector<std::string> args = {"tandem-dataplane", "-l", "0-1", "--vdev", "net_af_packet0,iface=va1",
                                   "--vdev=net_af_packet1,iface=vb1", "--vdev", "net_tap9,iface=x",
                                   "--vdev", "net_af_packet2,iface=vc1,framesz=4096", "--no-pci"};
  const auto changed = add_af_packet_ring_defaults(args);
  EXPECT_EQ(changed, (std::vector<std::string>{"net_af_packet0,iface=va1,framesz=16384,blocksz=16384",
                                               "net_af_packet1,iface=vb1,framesz=16384,blocksz=16384"}));
  EXPECT_EQ(args, (std::vector<std::string>{"tandem-dataplane", "-l", "0-1", "--vdev",
                                            "net_af_packet0,iface=va1,framesz=16384,blocksz=16384",
                                            "--vdev=net_af_packet1,iface=vb1,framesz=16384,blocksz=16384",
                                            "--vdev", "net_tap9,iface=x", "--vdev",
                                            "net_af_packet2,iface=vc1,framesz=4096", "--no-pci"}));
  std::vector<std::string> dangling = {"tandem-dataplane", "--vdev"};
  EXPECT_TRUE(add_af_packet_ring_defaults(dangling).empty());
}

TEST(AfPacket, FrameSizeFromDevargsOrThePmdDefault) {
  EXPECT_EQ(devarg("iface=va1,framesz=4096,blocksz=8192", "framesz"), "4096");
  EXPECT_EQ(devarg("iface=va1,framesz=4096,blocksz=8192", "iface"), "va1");
  EXPECT_EQ(devarg("iface=va1", "framesz"), "");
  EXPECT_EQ(af_packet_frame_size("iface=va1,framesz=16384,blocksz=16384"), 16384u);
  EXPECT_EQ(af_packet_frame_size("iface=va1"), kAfPacketPmdFrameSize);
  EXPECT_EQ(af_packet_frame_size(""), kAfPacketPmdFrameSize);
  EXPECT_EQ(af_packet_frame_size("framesz=lots"), kAfPacketPmdFrameSize);
}

TEST(AfPacket, SlotSizesMbufsAndTheLongestWholeFrame) {
  // The PMD's defaults: 2048-byte slots fit DPDK's default 2048-byte mbufs and
  // hold frames up to 1982 bytes, so a datagram of 1941+ bytes was cut short.
  EXPECT_EQ(af_packet_mbuf_data(kAfPacketPmdFrameSize), 2016u);
  EXPECT_EQ(af_packet_max_frame(kAfPacketPmdFrameSize), 1982u);
  // Ours: 16,276 bytes of UDP payload behind Ethernet, IPv4 and UDP headers.
  EXPECT_EQ(af_packet_max_frame(kAfPacketFrameSize) - 14 - 20 - 8, 16276u);
  EXPECT_EQ(af_packet_mbuf_data(kAfPacketFrameSize), kAfPacketFrameSize - 32);
  EXPECT_EQ(af_packet_max_frame(10), 0u);
  EXPECT_EQ(af_packet_mbuf_data(10), 0u);
}

}  // namespace
}  // namespace tandem::dp
