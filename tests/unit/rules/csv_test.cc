#include "rules/csv.h"

#include <gtest/gtest.h>

namespace tandem::rules {
namespace {

using Records = std::vector<std::vector<std::string>>;

TEST(RulesCsv, RecordsAndTheirLines) {
  Records rec;
  std::vector<size_t> lines;
  std::string error;
  ASSERT_TRUE(parse_csv("a,b,c\r\n\n\"x, y\",\"say \"\"hi\"\"\",\n\"two\nlines\",,z\nlast", rec, lines, error))
      << error;
  EXPECT_EQ(rec, (Records{{"a", "b", "c"}, {"x, y", "say \"hi\"", ""}, {"two\nlines", "", "z"}, {"last"}}));
  EXPECT_EQ(lines, (std::vector<size_t>{1, 3, 4, 6}));
}

TEST(RulesCsv, BadQuoting) {
  Records rec;
  std::vector<size_t> lines;
  std::string error;
  EXPECT_FALSE(parse_csv("a,b\n\"open,c\n", rec, lines, error));
  EXPECT_EQ(error, "line 2: unterminated quote");
  rec.clear();
  lines.clear();
  error.clear();
  EXPECT_FALSE(parse_csv("a\n\"x\"y,b\n", rec, lines, error));
  EXPECT_EQ(error, "line 2: text after a closing quote");
}

TEST(RulesCsv, FieldsQuotedOnlyWhenNeeded) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  Records rec;
  std::vector<size_t> lines;
  std::string error;
  ASSERT_TRUE(parse_csv(csv_field("a,\"b\"\r\nc") + "," + csv_field("d") + "\n", rec, lines, error));
  EXPECT_EQ(rec, (Records{{"a,\"b\"\r\nc", "d"}}));
}

}  // namespace
}  // namespace tandem::rules
