#include "rules/column_text.h"

#include <gtest/gtest.h>

#include <chrono>

namespace tandem::rules::internal {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;

TEST(RulesColumnText, Times) {
  uint32_t s = 1;
  EXPECT_TRUE(parse_time("00:00:00", s));
  EXPECT_EQ(s, 0u);
  EXPECT_TRUE(parse_time("08:30:15", s));
  EXPECT_EQ(s, 8 * 3600 + 30 * 60 + 15u);
  EXPECT_TRUE(parse_time("23:59:59", s));
  EXPECT_EQ(s, 86399u);
  EXPECT_TRUE(parse_time("24:00:00", s));  // a window's end: the day's last second included
  EXPECT_EQ(s, 86400u);
  for (const char* bad : {"24:00:01", "25:00:00", "12:60:00", "12:00:60", "8:30:15", "08:30", "08:30:15.5",
                          "08-30-15", "ab:cd:ef", "-1:00:00", "+1:00:00", ""}) {
    EXPECT_FALSE(parse_time(bad, s)) << bad;
  }
}

TEST(RulesColumnText, Dates) {
  Date d;
  EXPECT_TRUE(parse_date("2026-12-24", d));
  EXPECT_EQ(d, (Date{2026, 12, 24}));
  EXPECT_TRUE(parse_date("0999-01-02", d));
  EXPECT_EQ(d, (Date{999, 1, 2}));
  for (const char* bad : {"2026-1-24", "2026/12/24", "26-12-24", "2026-12-24 ", "2026-xx-24", ""}) {
    EXPECT_FALSE(parse_date(bad, d)) << bad;
  }
  // The format only: a DATE column holds real dates, and the DB refuses an
  // imported impossible one.
  EXPECT_TRUE(parse_date("2026-02-30", d));
  EXPECT_EQ(date_text(Date{2026, 3, 1}), "2026-03-01");
  EXPECT_EQ(date_text(Date{999, 1, 2}), "0999-01-02");
}

TEST(RulesColumnText, Datetimes) {
  UtcSeconds t;
  EXPECT_TRUE(parse_datetime("2026-03-01 12:34:56", t));
  EXPECT_EQ(t, sys_days{std::chrono::year{2026} / 3 / 1} + 12h + 34min + 56s);
  EXPECT_TRUE(parse_datetime("2024-02-29 00:00:00", t));  // a leap day
  EXPECT_EQ(t, sys_days{std::chrono::year{2024} / 2 / 29});
  for (const char* bad : {"2026-02-30 00:00:00", "2025-02-29 00:00:00", "2026-13-01 00:00:00",
                          "2026-03-01T12:34:56", "2026-03-01 12:34", "2026-03-01 24:00:01", "2026-03-01", ""}) {
    EXPECT_FALSE(parse_datetime(bad, t)) << bad;
  }
}

TEST(RulesColumnText, Micros) {
  int64_t m = 0;
  EXPECT_TRUE(parse_micros("12.345600", m));
  EXPECT_EQ(m, 12345600);
  EXPECT_TRUE(parse_micros("0.000001", m));
  EXPECT_EQ(m, 1);
  EXPECT_TRUE(parse_micros("3", m));
  EXPECT_EQ(m, 3000000);
  EXPECT_TRUE(parse_micros("0.5", m));
  EXPECT_EQ(m, 500000);
  EXPECT_TRUE(parse_micros("-1.25", m));
  EXPECT_EQ(m, -1250000);
  EXPECT_TRUE(parse_micros("-0.5", m));
  EXPECT_EQ(m, -500000);
  for (const char* bad : {"1.1234567", "0.0000001", ".5", "abc", "1,5", "1.5e3", "-", ""}) {
    EXPECT_FALSE(parse_micros(bad, m)) << bad;
  }
}

TEST(RulesColumnText, DateRanges) {
  std::vector<DateRange> r;
  ASSERT_TRUE(parse_date_ranges("2026-12-24..2026-12-26;2027-01-01..2027-01-01", r));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].from, (Date{2026, 12, 24}));
  EXPECT_EQ(r[0].to, (Date{2026, 12, 26}));
  EXPECT_EQ(r[1].from, (Date{2027, 1, 1}));
  EXPECT_EQ(r[1].to, (Date{2027, 1, 1}));
  r.clear();
  EXPECT_TRUE(parse_date_ranges("", r));
  EXPECT_TRUE(r.empty());
  for (const char* bad : {"2026-12-24", "2026-12-24..", "..2026-12-26", "2026-12-24...2026-12-26",
                          "2026-12-24..2026-12-26;;2027-01-01..2027-01-01", "2026-12-24-2026-12-26"}) {
    EXPECT_FALSE(parse_date_ranges(bad, r)) << bad;
  }
}

TEST(RulesColumnText, Numbers) {
  uint16_t n = 0;
  EXPECT_TRUE(parse_num(std::string_view("65535"), n));
  EXPECT_EQ(n, 65535);
  EXPECT_FALSE(parse_num(std::string_view("65536"), n));
  EXPECT_FALSE(parse_num(std::string_view("12x"), n));
  EXPECT_FALSE(parse_num(std::string_view(""), n));
  int64_t i = 0;
  EXPECT_TRUE(parse_num(std::string_view("-42"), i));
  EXPECT_EQ(i, -42);
}

}  // namespace
}  // namespace tandem::rules::internal
