// tandem-control's flags and --config file.
#include "control/server/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace tandem::control {
namespace {

int parse(std::vector<std::string> args, ServerConfig& c) {
  args.insert(args.begin(), "tandem-control");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_server_flags(static_cast<int>(argv.size()), argv.data(), c);
}

const std::vector<std::string> kMinimal = {"--sip", "198.18.1.1", "--rules-db", "unix:/run/db.sock",
                                           "--cdr-db", "unix:/run/db.sock", "--cdr-spool-dir", "/var/spool/tandem"};

TEST(ServerConfig, Peers) {
  Peer p;
  std::string e;
  ASSERT_TRUE(parse_peer("sbc1=198.18.0.0/16", p, e)) << e;
  EXPECT_EQ(p.name, "sbc1");
  EXPECT_TRUE(p.contains((198u << 24) | (18u << 16) | 77u));
  EXPECT_FALSE(p.contains((198u << 24) | (19u << 16)));
  ASSERT_TRUE(parse_peer("any=0.0.0.0/0", p, e));
  EXPECT_TRUE(p.contains(0x01020304));
  EXPECT_FALSE(parse_peer("198.18.0.1", p, e));
  EXPECT_FALSE(parse_peer("x=198.18.0.300", p, e));
  EXPECT_FALSE(parse_peer("x=198.18.0.1/33", p, e));
  EXPECT_FALSE(e.empty());
}

TEST(ServerConfig, MinimalFlagsAndDefaults) {
  ServerConfig c;
  ASSERT_EQ(parse(kMinimal, c), -1);
  EXPECT_EQ(c.sip.address, "198.18.1.1");
  EXPECT_EQ(c.sip.port, 5060);
  EXPECT_EQ(c.capacity, 500u);
  EXPECT_EQ(c.sip.udp_buffer_bytes, 8u << 20);
  EXPECT_EQ(c.sip.t1_ms, 500u) << "RFC 3261's T1: timer H, and the wait for a 2xx's ACK, is 32 s";
  EXPECT_EQ(c.media_latch, "address") << "only the SDP's address may latch a leg, by default";
}

TEST(ServerConfig, MediaLatch) {
  for (const char* mode : {"address", "address-port", "any"}) {
    std::vector<std::string> args = kMinimal;
    args.insert(args.end(), {"--media-latch", mode});
    ServerConfig c;
    ASSERT_EQ(parse(args, c), -1) << mode;
    EXPECT_EQ(c.media_latch, mode);
  }
}

TEST(ServerConfig, BadFlagsExitWith2) {
  for (auto bad : std::vector<std::vector<std::string>>{
           {"--sip", "0.0.0.0"},                                  // not an address to put in Contact
           {"--sip", "198.18.1.1:70000"},
           {"--sip", "198.18.1.1", "--peer", "nope"},
           {"--sip", "198.18.1.1", "--capacity", "0"},
           {"--sip", "198.18.1.1", "--max-message", "1000"},       // below sofia-sip's safe minimum
           {"--sip", "198.18.1.1", "--country-code", "0x"},
           {"--sip", "198.18.1.1", "--sip-udp-buffer", "2G"},
           {"--sip", "198.18.1.1", "--media-latch", "anyone"},
           {"--sip", "198.18.1.1", "--sip-t1", "5000"},            // beyond T2 (4 s)
           {"--sip", "198.18.1.1", "--sip-transaction-lifetime", "500"},  // ends before its retransmissions
           {"--sip", "198.18.1.1", "--attendant-rtprio", "100"},
       }) {
    std::vector<std::string> args = bad;
    args.insert(args.end(), {"--rules-db", "unix:/x", "--cdr-db", "unix:/x", "--cdr-spool-dir", "/tmp"});
    ServerConfig c;
    EXPECT_EQ(parse(args, c), 2) << bad[bad.size() - 1];
  }
  ServerConfig c;
  EXPECT_EQ(parse({"--sip", "198.18.1.1"}, c), 2);  // no --rules-db
}

TEST(ServerConfig, TransactionLifetimeIs64T1UnlessGiven) {
  const std::vector<std::string> db = {"--rules-db", "unix:/x", "--cdr-db", "unix:/x", "--cdr-spool-dir", "/tmp"};
  ServerConfig c;
  std::vector<std::string> args = {"--sip", "198.18.1.1", "--sip-t1", "250"};
  args.insert(args.end(), db.begin(), db.end());
  ASSERT_EQ(parse(args, c), -1);
  EXPECT_EQ(c.sip.t1x64_ms(), 16000u);
  ServerConfig d;
  args = {"--sip", "198.18.1.1", "--sip-transaction-lifetime", "5000"};
  args.insert(args.end(), db.begin(), db.end());
  ASSERT_EQ(parse(args, d), -1);
  EXPECT_EQ(d.sip.t1x64_ms(), 5000u);
}

TEST(ServerConfig, LongListsFromAConfigFile) {
  const std::string path = ::testing::TempDir() + "/control.toml";
  {
    std::ofstream f(path);
    f << "sip = \"198.18.1.1:5070\"\npeer = [\"sbc1=198.18.0.1\", \"sbc2=198.19.0.0/16\"]\ncapacity = 250\n"
         "rules-db = [\"unix:/run/db.sock\"]\ncdr-db = [\"unix:/run/db.sock\"]\ncdr-spool-dir = \"/tmp\"\n";
  }
  ServerConfig c;
  ASSERT_EQ(parse({"--config", path}, c), -1);
  EXPECT_EQ(c.sip.port, 5070);
  ASSERT_EQ(c.sip.peers.size(), 2u);
  EXPECT_EQ(c.sip.peers[1].name, "sbc2");
  EXPECT_EQ(c.sip.peers[1].prefix_len, 16);
  EXPECT_EQ(c.capacity, 250u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tandem::control
