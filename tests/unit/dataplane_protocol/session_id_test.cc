// Session ids as operators read and type them (SLOT:GENERATION), and the raw number.
#include "dataplane_protocol/session_id.h"

#include <gtest/gtest.h>

#include "dataplane_protocol/protocol.h"

namespace tandem::dp::proto {
namespace {

TEST(SessionId, TextRoundTrips) {
  for (const auto& [slot, gen] : {std::pair<uint32_t, uint32_t>{0, 1}, {17, 3}, {0, 0}, {4294967295u, 4294967295u}}) {
    const uint64_t id = make_session_id(slot, gen);
    uint64_t back = 0;
    ASSERT_TRUE(parse_session_id(session_id_text(id), back)) << session_id_text(id);
    EXPECT_EQ(back, id);
  }
  EXPECT_EQ(session_id_text(4294967296u), "0:1");
}

TEST(SessionId, TakesTheRawNumberAndRefusesTheRest) {
  uint64_t id = 0;
  ASSERT_TRUE(parse_session_id("4294967296", id));
  EXPECT_EQ(id, make_session_id(0, 1));
  for (const char* bad : {"", ":", "1:", ":1", "1:x", "x", "-1", "1:2:3", "1 :2", "4294967296:1", "18446744073709551616"})
    EXPECT_FALSE(parse_session_id(bad, id)) << bad;
}

}  // namespace
}  // namespace tandem::dp::proto
