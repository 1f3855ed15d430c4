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

}  // namespace
}  // namespace tandem::cdr
