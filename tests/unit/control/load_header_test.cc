// What a call server's OPTIONS answer tells the SBCs, and who may send to us.
#include "control/sip/load_header.h"
#include "control/sip/peers.h"

#include <gtest/gtest.h>

namespace tandem::control {
namespace {

TEST(LoadHeader, WrittenAndReadBack) {
  EXPECT_EQ(load_header({12, 500}), "X-Tandem-Load: 12/500");
  auto l = parse_load(" 12 / 500 ");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->calls, 12u);
  EXPECT_EQ(l->capacity, 500u);
}

TEST(LoadHeader, AnythingElseIsNoLoad) {
  for (const char* bad : {"", "12", "12/", "/500", "12/0", "a/b", "12/500/3", "-1/500", "12/500x", "99999999999/1"})
    EXPECT_FALSE(parse_load(bad)) << bad;
}

TEST(Peers, TheMostSpecificPeerNamesTheSource) {
  std::vector<Peer> peers(2);
  std::string e;
  ASSERT_TRUE(parse_peer("carriers=198.18.0.0/15", peers[0], e)) << e;
  ASSERT_TRUE(parse_peer("sbc1=198.18.1.2", peers[1], e)) << e;
  const uint32_t sbc = (198u << 24) | (18u << 16) | (1u << 8) | 2u;
  ASSERT_NE(find_peer(peers, sbc), nullptr);
  EXPECT_EQ(find_peer(peers, sbc)->name, "sbc1");
  EXPECT_EQ(find_peer(peers, sbc + 1)->name, "carriers");
  EXPECT_EQ(find_peer(peers, (10u << 24) | 1u), nullptr);
}

}  // namespace
}  // namespace tandem::control
