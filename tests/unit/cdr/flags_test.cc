#include "cdr/flags.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

namespace tandem::cdr {
namespace {

struct Parsed {
  CdrFlags flags;
  std::string error;   // CLI11's or finish_cdr_flags'
};

Parsed parse(std::vector<std::string> args) {
  Parsed p;
  CLI::App app;
  add_cdr_flags(app, p.flags);
  std::vector<const char*> argv{"test"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    p.error = e.what();
    return p;
  }
  finish_cdr_flags(p.flags, p.error);
  return p;
}

TEST(CdrFlags, AllFlags) {
  const std::string pw = "/tmp/tandem-cdr-flags-pw";
  std::ofstream(pw) << "s3cret\n";
  auto p = parse({"--cdr-db", "10.0.0.1:3306,db2.example:3307", "--cdr-db", "unix:/run/mysqld.sock",
                  "--cdr-db-user", "cdr", "--cdr-db-password-file", pw, "--cdr-database", "calls",
                  "--cdr-batch", "800", "--cdr-max-delay", "150", "--cdr-queue", "1000",
                  "--cdr-spool-dir", "/var/spool/tandem", "--cdr-spool-limit", "2GiB",
                  "--cdr-spool-segment", "32MiB", "--cdr-fsync", "none", "--cdr-sync-records", "64",
                  "--cdr-sync-ms", "5", "--cdr-dc-id", "2", "--cdr-node-id", "17"});
  std::remove(pw.c_str());
  ASSERT_EQ(p.error, "");
  const auto& f = p.flags;
  EXPECT_EQ(f.db.addresses,
            (std::vector<std::string>{"10.0.0.1:3306", "db2.example:3307", "unix:/run/mysqld.sock"}));
  EXPECT_EQ(f.db.user, "cdr");
  EXPECT_EQ(f.db.password, "s3cret");
  EXPECT_EQ(f.db.database, "calls");
  EXPECT_EQ(f.writer.batch_size, 800u);
  EXPECT_EQ(f.writer.max_delay_ms, 150u);
  EXPECT_EQ(f.writer.queue_size, 1000u);
  EXPECT_EQ(f.writer.spool.dir, "/var/spool/tandem");
  EXPECT_EQ(f.writer.spool.limit_bytes, uint64_t{2} << 30);
  EXPECT_EQ(f.writer.spool.segment_bytes, uint64_t{32} << 20);
  EXPECT_EQ(f.writer.spool.sync, SyncPolicy::none);
  EXPECT_EQ(f.writer.sync_records, 64u);
  EXPECT_EQ(f.writer.sync_ms, 5u);
  EXPECT_EQ(f.writer.dc_id, 2);
  EXPECT_EQ(f.writer.node_id, 17);
}

TEST(CdrFlags, BadValuesAreRefusedWithTheReason) {
  const std::vector<std::string> base{"--cdr-db", "127.0.0.1:3306", "--cdr-spool-dir", "/tmp/x"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return parse(args).error;
  };
  EXPECT_EQ(with({}), "");
  EXPECT_NE(with({"--cdr-batch", "0"}), "");
  EXPECT_NE(with({"--cdr-fsync", "sometimes"}), "");
  EXPECT_NE(with({"--cdr-dc-id", "256"}), "");
  EXPECT_EQ(with({"--cdr-db", "db:99999"}), "--cdr-db: DB address db:99999: bad port");
  EXPECT_EQ(with({"--cdr-db", "unix:relative"}), "--cdr-db: DB address unix:relative: unix: needs an absolute path");
  EXPECT_EQ(with({"--cdr-spool-limit", "1MiB"}), "--cdr-spool-segment must be >= 4KiB and <= --cdr-spool-limit");
  EXPECT_EQ(with({"--cdr-db-password-file", "/nonexistent/pw"}),
            "--cdr-db-password-file /nonexistent/pw: cannot read it");
  EXPECT_EQ(parse({"--cdr-spool-dir", "/tmp/x"}).error, "--cdr-db: at least one address");
  EXPECT_EQ(parse({"--cdr-db", "h:1"}).error, "CDR writer: spool dir is not set");
}

}  // namespace
}  // namespace tandem::cdr
