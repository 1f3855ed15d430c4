#include "rules/number.h"

#include <gtest/gtest.h>

namespace tandem::rules {
namespace {

std::string norm(std::string_view in, const NumberPlan& plan = {}) {
  std::string out, error;
  EXPECT_TRUE(normalize_number(in, plan, out, error)) << in << ": " << error;
  return out;
}

std::string refused(std::string_view in, const NumberPlan& plan = {}) {
  std::string out = "unchanged", error;
  EXPECT_FALSE(normalize_number(in, plan, out, error)) << in << " -> " << out;
  EXPECT_EQ(out, "unchanged");
  EXPECT_FALSE(error.empty());
  return error;
}

TEST(RulesNumber, InternationalForms) {
  EXPECT_EQ(norm("+49301234567"), "+49301234567");
  EXPECT_EQ(norm("+49 30 1234567"), "+49301234567");
  EXPECT_EQ(norm("+49 (0)30 1234567"), "+49301234567");
  EXPECT_EQ(norm("+49-30-123.45.67"), "+49301234567");
  EXPECT_EQ(norm("0049 30 1234567"), "+49301234567");
  EXPECT_EQ(norm("tel:+49301234567"), "+49301234567");
  EXPECT_EQ(norm("  +1 (212) 555-1234 "), "+12125551234");
}

TEST(RulesNumber, NationalFormsTakeTheCountryCode) {
  EXPECT_EQ(norm("030 1234567"), "+49301234567");
  EXPECT_EQ(norm("030/123-45.67"), "+49301234567");
  EXPECT_EQ(norm("(030) 1234567"), "+49301234567");
  const NumberPlan nanp{"1", "1", "011"};
  EXPECT_EQ(norm("1 212 555 1234", nanp), "+12125551234");
  EXPECT_EQ(norm("011 44 20 7946 0000", nanp), "+442079460000");
  const NumberPlan fr{"33", "0", "00"};
  EXPECT_EQ(norm("01 23 45 67 89", fr), "+33123456789");
}

TEST(RulesNumber, BadNumbersAreRefusedWithTheReason) {
  EXPECT_NE(refused("").find("empty"), std::string::npos);
  EXPECT_NE(refused("   ").find("empty"), std::string::npos);
  EXPECT_NE(refused("+").find("no digits"), std::string::npos);
  EXPECT_NE(refused("+49 30 CALL-ME").find("character 'C' at 8"), std::string::npos);
  EXPECT_NE(refused("030#1234567").find("character '#'"), std::string::npos);
  EXPECT_NE(refused("49+301234567").find("only allowed in front"), std::string::npos);
  EXPECT_NE(refused("1234567").find("local number"), std::string::npos);
  EXPECT_NE(refused("+0301234567").find("cannot start with 0"), std::string::npos);
  EXPECT_NE(refused("000301234567").find("cannot start with 0"), std::string::npos);
  EXPECT_NE(refused("+1234567890123456").find("more than E.164's 15"), std::string::npos);
  EXPECT_NE(refused("+49301").find("too short"), std::string::npos);
  EXPECT_NE(refused("0").find("local number"), std::string::npos);
  EXPECT_NE(refused("sip:alice@example.com").find("character 's'"), std::string::npos);
}

TEST(RulesNumber, LongestE164IsAccepted) {
  EXPECT_EQ(norm("+123456789012345"), "+123456789012345");
  EXPECT_EQ(norm("+290 1234"), "+2901234");
}

TEST(RulesNumber, Prefixes) {
  std::string out, error;
  ASSERT_TRUE(normalize_prefix("030", {}, out, error)) << error;
  EXPECT_EQ(out, "+4930");
  ASSERT_TRUE(normalize_prefix("+1", {}, out, error)) << error;
  EXPECT_EQ(out, "+1");
  ASSERT_TRUE(normalize_prefix("0044", {}, out, error)) << error;
  EXPECT_EQ(out, "+44");
  EXPECT_FALSE(normalize_prefix("0", {}, out, error));
  EXPECT_FALSE(normalize_prefix("+49x", {}, out, error));
}

TEST(RulesNumber, Plans) {
  std::string error;
  EXPECT_TRUE(validate_plan({}, error)) << error;
  EXPECT_TRUE(validate_plan({"1", "1", "011"}, error)) << error;
  EXPECT_FALSE(validate_plan({"", "0", "00"}, error));
  EXPECT_FALSE(validate_plan({"049", "0", "00"}, error));
  EXPECT_FALSE(validate_plan({"4900", "0", "00"}, error));
  EXPECT_FALSE(validate_plan({"49", "0", "0"}, error));
  EXPECT_FALSE(validate_plan({"49", "x", "00"}, error));
}

TEST(RulesNumber, DigitsKeysAreDistinct) {
  uint64_t a = 0, b = 0, c = 0;
  ASSERT_TRUE(digits_key("1", a));
  ASSERT_TRUE(digits_key("01", b));
  ASSERT_TRUE(digits_key("+1", c));
  EXPECT_NE(a, b);
  EXPECT_EQ(a, c);
  EXPECT_TRUE(digits_key("999999999999999", a));
  EXPECT_FALSE(digits_key("9999999999999999", a));
  EXPECT_FALSE(digits_key("", a));
  EXPECT_FALSE(digits_key("12a", a));
}

}  // namespace
}  // namespace tandem::rules
