// Which errors say that a connection is gone (the server restarted, closed it,
// the network broke), so that its users open a new one and try again, and
// which would happen again on any connection.
#include "db/connection.h"

#include <gtest/gtest.h>

#include <cppconn/exception.h>

namespace tandem::db {
namespace {

bool lost(int code, const std::string& state = "HY000") {
  return connection_lost(sql::SQLException("error", state, code));
}

TEST(DbConnectionLost, TheErrorsOfAConnectionThatIsGone) {
  EXPECT_TRUE(lost(2006));  // MySQL server has gone away: the first use after a restart
  EXPECT_TRUE(lost(2013));  // Lost connection to server during query
  EXPECT_TRUE(lost(2055));  // Lost connection to server at '...', system error
  EXPECT_TRUE(lost(1927));  // Connection was killed (KILL CONNECTION)
  EXPECT_TRUE(lost(1053));  // Server shutdown in progress
  EXPECT_TRUE(lost(0, "08S01"));  // communication link failure, whatever the number
}

TEST(DbConnectionLost, OtherErrorsWouldHappenAgainOnANewConnection) {
  EXPECT_FALSE(lost(1045, "28000"));  // access denied
  EXPECT_FALSE(lost(1049, "42000"));  // unknown database
  EXPECT_FALSE(lost(1146, "42S02"));  // table does not exist
  EXPECT_FALSE(lost(1213, "40001"));  // deadlock: the transaction's to retry, not the connection
  EXPECT_FALSE(lost(2003));           // cannot connect: nothing was lost, the server is not there
  EXPECT_FALSE(lost(0));              // Connector/C++'s own errors
}

}  // namespace
}  // namespace tandem::db
