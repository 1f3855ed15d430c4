// The CDR writer against a real MariaDB started here (tests/support/mariadb_fixture.h):
// schema, byte-for-byte batching, a DB outage under load, a writer killed
// under load. Exits 77 when MariaDB cannot run on this machine.
#include <gtest/gtest.h>

#include <cppconn/connection.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>
#include <thread>

#include "cdr/mysql_sink.h"
#include "cdr/query.h"
#include "cdr/writer.h"
#include "cdr/schema.h"
#include "tests/support/mariadb_fixture.h"
#include "tests/integration/cdr/tcp_proxy.h"
#include "tests/unit/cdr/sample_records.h"

namespace tandem::cdr {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tandem::testing::MariaDb;
using testing::sample_record;

MariaDb* g_db = nullptr;

std::unique_ptr<sql::Connection> connect(const std::string& database) {
  std::string e;
  auto c = db::connect(g_db->config(database), !database.empty(), e);
  EXPECT_TRUE(c) << e;
  return c;
}

void exec(sql::Connection& c, const std::string& s) {
  std::unique_ptr<sql::Statement> st(c.createStatement());
  st->execute(s);
}

std::string fresh_database(const std::string& name) {
  auto c = connect("");
  exec(*c, "DROP DATABASE IF EXISTS " + name);
  db::MigrateResult m;
  std::string e;
  EXPECT_TRUE(migrate(g_db->config(name), m, e)) << e;
  return name;
}

int64_t parse_utc_ms(const std::string& s) {
  struct tm tm {};
  int ms = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    ADD_FAILURE() << "not a DATETIME(3): " << s;
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

int64_t parse_cost(const std::string& s) {
  const auto dot = s.find('.');
  EXPECT_EQ(s.size() - dot, 7u) << s;
  return std::stoll(s.substr(0, dot)) * 1000000 + std::stoll(s.substr(dot + 1));
}

// Every row of the cdr table, read back into records (the inverse of the sink).
std::map<uint64_t, Record> read_table(const std::string& database) {
  auto c = connect(database);
  std::unique_ptr<sql::Statement> st(c->createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery(
      "SELECT id, call_id, direction, caller, called, customer, target, provider, cost, dc, "
      "server, start_time, answer_time, end_time, duration_ms, billable_s, disposition, sip_code, "
      "hangup_side, hangup_reason, a_packets, a_bytes, a_lost, a_jitter_max_us, a_jitter_mean_us, "
      "b_packets, b_bytes, b_lost, b_jitter_max_us, b_jitter_mean_us FROM cdr"));
  std::map<uint64_t, Record> rows;
  while (rs->next()) {
    Record r;
    unsigned i = 0;
    r.id = rs->getUInt64(++i);
    r.call_id = rs->getString(++i);
    r.direction = parse_direction(std::string(rs->getString(++i))).value();
    r.caller = rs->getString(++i);
    r.called = rs->getString(++i);
    r.customer = rs->getString(++i);
    r.target = rs->getString(++i);
    r.provider = rs->getString(++i);
    r.cost_micros = parse_cost(rs->getString(++i));
    r.dc = rs->getString(++i);
    r.server = rs->getString(++i);
    r.start_ms = parse_utc_ms(rs->getString(++i));
    ++i;
    r.answer_ms = rs->isNull(i) ? 0 : parse_utc_ms(rs->getString(i));
    r.end_ms = parse_utc_ms(rs->getString(++i));
    r.duration_ms = rs->getInt64(++i);
    r.billable_s = rs->getUInt(++i);
    r.disposition = parse_disposition(std::string(rs->getString(++i))).value();
    r.sip_code = static_cast<uint16_t>(rs->getUInt(++i));
    r.hangup_side = parse_hangup_side(std::string(rs->getString(++i))).value();
    r.hangup_reason = rs->getString(++i);
    for (auto& leg : r.legs) {
      leg.packets = rs->getUInt64(++i);
      leg.bytes = rs->getUInt64(++i);
      leg.lost = rs->getInt64(++i);
      leg.jitter_max_us = rs->getUInt(++i);
      leg.jitter_mean_us = rs->getUInt(++i);
    }
    EXPECT_TRUE(rows.emplace(r.id, r).second);
  }
  return rows;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tandem-cdr-it-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

WriterConfig writer_config(const std::string& spool_dir) {
  WriterConfig c;
  c.spool.dir = spool_dir;
  c.batch_size = 500;
  c.max_delay_ms = 50;
  c.backoff_min_ms = 50;
  c.backoff_max_ms = 500;
  c.dc_id = 1;
  c.node_id = 3;
  return c;
}

TEST(CdrDb, MigrationsAreIdempotentAndMatchSchemaSql) {
  const std::string db = fresh_database("t_schema");
  db::MigrateResult m;
  std::string e;
  ASSERT_TRUE(migrate(g_db->config(db), m, e)) << e;
  EXPECT_EQ(m.from, schema().latest_version());
  EXPECT_EQ(m.to, schema().latest_version());

  const char* path = std::getenv("CDR_SCHEMA_SQL");
  if (!path) GTEST_SKIP() << "CDR_SCHEMA_SQL not set";
  std::ifstream f(path);
  ASSERT_TRUE(f) << path;
  std::string sql, line;
  while (std::getline(f, line)) {
    if (line.rfind("--", 0) != 0) sql += line + "\n";
  }
  auto c = connect("");
  exec(*c, "DROP DATABASE IF EXISTS t_schema_sql");
  exec(*c, "CREATE DATABASE t_schema_sql DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
  exec(*c, "USE t_schema_sql");
  for (size_t start = 0, semi; (semi = sql.find(';', start)) != std::string::npos; start = semi + 1) {
    const std::string stmt = sql.substr(start, semi - start);
    if (stmt.find_first_not_of(" \n") != std::string::npos) exec(*c, stmt);
  }
  for (const char* table : {"cdr", "schema_version"}) {
    std::string created[2];
    int k = 0;
    for (const char* database : {"t_schema", "t_schema_sql"}) {
      std::unique_ptr<sql::Statement> st(c->createStatement());
      std::unique_ptr<sql::ResultSet> rs(
          st->executeQuery(std::string("SHOW CREATE TABLE ") + database + "." + table));
      ASSERT_TRUE(rs->next());
      created[k++] = rs->getString(2);
    }
    EXPECT_EQ(created[0], created[1]) << "schema.sql and the migrations differ on " << table;
  }
}

TEST(CdrDb, BatchingWritesEveryFieldByteForByte) {
  const std::string db = fresh_database("t_fields");
  TempDir t;
  Writer w(writer_config(t.path() + "/spool"), std::make_unique<MysqlSink>(g_db->config(db)));
  std::string e;
  ASSERT_TRUE(w.start(e)) << e;
  std::map<uint64_t, Record> sent;
  for (uint64_t i = 1; i <= 2000; ++i) {
    const uint64_t id = w.new_id(e);
    Record r = sample_record(i, id);
    ASSERT_EQ(w.submit(r, &e), SubmitResult::queued) << e;
    sent.emplace(id, r);
  }
  ASSERT_TRUE(w.flush(30s)) << w.stats().alarm;
  const auto s = w.stats();
  EXPECT_EQ(s.written, 2000u);
  EXPECT_LE(s.batches, 40u) << "multi-row batches";
  EXPECT_EQ(s.retried, 0u) << s.alarm;
  const auto rows = read_table(db);
  ASSERT_EQ(rows.size(), sent.size());
  for (const auto& [id, r] : sent) {
    auto it = rows.find(id);
    ASSERT_NE(it, rows.end()) << RecordId::format(id);
    ASSERT_EQ(it->second, r) << "record " << RecordId::format(id) << " call " << r.call_id;
  }
  // A replay of the same records (as after a lost COMMIT reply) changes nothing.
  MysqlSink again(g_db->config(db));
  std::vector<Record> replay;
  for (const auto& [id, r] : sent) {
    replay.push_back(r);
    if (replay.size() == 300) break;
  }
  ASSERT_EQ(again.write(replay, e), WriteStatus::ok) << e;
  EXPECT_EQ(read_table(db), rows);
}

// The connection is lost after the server committed a batch and before the
// writer saw the reply (a failover at the worst moment): the writer retries
// the batch on a new connection and the rows are not doubled. Then lost just
// before the COMMIT reached the server: the batch is written again, not lost.
// The first DB address is dead: the writer goes on to the next one.
TEST(CdrDb, ConnectionLostAroundCommitLosesAndDoublesNothing) {
  const std::string db = fresh_database("t_lost_commit");
  testing::TcpProxy proxy(static_cast<uint16_t>(std::stoi(g_db->address().substr(10))));
  DbConfig dbc = g_db->config(db);
  dbc.addresses = {"127.0.0.1:" + std::to_string(tandem::testing::free_port()),
                   "127.0.0.1:" + std::to_string(proxy.port())};
  TempDir t;
  WriterConfig config = writer_config(t.path() + "/spool");
  config.batch_size = 200;
  Writer w(config, std::make_unique<MysqlSink>(dbc));
  std::string e;
  ASSERT_TRUE(w.start(e)) << e;
  proxy.lose_commit_replies(3);
  std::map<uint64_t, Record> sent;
  for (uint64_t i = 1; i <= 1500; ++i) {
    const uint64_t id = w.new_id(e);
    Record r = sample_record(i, id);
    ASSERT_EQ(w.submit(r, &e), SubmitResult::queued) << e;
    sent.emplace(id, r);
  }
  ASSERT_TRUE(w.flush(60s)) << w.stats().alarm;
  EXPECT_EQ(proxy.lost(), 3);
  // The connection lost before the COMMIT reaches the server: rolled back,
  // and the writer must see it (a driver that reports success here loses
  // the batch) and write the batch again.
  proxy.drop_commits(3);
  for (uint64_t i = 1501; i <= 3000; ++i) {
    const uint64_t id = w.new_id(e);
    Record r = sample_record(i, id);
    ASSERT_EQ(w.submit(r, &e), SubmitResult::queued) << e;
    sent.emplace(id, r);
  }
  ASSERT_TRUE(w.flush(60s)) << w.stats().alarm;
  EXPECT_EQ(proxy.dropped(), 3);
  EXPECT_GE(w.stats().retried, 6u);
  const auto rows = read_table(db);
  ASSERT_EQ(rows.size(), sent.size());
  for (const auto& [id, r] : sent) {
    auto it = rows.find(id);
    ASSERT_NE(it, rows.end());
    ASSERT_EQ(it->second, r);
  }
}

// A value the DB will not store (here a column narrower than validate()
// allows, as after a careless schema change): that record is kept aside in
// SPOOL_DIR/refused and counted, and the others in its batch are written.
TEST(CdrDb, RefusedValueIsKeptAsideAndTheBatchWritten) {
  const std::string db = fresh_database("t_refused");
  exec(*connect(db), "ALTER TABLE cdr MODIFY hangup_reason VARCHAR(13) NOT NULL");
  TempDir t;
  Writer w(writer_config(t.path() + "/spool"), std::make_unique<MysqlSink>(g_db->config(db)));
  std::string e;
  ASSERT_TRUE(w.start(e)) << e;
  std::map<uint64_t, Record> sent;
  for (uint64_t i = 1; i <= 300; ++i) {
    Record r = sample_record(i, w.new_id(e));
    if (i == 150) r.hangup_reason = "a reason of 24 bytes ...";
    ASSERT_EQ(w.submit(r, &e), SubmitResult::queued) << e;
    if (i != 150) sent.emplace(r.id, r);
  }
  ASSERT_TRUE(w.flush(30s)) << w.stats().alarm;
  const auto s = w.stats();
  EXPECT_EQ(s.refused, 1u);
  EXPECT_EQ(s.written, 299u);
  EXPECT_EQ(read_table(db), sent);
  EXPECT_TRUE(fs::exists(t.path() + "/spool/refused"));
}

// What tandemctl cdr show|query|report will print, against known rows.
TEST(CdrDb, QueriesAndMonthlyReport) {
  const std::string db = fresh_database("t_query");
  TempDir t;
  Writer w(writer_config(t.path() + "/spool"), std::make_unique<MysqlSink>(g_db->config(db)));
  std::string e;
  ASSERT_TRUE(w.start(e)) << e;
  constexpr int64_t kDay = 86'400'000;
  std::vector<Record> sent;
  for (uint64_t i = 1; i <= 400; ++i) {
    Record r = sample_record(i, w.new_id(e));
    if (i % 10 == 0) {   // October 2025: outside the November report
      r.start_ms -= 40 * kDay;
      r.end_ms -= 40 * kDay;
      if (r.answer_ms) r.answer_ms -= 40 * kDay;
    }
    ASSERT_EQ(w.submit(r, &e), SubmitResult::queued) << e;
    sent.push_back(r);
  }
  ASSERT_TRUE(w.flush(30s)) << w.stats().alarm;
  auto c = connect(db);

  std::optional<Record> one;
  ASSERT_TRUE(find_record(*c, sent[41].id, one, e)) << e;
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, sent[41]);
  ASSERT_TRUE(find_record(*c, RecordId::make(9, 9, 9), one, e)) << e;
  EXPECT_FALSE(one);

  // By customer and time window, newest first, limited.
  QueryFilter f;
  f.customer = "customer-5";
  f.from_ms = sent[0].start_ms;
  f.to_ms = sent[0].start_ms + 300 * 1237;
  f.limit = 7;
  std::vector<Record> expect;
  for (const auto& r : sent) {
    if (r.customer == f.customer && r.start_ms >= *f.from_ms && r.start_ms < *f.to_ms) {
      expect.push_back(r);
    }
  }
  std::sort(expect.begin(), expect.end(), [](const Record& a, const Record& b) {
    return a.start_ms != b.start_ms ? a.start_ms > b.start_ms : a.id > b.id;
  });
  ASSERT_GT(expect.size(), 7u);
  expect.resize(7);
  std::vector<Record> got;
  ASSERT_TRUE(query_records(*c, f, got, e)) << e;
  EXPECT_EQ(got, expect);

  // By number: caller or called.
  QueryFilter byn;
  byn.number = sent[4].called;   // "+1 555 0100 " is the called number of every 5th
  ASSERT_TRUE(query_records(*c, byn, got, e)) << e;
  size_t expected_n = 0;
  for (const auto& r : sent) expected_n += r.caller == byn.number || r.called == byn.number;
  EXPECT_EQ(got.size(), std::min<size_t>(expected_n, byn.limit));

  // November 2025 per customer.
  std::map<std::string, UsageRow> by_customer;
  for (const auto& r : sent) {
    if (format_utc_ms(r.start_ms).rfind("2025-11", 0) != 0) continue;
    auto& u = by_customer[r.customer];
    u.key = r.customer;
    ++u.calls;
    u.answered += r.disposition == Disposition::answered;
    u.billable_s += r.billable_s;
    u.cost_micros += r.cost_micros;
    if (r.answer_ms) u.talk_ms += static_cast<uint64_t>(r.end_ms - r.answer_ms);
  }
  std::vector<UsageRow> expected_report;
  for (auto& [name, u] : by_customer) expected_report.push_back(u);
  std::vector<UsageRow> report;
  ASSERT_TRUE(usage_report(*c, 2025, 11, report, e)) << e;
  EXPECT_EQ(report, expected_report);
  // One customer's month per direction and per day (the portal's): the same totals.
  ASSERT_FALSE(expected_report.empty());
  const UsageRow& first = expected_report.front();
  for (UsageGroup by : {UsageGroup::direction, UsageGroup::day}) {
    std::vector<UsageRow> rows;
    ASSERT_TRUE(usage(*c, 2025, 11, by, first.key, rows, e)) << e;
    EXPECT_EQ(usage_total(rows, first.key), first);
    for (const auto& r : rows) {
      EXPECT_TRUE(by == UsageGroup::direction ? (r.key == "inbound" || r.key == "outbound")
                                              : r.key.rfind("2025-11-", 0) == 0)
          << r.key;
    }
  }
  ASSERT_TRUE(usage_report(*c, 2025, 10, report, e)) << e;
  uint64_t october = 0;
  for (const auto& u : report) october += u.calls;
  EXPECT_EQ(october, 40u);
  std::printf("%s", usage_table(expected_report).c_str());
}

// Submits `count` records at `per_second` from a thread; keeps what it sent.
struct Load {
  std::map<uint64_t, Record> sent;
  std::atomic<bool> done{false};
  std::string failure;
  std::thread thread;

  Load(Writer& w, uint64_t first, uint64_t count, uint64_t per_second) {
    thread = std::thread([this, &w, first, count, per_second] {
      const auto t0 = std::chrono::steady_clock::now();
      for (uint64_t n = 0; n < count; ++n) {
        std::string e;
        const uint64_t id = w.new_id(e);
        Record r = sample_record(first + n, id);
        const auto res = w.submit(r, &e);
        if (res != SubmitResult::queued && res != SubmitResult::spooled) {
          failure = e;
          break;
        }
        sent.emplace(id, std::move(r));
        const auto due = t0 + std::chrono::microseconds(n * 1'000'000 / per_second);
        if (due > std::chrono::steady_clock::now() + 1ms) std::this_thread::sleep_until(due);
      }
      done = true;
    });
  }
  ~Load() {
    if (thread.joinable()) thread.join();
  }
};

TEST(CdrDb, DbStoppedThenStartedUnderLoadLosesAndDoublesNothing) {
  const std::string db = fresh_database("t_outage");
  TempDir t;
  WriterConfig config = writer_config(t.path() + "/spool");
  config.queue_size = 16;   // smaller than what comes in between two spool rounds: overflows
  Writer w(config, std::make_unique<MysqlSink>(g_db->config(db)));
  std::string e;
  ASSERT_TRUE(w.start(e)) << e;
  Load load(w, 1, 30000, 10000);
  for (bool crash : {false, true}) {
    std::this_thread::sleep_for(500ms);
    const uint64_t before = w.stats().written;
    g_db->stop(crash);   // clean shutdown, then a crash (SIGKILL) mid-batch
    std::this_thread::sleep_for(800ms);
    const auto during = w.stats();
    EXPECT_FALSE(during.db_up);
    EXPECT_GT(during.retried, 0u);
    EXPECT_FALSE(during.alarm.empty());
    ASSERT_TRUE(g_db->start(e)) << e;
    EXPECT_GE(w.stats().written, before);
  }
  load.thread.join();
  ASSERT_TRUE(load.failure.empty()) << load.failure;
  ASSERT_TRUE(w.flush(60s)) << w.stats().alarm;
  const auto s = w.stats();
  EXPECT_GT(s.overflowed, 0u) << "submits found the queue full and went to the spool";
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_TRUE(s.alarm.empty()) << s.alarm;
  const auto rows = read_table(db);
  EXPECT_EQ(rows.size(), load.sent.size())
      << "written " << s.written << " in " << s.batches << " batches, retried " << s.retried
      << ", queued " << s.queued << ", overflowed " << s.overflowed << ", spooled " << s.spooled
      << ", corrupt " << s.corrupt_entries << ", torn " << s.torn_entries;
  std::set<std::string> call_ids;
  for (const auto& [id, r] : rows) EXPECT_TRUE(call_ids.insert(r.call_id).second) << r.call_id;
  for (const auto& [id, r] : load.sent) {
    auto it = rows.find(id);
    ASSERT_NE(it, rows.end()) << "lost " << RecordId::format(id);
    ASSERT_EQ(it->second, r);
  }
}

uint64_t read_progress(const std::string& path) {
  std::ifstream f(path);
  std::string word;
  uint64_t n = 0;
  f >> word >> n;
  return word == "accepted" ? n : 0;
}

TEST(CdrDb, WriterKilledMidLoadKeepsEveryAcceptedRecordExactlyOnce) {
  const char* load_bin = std::getenv("CDR_LOAD");
  if (!load_bin) GTEST_SKIP() << "CDR_LOAD (the cdr_load driver) not set";
  const std::string db = fresh_database("t_kill");
  TempDir t;
  const std::string spool = t.path() + "/spool", progress = t.path() + "/progress";
  constexpr uint64_t kCount = 100000;
  auto args = [&](uint64_t first, uint64_t count) {
    return std::vector<std::string>{load_bin, "--db", g_db->address(), "--database", db,
                                    "--spool", spool, "--progress", progress,
                                    "--first", std::to_string(first), "--count",
                                    std::to_string(count), "--rate", "40000"};
  };
  pid_t pid = tandem::testing::spawn(args(1, kCount), t.path() + "/load1.log");
  uint64_t accepted = 0;
  const auto until = std::chrono::steady_clock::now() + 60s;
  while ((accepted = read_progress(progress)) < kCount / 3) {
    ASSERT_EQ(tandem::testing::wait_for(pid, 0ms), -1) << "cdr_load ended early: "
                                               << tandem::testing::tail_of(t.path() + "/load1.log");
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "no progress";
    std::this_thread::sleep_for(2ms);
  }
  ::kill(pid, SIGKILL);
  tandem::testing::wait_for(pid, 10s);
  accepted = std::max(accepted, read_progress(progress));
  ASSERT_LT(accepted, kCount) << "killed too late to be mid-load";
  const size_t in_db_at_kill = read_table(db).size();

  // Restart: replays the spool, and new records get new ids.
  pid = tandem::testing::spawn(args(kCount + 1, 1000), t.path() + "/load2.log");
  const int status = tandem::testing::wait_for(pid, 120s);
  ASSERT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << tandem::testing::tail_of(t.path() + "/load2.log");

  // Every row is exactly one sample record; records 1..accepted are all there.
  std::map<std::string, uint64_t> index;   // call_id -> sample number
  for (uint64_t i = 1; i <= kCount + 1000; ++i) {
    index.emplace(sample_record(i, 1).call_id, i);
  }
  const auto rows = read_table(db);
  std::set<uint64_t> seen;
  for (const auto& [id, r] : rows) {
    auto it = index.find(r.call_id);
    ASSERT_NE(it, index.end()) << "unknown row " << r.call_id;
    ASSERT_TRUE(seen.insert(it->second).second) << "record " << it->second << " doubled";
    ASSERT_EQ(r, sample_record(it->second, id)) << "record " << it->second;
  }
  for (uint64_t i = 1; i <= accepted; ++i) {
    ASSERT_TRUE(seen.count(i)) << "accepted record " << i << " lost (accepted " << accepted << ")";
  }
  for (uint64_t i = kCount + 1; i <= kCount + 1000; ++i) {
    ASSERT_TRUE(seen.count(i)) << "record " << i << " after the restart lost";
  }
  std::printf("kill test: %llu accepted before SIGKILL, %zu in the DB then, %zu rows at the end\n",
              static_cast<unsigned long long>(accepted), in_db_at_kill, rows.size());
}

}  // namespace
}  // namespace tandem::cdr

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  tandem::testing::MariaDb db;
  if (int skip = 0; !tandem::testing::start_or_skip(db, skip)) return skip;
  tandem::cdr::g_db = &db;
  return RUN_ALL_TESTS();
}
