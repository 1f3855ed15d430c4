#include "dataplane_protocol/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace tandem::dp::proto {
namespace {

TEST(Ipv4Text, ParseAndFormat) {
  uint32_t ip = 0;
  ASSERT_TRUE(parse_ipv4("198.18.0.1", ip));
  EXPECT_EQ(ip, htonl(0xc6120001));
  EXPECT_EQ(format_ipv4(ip), "198.18.0.1");
  EXPECT_EQ(format_ipv4(htonl(0xffffffff)), "255.255.255.255");
  for (const char* bad : {"", "198.18.0", "198.18.0.256", "198.18.0.1 ", " 198.18.0.1", "::1", "a.b.c.d"}) {
    uint32_t untouched = 7;
    EXPECT_FALSE(parse_ipv4(bad, untouched)) << '"' << bad << '"';
    EXPECT_EQ(untouched, 7u);
  }
}

}  // namespace
}  // namespace tandem::dp::proto
