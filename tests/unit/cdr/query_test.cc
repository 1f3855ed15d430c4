// The report's formatting and argument parsing (the DB side is in
// tests/integration/cdr).
#include "cdr/query.h"

#include <gtest/gtest.h>

namespace tandem::cdr {
namespace {

const std::vector<UsageRow> kRows = {
    {"Acme, Inc.", 10, 7, 90, 1'500'000},
    {"Zürich \"Z\" AG", 3, 1, 61, 0},
    {"solo", 1, 1, 59, 123'456'789},
};

TEST(CdrReport, ParseMonth) {
  int y = 0, m = 0;
  EXPECT_TRUE(parse_month("2026-11", y, m));
  EXPECT_EQ(y, 2026);
  EXPECT_EQ(m, 11);
  EXPECT_FALSE(parse_month("2026-13", y, m));
  EXPECT_FALSE(parse_month("2026-1", y, m));
  EXPECT_FALSE(parse_month("2026/11", y, m));
  EXPECT_FALSE(parse_month("2026-11x", y, m));
  EXPECT_FALSE(parse_month("1999-12", y, m));
}

TEST(CdrReport, Csv) {
  EXPECT_EQ(usage_csv(kRows),
            "customer,calls,answered,minutes,cost\r\n"
            "\"Acme, Inc.\",10,7,1.50,1.500000\r\n"
            "\"Zürich \"\"Z\"\" AG\",3,1,1.02,0.000000\r\n"
            "solo,1,1,0.98,123.456789\r\n");
  EXPECT_EQ(usage_csv({}), "customer,calls,answered,minutes,cost\r\n");
}

TEST(CdrReport, Table) {
  EXPECT_EQ(usage_table(kRows),
            "customer       calls  answered  minutes        cost\n"
            "Acme, Inc.        10         7     1.50    1.500000\n"
            "Zürich \"Z\" AG      3         1     1.02    0.000000\n"
            "solo               1         1     0.98  123.456789\n"
            "-------------  -----  --------  -------  ----------\n"
            "total             14         9     3.50  124.956789\n");
}

TEST(CdrReport, TotalAndFormats) {
  const UsageRow t = usage_total(kRows, "total");
  EXPECT_EQ(t, (UsageRow{"total", 14, 9, 210, 124'956'789, 0}));
  EXPECT_EQ(format_minutes(61), "1.02");
  EXPECT_EQ(format_money(10'000), "0.010000");
  EXPECT_EQ(usage_csv({{"inbound", 2, 1, 60, 0, 61'000}}, "direction"),
            "direction,calls,answered,minutes,cost\r\ninbound,2,1,1.00,0.000000\r\n");
}

// Every value is a placeholder, in QueryFilter's order; only the page is text.
TEST(CdrQuery, SqlOfAFilter) {
  QueryFilter f;
  f.limit = 51;
  const std::string base = records_sql(f);
  EXPECT_NE(base.find(" FROM cdr ORDER BY start_time DESC, id DESC LIMIT 51"), std::string::npos) << base;
  f.from_ms = 1;
  f.to_ms = 2;
  f.number = "'; DROP TABLE cdr; --";
  f.customer = "Acme";
  f.direction = Direction::outbound;
  f.disposition = Disposition::busy;
  f.offset = 100;
  const std::string sql = records_sql(f);
  EXPECT_NE(sql.find(" WHERE start_time >= ? AND start_time < ? AND (caller = ? OR called = ?) AND customer = ? "
                     "AND direction = ? AND disposition = ? ORDER BY start_time DESC, id DESC LIMIT 51 OFFSET 100"),
            std::string::npos)
      << sql;
  EXPECT_EQ(sql.find("DROP"), std::string::npos);
}

TEST(CdrRecordId, ParseWhatFormatGives) {
  uint64_t id = 0;
  const uint64_t want = RecordId::make(1, 2, 12);
  EXPECT_TRUE(RecordId::parse(RecordId::format(want), id));
  EXPECT_EQ(id, want);
  EXPECT_TRUE(RecordId::parse(std::to_string(want), id));
  EXPECT_EQ(id, want);
  for (const char* bad : {"", "1-2", "1-2-", "256-1-1", "1-65536-1", "1-2-3-4", "x", "1 -2-3", "-1"}) {
    EXPECT_FALSE(RecordId::parse(bad, id)) << bad;
  }
}

TEST(CdrTime, ParseUtc) {
  int64_t ms = 0;
  EXPECT_TRUE(parse_utc_time("2026-11-05", ms));
  EXPECT_EQ(format_utc_ms(ms), "2026-11-05 00:00:00.000");
  EXPECT_TRUE(parse_utc_time("2026-11-05T10:20:30Z", ms));
  EXPECT_EQ(format_utc_ms(ms), "2026-11-05 10:20:30.000");
  for (const char* bad : {"2026-02-30", "2026-11-05 25:00", "2026-11-05x", "tomorrow", ""}) {
    EXPECT_FALSE(parse_utc_time(bad, ms)) << bad;
  }
}

}  // namespace
}  // namespace tandem::cdr
