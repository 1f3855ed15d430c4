// What tandemctl reads of another process's /metrics: the text our Exposition
// writes, parsed back; and every malformed line refused with its number.
#include "metrics/scrape.h"

#include <gtest/gtest.h>

#include <cmath>

#include "metrics/exposition.h"

namespace tandem::metrics {
namespace {

TEST(ParseExposition, ReadsBackWhatExpositionWrites) {
  Exposition e;
  e.counter("tandem_calls_total", "calls", 42);
  e.family("tandem_sbc_server_state", "gauge", "state");
  e.sample(1, {{"server", "dc1-node1"}, {"state", "up"}});
  e.sample(0, {{"server", "we\"ird\\name"}, {"state", "down"}});
  e.gauge("tandem_rtt_seconds", "rtt", 0.00125);
  std::vector<Sample> got;
  std::string error;
  ASSERT_TRUE(parse_exposition(e.text(), got, error)) << error << "\n" << e.text();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].name, "tandem_calls_total");
  EXPECT_EQ(got[0].value, 42);
  EXPECT_EQ(got[1].labels.at("server"), "dc1-node1");
  EXPECT_EQ(got[1].labels.at("state"), "up");
  EXPECT_EQ(got[2].labels.at("server"), "we\"ird\\name");
  EXPECT_DOUBLE_EQ(got[3].value, 0.00125);
}

TEST(ParseExposition, TakesSpecialValuesAndTimestamps) {
  std::vector<Sample> got;
  std::string error;
  ASSERT_TRUE(parse_exposition("a +Inf\nb{x=\"1\"} NaN 1712345678000\n\n# HELP c c\nc -2.5e3\n", got, error)) << error;
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(std::isinf(got[0].value));
  EXPECT_TRUE(std::isnan(got[1].value));
  EXPECT_EQ(got[2].value, -2500);
}

TEST(ParseExposition, RefusesMalformedLinesByNumber) {
  for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
           {"ok 1\nnovalue\n", "line 2: not a sample"},
           {"a{x=\"1\" 2\n", "line 1: no , or } after a label"},
           {"a{x=1} 2\n", "line 1: label without =\"value\""},
           {"a{x=\"1\"\n", "line 1: unterminated label set"},
           {"a{x=\"1\n", "line 1: unterminated label value"},
           {"a 12abc\n", "line 1: no value"},
           {"a \n", "line 1: no value"},
           {" 1\n", "line 1: not a sample"}}) {
    std::vector<Sample> got{{"kept", {}, 1}};
    std::string error;
    EXPECT_FALSE(parse_exposition(text, got, error)) << text;
    EXPECT_EQ(error, why) << text;
    EXPECT_EQ(got.size(), 1u) << "nothing returned on error";
  }
}

TEST(Scrape, NamesWhatFailed) {
  std::vector<Sample> got;
  std::string error;
  EXPECT_FALSE(scrape("not-an-address", 200, got, error));
  EXPECT_EQ(error, "not IPV4:PORT: not-an-address");
  EXPECT_FALSE(scrape("127.0.0.1:1", 200, got, error));
  EXPECT_EQ(error, "127.0.0.1:1: cannot connect");
}

}  // namespace
}  // namespace tandem::metrics
