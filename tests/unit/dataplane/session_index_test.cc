#include "dataplane/session_index.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/dataplane/frame_builder.h"

namespace tandem::dp {
namespace {

using test::ipv4;

const uint32_t kAddressA = ipv4("198.18.0.1");
const uint32_t kAddressB = ipv4("198.18.1.1");
const uint32_t kStranger = ipv4("198.18.2.1");
constexpr uint16_t kMin = 30000;
constexpr uint16_t kMax = 30099;  // 50 RTP ports per address

// An index over `addresses` with its own zeroed storage, as the table gives it.
struct Index {
  explicit Index(std::vector<uint32_t> addresses)
      : storage(SessionIndex::entries_for(addresses.size(), kMin, kMax), 0),
        index(addresses, kMin, kMax, storage) {}

  // The leg a packet to ip:port (host order) finds.
  std::optional<uint32_t> find(uint32_t ip, uint16_t port_host) const {
    const uint32_t* e = index.entry(ip, htons(port_host));
    return e ? SessionIndex::read(e) : std::nullopt;
  }

  std::vector<uint32_t> storage;
  SessionIndex index;
};

TEST(SessionIndex, FindsTheLegOnItsRtpAndRtcpPorts) {
  Index x({kAddressA});
  ASSERT_TRUE(x.index.insert(kAddressA, 30010, leg_ref(7, 1)));
  EXPECT_EQ(x.find(kAddressA, 30010), leg_ref(7, 1));
  EXPECT_EQ(x.find(kAddressA, 30011), leg_ref(7, 1)) << "RTCP shares its RTP leg's entry";
  EXPECT_EQ(x.find(kAddressA, 30012), std::nullopt);
  EXPECT_EQ(x.find(kAddressA, 30008), std::nullopt);
  EXPECT_EQ(x.find(kAddressA, 30000), std::nullopt);
}

TEST(SessionIndex, HasNoEntryOutsideItsAddressesAndRelayPorts) {
  Index x({kAddressA});
  EXPECT_NE(x.index.entry(kAddressA, htons(kMin)), nullptr);
  EXPECT_NE(x.index.entry(kAddressA, htons(kMax)), nullptr);
  EXPECT_EQ(x.index.entry(kAddressA, htons(kMin - 1)), nullptr);
  EXPECT_EQ(x.index.entry(kAddressA, htons(kMax + 1)), nullptr);
  EXPECT_EQ(x.index.entry(kAddressA, htons(5060)), nullptr);
  EXPECT_EQ(x.index.entry(kStranger, htons(kMin)), nullptr);
  EXPECT_EQ(x.index.entry(0, htons(kMin)), nullptr);
  EXPECT_FALSE(x.index.insert(kStranger, kMin, leg_ref(0, 0)));
  EXPECT_FALSE(x.index.insert(kAddressA, kMax + 1, leg_ref(0, 0)));
}

TEST(SessionIndex, TakesOneLegPerPortUntilFull) {
  Index x({kAddressA});
  std::vector<uint16_t> ports;
  for (uint32_t port = kMin; port < kMax; port += 2) ports.push_back(static_cast<uint16_t>(port));
  ASSERT_EQ(ports.size(), 50u);
  for (uint32_t i = 0; i < ports.size(); ++i) ASSERT_TRUE(x.index.insert(kAddressA, ports[i], leg_ref(i, 0)));
  for (uint16_t port : ports) EXPECT_FALSE(x.index.insert(kAddressA, port, leg_ref(99, 1))) << port << " is taken";
  for (uint32_t i = 0; i < ports.size(); ++i) EXPECT_EQ(x.find(kAddressA, ports[i]), leg_ref(i, 0));
}

// A worker may still hold the old leg after remove(): the entry is reused only
// once the caller, after the grace period, releases it.
TEST(SessionIndex, RemovedEntriesAreReusedOnlyAfterRelease) {
  Index x({kAddressA});
  ASSERT_TRUE(x.index.insert(kAddressA, 30020, leg_ref(3, 0)));
  x.index.remove(kAddressA, 30020);
  EXPECT_EQ(x.find(kAddressA, 30020), std::nullopt) << "hidden from readers at once";
  EXPECT_FALSE(x.index.insert(kAddressA, 30020, leg_ref(4, 0))) << "not reusable within the grace period";
  x.index.release(kAddressA, 30020);
  ASSERT_TRUE(x.index.insert(kAddressA, 30020, leg_ref(4, 0)));
  EXPECT_EQ(x.find(kAddressA, 30020), leg_ref(4, 0));
}

TEST(SessionIndex, ReleaseNeverFreesALiveEntry) {
  Index x({kAddressA});
  ASSERT_TRUE(x.index.insert(kAddressA, 30020, leg_ref(3, 0)));
  x.index.release(kAddressA, 30020);
  EXPECT_EQ(x.find(kAddressA, 30020), leg_ref(3, 0));
  x.index.remove(kAddressA, 30022);  // never inserted
  EXPECT_TRUE(x.index.insert(kAddressA, 30022, leg_ref(5, 1)));
}

TEST(SessionIndex, KeepsEachAddressApart) {
  Index x({kAddressA, kAddressB});
  ASSERT_TRUE(x.index.insert(kAddressA, 30040, leg_ref(1, 0)));
  ASSERT_TRUE(x.index.insert(kAddressB, 30040, leg_ref(1, 1)));
  EXPECT_EQ(x.find(kAddressA, 30040), leg_ref(1, 0));
  EXPECT_EQ(x.find(kAddressB, 30041), leg_ref(1, 1));
  x.index.remove(kAddressA, 30040);
  EXPECT_EQ(x.find(kAddressA, 30040), std::nullopt);
  EXPECT_EQ(x.find(kAddressB, 30040), leg_ref(1, 1));
}

// As many addresses as the benchmark's million sessions need: every one is
// found, and an address next to them is not.
TEST(SessionIndex, FindsEveryOneOfManyAddresses) {
  std::vector<uint32_t> addresses;
  for (uint32_t i = 0; i < 64; ++i) addresses.push_back(htonl(ntohl(kAddressA) + i));
  Index x(addresses);
  for (uint32_t i = 0; i < addresses.size(); ++i) ASSERT_TRUE(x.index.insert(addresses[i], kMax - 1, leg_ref(i, 0)));
  for (uint32_t i = 0; i < addresses.size(); ++i) EXPECT_EQ(x.find(addresses[i], kMax), leg_ref(i, 0));
  EXPECT_EQ(x.index.entry(htonl(ntohl(kAddressA) + 64), htons(kMin)), nullptr);
}

}  // namespace
}  // namespace tandem::dp
