// The real tandemctl binary against a MariaDB started here (tests/support/mariadb_fixture.h):
// `db init|migrate`, then records written by the cdr library read back by
// `cdr tail|show|query|report`, output checked exactly. Exits 77 when MariaDB
// cannot run on this machine.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cppconn/connection.h>
#include <cppconn/statement.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cdr/mysql_sink.h"
#include "cdr/record.h"
#include "cdr/schema.h"
#include "rules/schema.h"
#include "tests/support/mariadb_fixture.h"
#include "tests/support/tandemctl_run.h"
#include "tests/unit/cdr/sample_records.h"

namespace tandem::cdr {
namespace {

using tandem::testing::MariaDb;
using testing::sample_record;

MariaDb* g_db = nullptr;

using ::tandem::testing::CtlRun;

// Runs tandemctl with `args` (shell words); stderr goes to the test's log.
CtlRun tandemctl(const std::string& args) { return ::tandem::testing::run_tandemctl(args, false); }

void drop(const std::string& database) {
  std::string e;
  auto c = db::connect(g_db->config(""), false, e);
  ASSERT_TRUE(c) << e;
  std::unique_ptr<sql::Statement> st(c->createStatement());
  st->execute("DROP DATABASE IF EXISTS " + database);
}

uint64_t id_of(uint64_t seq) { return RecordId::make(1, 2, seq); }

// Eight sample records started on 2025-11-24 (both directions, UTF-8 customer,
// trailing space in a number) and one moved into December.
std::vector<Record> records() {
  std::vector<Record> out;
  for (uint64_t i : {1, 2, 3, 4, 7, 10, 12, 18}) out.push_back(sample_record(i, id_of(i)));
  Record dec = sample_record(6, id_of(6));
  const int64_t shift = int64_t{10} * 24 * 3600 * 1000;   // 2025-12-04
  dec.start_ms += shift;
  dec.end_ms += shift;
  if (dec.answer_ms) dec.answer_ms += shift;
  out.push_back(dec);
  return out;
}

class TandemctlCdr : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    drop("ctl_rules");
    drop("ctl_cdr");
  }
  static std::string cdr_opts() {
    return "--db " + g_db->address() + " --db-user root --db-name ctl_cdr";
  }
};

TEST_F(TandemctlCdr, DbInitMigrateThenTailShowQueryReport) {
  const std::string db_opts = "--rules-db " + g_db->address() + " --rules-db-user root --rules-db-name ctl_rules" +
                              " --cdr-db " + g_db->address() + " --cdr-db-user root --cdr-db-name ctl_cdr";
  const std::string latest = std::to_string(schema().latest_version());
  const std::string rules = std::to_string(rules::schema().latest_version());
  CtlRun r = tandemctl("db " + db_opts + " init");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "Rules DB ctl_rules: schema version 0 -> " + rules + "\nCDR DB ctl_cdr: schema version 0 -> " +
                       latest + "\n");
  r = tandemctl("db " + db_opts + " migrate");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "Rules DB ctl_rules: schema version " + rules + " -> " + rules +
                       "\nCDR DB ctl_cdr: schema version " + latest + " -> " + latest + "\n");

  {
    MysqlSink sink(g_db->config("ctl_cdr"));
    std::string e;
    ASSERT_EQ(sink.write(records(), e), WriteStatus::ok) << e;
  }
  const std::string o = cdr_opts();

  r = tandemctl("cdr " + o + " tail -n 3");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "id      start (UTC)              dir  caller        called        customer     disposition  code  duration  billable\n"
            "1-2-12  2025-11-24 16:00:14.844  out  +49301000012  +33600000012  customer-12  answered      200    12.059        13\n"
            "1-2-18  2025-11-24 16:00:22.266  in   +49301000018  +33600000018  customer-1   answered      200    18.065        19\n"
            "1-2-6   2025-12-04 16:00:07.422  in   +49301000006  +33600000006  customer-6   answered      200     6.053         7\n"
            "3 records\n");

  r = tandemctl("cdr " + o + " show 1-2-7");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "id            1-2-7 (72059793061183495)\n"
            "call-id       call-7@198.51.100.7\n"
            "direction     outbound\n"
            "caller        +49301000007\n"
            "called        +33600000007\n"
            "customer      Zürich Telekom AG ✓\n"
            "target        -\n"
            "provider      carrier-3\n"
            "cost          0.000000\n"
            "dc/server     fra/node-1\n"
            "start         2025-11-24 16:00:08.659 UTC\n"
            "answer        -\n"
            "end           2025-11-24 16:00:15.713 UTC\n"
            "duration      7.054 s\n"
            "billable      0 s\n"
            "disposition   busy (486)\n"
            "hangup        callee: BYE reason 7\n"
            "caller leg    350 packets, 1099511687976 bytes, 7 lost, jitter max 5007 us, mean 7 us\n"
            "callee leg    351 packets, 1099511688148 bytes, 7 lost, jitter max 5007 us, mean 7 us\n");

  r = tandemctl("--json cdr " + o + " show " + std::to_string(id_of(7)));
  EXPECT_EQ(r.status, 0);
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  const Record seven = sample_record(7, id_of(7));
  EXPECT_EQ(j["id"], "1-2-7");
  EXPECT_EQ(j["customer"], seven.customer);
  EXPECT_EQ(j["call_id"], seven.call_id);
  EXPECT_EQ(j["duration_ms"], seven.duration_ms);
  EXPECT_EQ(j["legs"][1]["lost"], seven.legs[1].lost);

  r = tandemctl("cdr " + o + " query --customer 'Zürich Telekom AG ✓'");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "id     start (UTC)              dir  caller        called        customer             disposition  code  duration  billable\n"
            "1-2-7  2025-11-24 16:00:08.659  out  +49301000007  +33600000007  Zürich Telekom AG ✓  busy          486     7.054         0\n"
            "1 record\n");

  r = tandemctl("cdr " + o + " query --number '+1 555 0100 '");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "id      start (UTC)              dir  caller        called        customer     disposition  code  duration  billable\n"
            "1-2-10  2025-11-24 16:00:12.370  in   +49301000010  +1 555 0100   customer-10  cancelled     487    10.057         0\n"
            "1 record\n");

  r = tandemctl("cdr " + o + " query --from '2025-11-24 16:00:02' --to 2025-12-01");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "id      start (UTC)              dir  caller        called        customer             disposition  code  duration  billable\n"
            "1-2-2   2025-11-24 16:00:02.474  in   +49301000002  +33600000002  customer-2           no_answer     480     2.049         0\n"
            "1-2-3   2025-11-24 16:00:03.711  out  +49301000003  +33600000003  customer-3           failed        503     3.050         0\n"
            "1-2-4   2025-11-24 16:00:04.948  in   +49301000004  +33600000004  customer-4           cancelled     487     4.051         0\n"
            "1-2-7   2025-11-24 16:00:08.659  out  +49301000007  +33600000007  Zürich Telekom AG ✓  busy          486     7.054         0\n"
            "1-2-10  2025-11-24 16:00:12.370  in   +49301000010  +1 555 0100   customer-10          cancelled     487    10.057         0\n"
            "1-2-12  2025-11-24 16:00:14.844  out  +49301000012  +33600000012  customer-12          answered      200    12.059        13\n"
            "1-2-18  2025-11-24 16:00:22.266  in   +49301000018  +33600000018  customer-1           answered      200    18.065        19\n"
            "7 records\n");

  r = tandemctl("cdr " + o + " report --month 2025-11 --csv");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "customer,calls,answered,minutes,cost\r\n"
            "Zürich Telekom AG ✓,1,0,0.00,0.000000\r\n"
            "customer-1,2,1,0.32,0.000000\r\n"
            "customer-10,1,0,0.00,0.000000\r\n"
            "customer-12,1,1,0.22,14.814804\r\n"
            "customer-2,1,0,0.00,0.000000\r\n"
            "customer-3,1,0,0.00,0.000000\r\n"
            "customer-4,1,0,0.00,0.000000\r\n");

  r = tandemctl("cdr " + o + " report --month 2025-11");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "customer             calls  answered  minutes       cost\n"
            "Zürich Telekom AG ✓      1         0     0.00   0.000000\n"
            "customer-1               2         1     0.32   0.000000\n"
            "customer-10              1         0     0.00   0.000000\n"
            "customer-12              1         1     0.22  14.814804\n"
            "customer-2               1         0     0.00   0.000000\n"
            "customer-3               1         0     0.00   0.000000\n"
            "customer-4               1         0     0.00   0.000000\n"
            "-------------------  -----  --------  -------  ---------\n"
            "total                    8         2     0.53  14.814804\n");

  r = tandemctl("cdr " + o + " report --month 2025-12 --csv");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "customer,calls,answered,minutes,cost\r\n"
            "customer-6,1,1,0.12,0.000000\r\n");

  r = tandemctl("--json cdr " + o + " report --month 2025-12");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "[\n  {\n    \"answered\": 1,\n    \"billable_s\": 7,\n    \"calls\": 1,\n"
                   "    \"cost\": \"0.000000\",\n    \"customer\": \"customer-6\"\n  }\n]\n");

  r = tandemctl("--json cdr " + o + " query --from 2025-12-01T00:00:00Z --limit 5");
  EXPECT_EQ(r.status, 0);
  const auto dec = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(dec.is_array()) << r.out;
  ASSERT_EQ(dec.size(), 1u);
  EXPECT_EQ(dec[0]["id"], "1-2-6");
  EXPECT_EQ(dec[0]["start"], "2025-12-04 16:00:07.422");
}

TEST_F(TandemctlCdr, ErrorsAndExitCodes) {
  drop("ctl_cdr_errors");
  db::MigrateResult m;
  std::string e;
  ASSERT_TRUE(migrate(g_db->config("ctl_cdr_errors"), m, e)) << e;
  const std::string o = "--db " + g_db->address() + " --db-user root --db-name ctl_cdr_errors";
  EXPECT_EQ(tandemctl("cdr " + o + " tail").out, "id  start (UTC)  dir  caller  called  customer  disposition  code  duration  billable\n0 records\n");
  EXPECT_EQ(tandemctl("cdr " + o + " show 1-2 2>/dev/null").status, 2);
  EXPECT_EQ(tandemctl("cdr " + o + " query --from yesterday 2>/dev/null").status, 2);
  EXPECT_EQ(tandemctl("cdr " + o + " report --month 2025-13 2>/dev/null").status, 2);
  CtlRun r = tandemctl("cdr " + o + " show 1-2-999999 2>&1");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "tandemctl: no record 1-2-999999\n");
  r = tandemctl("cdr --db 127.0.0.1:" + std::to_string(tandem::testing::free_port()) + " tail 2>/dev/null");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace tandem::cdr

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* bin = std::getenv("TANDEMCTL");
  if (!bin || ::access(bin, X_OK) != 0) {
    std::printf("SKIP: TANDEMCTL not set or not built\n");
    return 77;
  }
  tandem::testing::MariaDb db;
  if (int skip = 0; !tandem::testing::start_or_skip(db, skip)) return skip;
  tandem::cdr::g_db = &db;
  return RUN_ALL_TESTS();
}
