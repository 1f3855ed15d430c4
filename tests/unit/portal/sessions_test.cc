// Login sessions' idle and absolute expiry, and the login limit's lock-out:
// the time is given, so minutes pass in no time.
#include <gtest/gtest.h>
#include <sodium.h>

#include <set>

#include "portal/login_limit.h"
#include "portal/sessions.h"
#include "portal/tokens.h"

namespace tandem::portal {
namespace {

constexpr int64_t kMinute = 60'000;

class Sessions : public testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
};

TEST_F(Sessions, TokensAreRandomAndComparedWhole) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string t = random_token();
    ASSERT_EQ(t.size(), 64u);
    ASSERT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos);
    ASSERT_TRUE(seen.insert(t).second);
  }
  const std::string t = random_token();
  EXPECT_TRUE(same_token(t, t));
  EXPECT_FALSE(same_token(t, t.substr(0, 63)));
  EXPECT_FALSE(same_token(t, t.substr(0, 63) + (t[63] == '0' ? "1" : "0")));
  EXPECT_FALSE(same_token("", ""));   // no token is never a match
  EXPECT_FALSE(same_token(t, ""));
}

TEST_F(Sessions, IdleExpiryRestartsWithEachUse) {
  SessionStore store(30 * kMinute, 12 * 60 * kMinute);
  const std::string token = store.create("alice", 7, 0);
  auto s = store.use(token, 29 * kMinute);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->login, "alice");
  EXPECT_EQ(s->password_changed_ms, 7);
  EXPECT_EQ(s->csrf.size(), 64u);
  EXPECT_NE(s->csrf, token);
  EXPECT_TRUE(store.use(token, 58 * kMinute));   // 29 min after the last use
  bool expired = false;
  EXPECT_FALSE(store.use(token, 88 * kMinute, &expired));
  EXPECT_TRUE(expired);
  expired = false;
  EXPECT_FALSE(store.use(token, 88 * kMinute, &expired));   // forgotten: unknown now, not expired
  EXPECT_FALSE(expired);
  EXPECT_EQ(store.size(), 0u);
}

TEST_F(Sessions, AbsoluteExpiryHoweverBusy) {
  SessionStore store(30 * kMinute, 60 * kMinute);
  const std::string token = store.create("bob", 0, 0);
  for (int64_t t = 10; t < 60; t += 10) EXPECT_TRUE(store.use(token, t * kMinute)) << t;
  EXPECT_FALSE(store.use(token, 60 * kMinute));
}

TEST_F(Sessions, RemoveAndPurge) {
  SessionStore store(30 * kMinute, 60 * kMinute);
  const std::string a = store.create("a", 0, 0);
  const std::string b = store.create("b", 0, 20 * kMinute);
  EXPECT_NE(a, b);
  EXPECT_FALSE(store.use("not a token", 0));
  EXPECT_EQ(store.purge(35 * kMinute), 1u);   // a idle for 35 min; b for 15
  EXPECT_TRUE(store.use(b, 35 * kMinute));
  store.remove(b);
  EXPECT_FALSE(store.use(b, 35 * kMinute));
}

TEST(LoginLimit, LocksAfterMaxFailuresWithinTheWindow) {
  LoginLimit limit(3, 15 * kMinute, 15 * kMinute);
  EXPECT_FALSE(limit.failure("account alice", 0));
  EXPECT_FALSE(limit.failure("account alice", 1 * kMinute));
  EXPECT_FALSE(limit.locked("account alice", 1 * kMinute));
  EXPECT_TRUE(limit.failure("account alice", 2 * kMinute));
  EXPECT_TRUE(limit.locked("account alice", 2 * kMinute));
  EXPECT_TRUE(limit.locked("account alice", 16 * kMinute));
  EXPECT_FALSE(limit.locked("account alice", 17 * kMinute));
  EXPECT_FALSE(limit.locked("account bob", 2 * kMinute));   // per key
}

TEST(LoginLimit, FailuresOutsideTheWindowStartOver) {
  LoginLimit limit(3, 15 * kMinute, 15 * kMinute);
  limit.failure("k", 0);
  limit.failure("k", 1 * kMinute);
  EXPECT_FALSE(limit.failure("k", 16 * kMinute));   // a new window: one failure
  EXPECT_FALSE(limit.failure("k", 17 * kMinute));
  EXPECT_TRUE(limit.failure("k", 18 * kMinute));
}

TEST(LoginLimit, SuccessClearsAndPurgeForgets) {
  LoginLimit limit(2, 15 * kMinute, 15 * kMinute);
  limit.failure("k", 0);
  limit.success("k");
  EXPECT_FALSE(limit.failure("k", 1));   // counted from zero again
  limit.failure("old", 0);
  limit.failure("locked", 0);
  EXPECT_TRUE(limit.failure("locked", 1));
  limit.purge(15 * kMinute);             // "old": its window is over; "k" not yet; "locked" still locked
  EXPECT_EQ(limit.size(), 2u);
  limit.purge(16 * kMinute);
  EXPECT_EQ(limit.size(), 0u);
}

}  // namespace
}  // namespace tandem::portal
