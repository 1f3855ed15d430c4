// The accounts' pure side: which logins and passwords are taken, and that the
// Argon2id hash verifies the password and nothing else.
#include <gtest/gtest.h>
#include <sodium.h>

#include "portal/accounts.h"

namespace tandem::portal {
namespace {

TEST(Accounts, Logins) {
  for (const char* good : {"alice", "a", "ops.team_1@example-net"}) EXPECT_TRUE(valid_login(good)) << good;
  for (const char* bad : {"", "with space", "quote'", "semi;colon", "ünicode", "<b>"}) {
    EXPECT_FALSE(valid_login(bad)) << bad;
  }
  EXPECT_TRUE(valid_login(std::string(64, 'a')));
  EXPECT_FALSE(valid_login(std::string(65, 'a')));
}

TEST(Accounts, Passwords) {
  std::string why;
  EXPECT_FALSE(acceptable_password("short", why));
  EXPECT_FALSE(why.empty());
  EXPECT_TRUE(acceptable_password("ten chars!", why));
  EXPECT_FALSE(acceptable_password(std::string(1025, 'x'), why));
}

TEST(Accounts, HashVerifiesItsPasswordOnly) {
  ASSERT_GE(sodium_init(), 0);
  const std::string hash = hash_password("correct horse battery");
  ASSERT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_EQ(hash.find("correct"), std::string::npos);
  EXPECT_TRUE(verify_password(hash, "correct horse battery"));
  EXPECT_FALSE(verify_password(hash, "correct horse batterY"));
  EXPECT_FALSE(verify_password(hash, ""));
  EXPECT_NE(hash_password("correct horse battery"), hash);   // salted
  EXPECT_FALSE(verify_password("not a hash", "x"));
}

}  // namespace
}  // namespace tandem::portal
