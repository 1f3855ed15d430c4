// What the Rules DB tests share: the MariaDB the test started (tests/support),
// fresh databases at the latest schema, SQL by hand, and tandemctl run as the
// operator would.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cppconn/connection.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "db/connection.h"
#include "tests/support/tandemctl_run.h"
#include "rules/schema.h"
#include "rules/store.h"
#include "tests/support/mariadb_fixture.h"

namespace tandem::rules::testing {

using tandem::testing::MariaDb;

inline MariaDb* g_db = nullptr;

inline DbConfig config(const std::string& database) {
  DbConfig c;
  c.addresses = {g_db->address()};
  c.user = "root";
  c.database = database;
  c.connect_timeout_s = 2;
  c.io_timeout_s = 10;
  return c;
}

inline std::unique_ptr<sql::Connection> connect(const std::string& database) {
  std::string e;
  auto c = db::connect(g_db->config(database), !database.empty(), e);
  EXPECT_TRUE(c) << e;
  return c;
}

inline void exec(sql::Connection& c, const std::string& s) {
  std::unique_ptr<sql::Statement> st(c.createStatement());
  st->execute(s);
}

inline uint64_t scalar(sql::Connection& c, const std::string& q) {
  std::unique_ptr<sql::Statement> st(c.createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery(q));
  return rs->next() ? rs->getUInt64(1) : 0;
}

inline std::string fresh_database(const std::string& name) {
  auto c = connect("");
  exec(*c, "DROP DATABASE IF EXISTS " + name);
  Store store(config(name));
  db::MigrateResult m;
  std::string e;
  EXPECT_TRUE(store.migrate(m, e)) << e;
  EXPECT_EQ(m.from, 0);
  EXPECT_EQ(m.to, schema().latest_version());
  return name;
}

// The operator's side: `tandemctl rules ...` and `tandemctl route` ($TANDEMCTL).
using ::tandem::testing::CtlRun;

inline CtlRun tandemctl(const std::string& args) { return ::tandem::testing::run_tandemctl(args, true); }

// main() of a Rules DB test: the tests against a MariaDB started here, or 77
// (skipped) where MariaDB cannot run.
inline int run_with_mariadb(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  MariaDb db;
  if (int skip = 0; !tandem::testing::start_or_skip(db, skip)) return skip;
  g_db = &db;
  return RUN_ALL_TESTS();
}

}  // namespace tandem::rules::testing
