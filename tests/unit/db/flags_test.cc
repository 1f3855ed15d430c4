// The DB addresses and the flags every process with a DB connection shares
// (the Rules DB's prefix here; the CDR DB's in tests/unit/cdr/flags_test.cc).
#include "db/flags.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

namespace tandem::db {
namespace {

TEST(DbAddress, Parse) {
  Address a;
  std::string e;
  ASSERT_TRUE(parse_address("db.example", a, e));
  EXPECT_EQ(a.host, "db.example");
  EXPECT_EQ(a.port, 3306);
  ASSERT_TRUE(parse_address("10.1.2.3:3307", a, e));
  EXPECT_EQ(a.port, 3307);
  ASSERT_TRUE(parse_address("unix:/run/mysqld/mysqld.sock", a, e));
  EXPECT_EQ(a.socket, "/run/mysqld/mysqld.sock");
  EXPECT_FALSE(parse_address(":3306", a, e));
  EXPECT_EQ(e, "DB address :3306: no host");
}

struct Parsed {
  Config config;
  DbFlags flags{.name = "rules", .what = "Rules DB", .password_file = {}};
  std::string error;  // CLI11's or finish_db_flags'
};

Parsed parse(std::vector<std::string> args) {
  Parsed p;
  CLI::App app;
  add_db_flags(app, p.config, p.flags);
  args.insert(args.begin(), "test");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    finish_db_flags(p.config, p.flags, p.error);
  } catch (const CLI::ParseError& e) {
    p.error = e.what();
  }
  return p;
}

TEST(DbFlags, Everything) {
  const std::string pw = ::testing::TempDir() + "/db_flags_pw";
  std::ofstream(pw) << "s3cret\nignored\n";
  auto p = parse({"--rules-db", "10.0.0.1:3306,db2.example", "--rules-db", "unix:/run/mysqld.sock",
                  "--rules-db-user", "router", "--rules-db-password-file", pw, "--rules-database", "r"});
  std::remove(pw.c_str());
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.config.addresses,
            (std::vector<std::string>{"10.0.0.1:3306", "db2.example", "unix:/run/mysqld.sock"}));
  EXPECT_EQ(p.config.user, "router");
  EXPECT_EQ(p.config.password, "s3cret");
  EXPECT_EQ(p.config.database, "r");
}

TEST(DbFlags, Refused) {
  EXPECT_EQ(parse({}).error, "--rules-db: at least one address");
  EXPECT_EQ(parse({"--rules-db", "db:0"}).error, "--rules-db: DB address db:0: bad port");
  EXPECT_EQ(parse({"--rules-db", "h", "--rules-db-password-file", "/nonexistent/pw"}).error,
            "--rules-db-password-file /nonexistent/pw: cannot read it");
}

}  // namespace
}  // namespace tandem::db
