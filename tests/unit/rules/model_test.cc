#include "rules/model.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "rules/schema.h"
#include "rules/store.h"

namespace tandem::rules {
namespace {

Action parsed(std::string_view kind, std::string_view target) {
  Action a;
  std::string error;
  EXPECT_TRUE(parse_action(kind, target, {}, a, error)) << kind << " " << target << ": " << error;
  return a;
}

std::string refused(std::string_view kind, std::string_view target) {
  Action a;
  std::string error;
  EXPECT_FALSE(parse_action(kind, target, {}, a, error)) << kind << " " << target;
  return error;
}

TEST(RulesModel, ActionsFromTheirColumns) {
  EXPECT_EQ(parsed("voicemail", "").kind, ActionKind::voicemail);
  EXPECT_EQ(parsed("forward", "0170 1234567").number, "+491701234567");
  EXPECT_EQ(parsed("menu", "42").menu_id, 42u);
  EXPECT_EQ(parsed("reject", "486").sip_code, 486);
  const Action ring = parsed("ring", "030 1111111/20, sip:bob@pbx.example.net/15,+4917022222/5");
  ASSERT_EQ(ring.ring.size(), 3u);
  EXPECT_EQ(ring.ring[0], (RingTarget{"+49301111111", 20}));
  EXPECT_EQ(ring.ring[1], (RingTarget{"sip:bob@pbx.example.net", 15}));
  EXPECT_EQ(ring.ring[2], (RingTarget{"+4917022222", 5}));
  EXPECT_EQ(format_target(ring), "+49301111111/20,sip:bob@pbx.example.net/15,+4917022222/5");
  EXPECT_EQ(describe(ring), "ring +49301111111 for 20 s, then sip:bob@pbx.example.net for 15 s, "
                            "then +4917022222 for 5 s");
  // Round trip through the target column.
  for (const Action& a : {parsed("forward", "+4930123456"), parsed("menu", "7"),
                          parsed("reject", "603"), parsed("voicemail", ""), ring}) {
    EXPECT_EQ(parsed(name(a.kind), format_target(a)), a);
  }
}

TEST(RulesModel, BadActions) {
  EXPECT_NE(refused("dance", "").find("unknown action"), std::string::npos);
  EXPECT_NE(refused("voicemail", "x").find("takes no target"), std::string::npos);
  EXPECT_NE(refused("forward", "").find("forward: number"), std::string::npos);
  EXPECT_NE(refused("ring", "").find("no target"), std::string::npos);
  EXPECT_NE(refused("ring", "+4930123456").find("no /SECONDS"), std::string::npos);
  EXPECT_NE(refused("ring", "+4930123456/0").find("1-600"), std::string::npos);
  EXPECT_NE(refused("ring", "+4930123456/20,").find("ring"), std::string::npos);
  EXPECT_NE(refused("menu", "x").find("not a menu id"), std::string::npos);
  EXPECT_NE(refused("menu", "0").find("not a menu id"), std::string::npos);
  EXPECT_NE(refused("reject", "200").find("400-699"), std::string::npos);
  EXPECT_NE(refused("reject", "700").find("400-699"), std::string::npos);
}

TEST(RulesModel, Days) {
  DayMask d = 0;
  ASSERT_TRUE(parse_days("mon,tue,sun", d));
  EXPECT_EQ(d, 1 | 2 | 64);
  EXPECT_EQ(format_days(d), "mon,tue,sun");
  ASSERT_TRUE(parse_days("", d));
  EXPECT_EQ(d, 0);
  EXPECT_FALSE(parse_days("mon,funday", d));
  EXPECT_EQ(name(CallerMatch::anonymous), "anonymous");
  EXPECT_EQ(parse_caller_match("prefix"), CallerMatch::prefix);
  EXPECT_EQ(parse_caller_match("regex"), std::nullopt);
}

// rules/schema.sql is documentation: the migrations in schema.cc are the source.
TEST(RulesModel, SchemaFileMatchesTheMigrations) {
  const char* path = std::getenv("RULES_SCHEMA_SQL");
  ASSERT_NE(path, nullptr) << "RULES_SCHEMA_SQL not set (meson sets it)";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::string line, body;
  bool header = true;
  while (std::getline(in, line)) {
    if (header && (line.rfind("--", 0) == 0 || line.empty())) continue;
    header = false;
    body += line + "\n";
  }
  EXPECT_EQ(body, schema().sql()) << "regenerate rules/schema.sql from schema().sql()";
  EXPECT_EQ(schema().latest_version(), 3);
}

}  // namespace
}  // namespace tandem::rules
