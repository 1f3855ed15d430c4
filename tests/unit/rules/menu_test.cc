// Menus as data: their actions, the keys of their options, how an entry is
// matched, what a snapshot refuses, and where a caller's entries lead.
#include "rules/menu.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rules/explain.h"
#include "tests/unit/rules/sample_rules.h"

namespace tandem::rules {
namespace {

using namespace testing;

TEST(Menus, MenuActionsFromTheirColumns) {
  Action a;
  std::string e;
  ASSERT_TRUE(parse_action("extension", " 201 ", {}, a, e)) << e;
  EXPECT_EQ(a, extension("201"));
  EXPECT_EQ(format_target(a), "201");
  EXPECT_EQ(describe(a), "extension 201 on the VM");
  ASSERT_TRUE(parse_action("repeat", "", {}, a, e)) << e;
  EXPECT_EQ(describe(a), "repeat the menu");
  ASSERT_TRUE(parse_action("hangup", "", {}, a, e)) << e;
  EXPECT_EQ(describe(a), "hang up");
  EXPECT_FALSE(parse_action("extension", "", {}, a, e));
  EXPECT_EQ(e, "extension: target \"\" is not 1-16 digits");
  EXPECT_FALSE(parse_action("extension", "20a", {}, a, e));
  EXPECT_FALSE(parse_action("extension", "12345678901234567", {}, a, e));
  EXPECT_FALSE(parse_action("hangup", "now", {}, a, e));
  EXPECT_EQ(e, "hangup takes no target, got \"now\"");
  EXPECT_FALSE(parse_action("repeat", "2", {}, a, e));
}

TEST(Menus, OptionKeys) {
  std::string why;
  for (const char* ok : {"1", "#", "*", "0", "201", "*9", "1234567890123456"}) {
    EXPECT_TRUE(valid_entry(ok, why)) << ok << ": " << why;
  }
  for (const char* bad : {"", "1#", "#1", "12345678901234567", "a", "1 2"}) {
    EXPECT_FALSE(valid_entry(bad, why)) << bad;
  }
  valid_entry("2#", why);
  EXPECT_EQ(why, "\"2#\": '#' is not 0-9 or * (# ends an entry, or is an option alone)");
}

// Options 1, 2, 20, 201 and #, sorted as a snapshot has them.
Menu nested_keys() {
  Menu m = attendant(7);
  for (const char* k : {"#", "1", "2", "20", "201"}) m.options.push_back(MenuOption{k, voicemail()});
  return m;
}

TEST(Menus, EntriesAreDecidedAsSoonAsTheyCanBe) {
  const Menu m = nested_keys();
  {
    Entry e(m);  // no longer option starts with 1: at once
    EXPECT_EQ(e.key('1'), EntryMatch::option);
    EXPECT_EQ(e.option()->digits, "1");
  }
  {
    Entry e(m);  // no option starts with 3: invalid at once
    EXPECT_EQ(e.key('3'), EntryMatch::invalid);
    EXPECT_EQ(e.option(), nullptr);
  }
  {
    Entry e(m);  // 2 could become 20 or 201: it waits
    EXPECT_EQ(e.key('2'), EntryMatch::more);
    EXPECT_EQ(e.key('0'), EntryMatch::more);
    EXPECT_EQ(e.key('1'), EntryMatch::option);
    EXPECT_EQ(e.option()->digits, "201");
  }
  {
    Entry e(m);  // # ends it: 2
    EXPECT_EQ(e.key('2'), EntryMatch::more);
    EXPECT_EQ(e.key('#'), EntryMatch::option);
    EXPECT_EQ(e.option()->digits, "2");
  }
  {
    Entry e(m);  // the inter-digit timeout ends it: 20
    e.key('2'), e.key('0');
    EXPECT_EQ(e.ended(), EntryMatch::option);
    EXPECT_EQ(e.option()->digits, "20");
  }
  {
    Entry e(m);  // # first: the option #
    EXPECT_EQ(e.key('#'), EntryMatch::option);
    EXPECT_EQ(e.option()->digits, "#");
  }
  {
    Entry e(m);  // 20 then 9: no option starts with 209
    e.key('2'), e.key('0');
    EXPECT_EQ(e.key('9'), EntryMatch::invalid);
  }
  Menu longest = attendant(8);
  longest.options.push_back(MenuOption{"1234567890123456", voicemail()});
  Entry e(longest);
  for (char k : std::string("123456789012345")) EXPECT_EQ(e.key(k), EntryMatch::more);
  EXPECT_EQ(e.key('7'), EntryMatch::invalid);
}

TEST(Menus, SnapshotRefusesBadMenus) {
  RulesData d = base();
  Menu m = attendant(7);
  m.prompt = "main.wav";
  m.timeout_s = 0;
  m.inter_digit_timeout_s = 61;
  m.retries = 10;
  m.name = "";
  m.options = {MenuOption{"1", extension("2x")}, MenuOption{"1", voicemail()}, MenuOption{"2#", voicemail()},
               MenuOption{"3", menu(9)}};
  m.timeout_action = menu_action(ActionKind::repeat);
  d.menus.push_back(m);
  d.rules = {rule(1, 1, menu_action(ActionKind::hangup)), rule(2, 2, extension("201"))};
  d.customers[0].default_action = menu_action(ActionKind::repeat);
  const std::string e = build_errors(d);
  for (const char* want :
       {"menu 7 (): prompt \"main.wav\" is not an absolute path", "timeout 0 s is not 1-600",
        "inter-digit timeout 61 s is not 1-60", "10 retries, at most 9", "menu 7 (): no name",
        "option 1: extension \"2x\" is not 1-16 digits", "option 1: given twice", "option \"2#\"",
        "option 3: menu 9 does not exist", "timeout action: repeat (the retries play the prompt again)",
        "rule 1: hangup is only for menus", "rule 2: extension is only for menus",
        "customer 1 default action: repeat is only for menus"}) {
    EXPECT_NE(e.find(want), std::string::npos) << "missing \"" << want << "\" in:\n" << e;
  }
}

TEST(Menus, TimeoutActionsMustNotLoop) {
  RulesData d = base();
  for (Id id : {7, 8, 9}) d.menus.push_back(attendant(id));
  d.menus[0].timeout_action = menu(8);
  d.menus[1].timeout_action = menu(9);
  d.menus[2].timeout_action = menu(7);
  const std::string e = build_errors(d);
  EXPECT_NE(e.find("menu 7 (main): its timeout actions lead back to it (7 -> 8 -> 9 -> 7): a caller who keys "
                   "nothing would never leave"),
            std::string::npos)
      << e;
  // Through invalid entries it is the caller who goes round: allowed.
  d.menus[2].timeout_action = menu_action(ActionKind::hangup);
  d.menus[2].invalid_action = menu(7);
  build_ok(d);
}

// Menu 7 (main): 1 the VM, 2 menu 8, 9 repeat, 201 extension 201; invalid: hang up.
// Menu 8 (sales): 1 forward, # back to 7, 0 hang up; timeout: the VM.
RulesData two_menus() {
  RulesData d = base();
  Menu main = attendant(7);
  main.options = {MenuOption{"1", voicemail()}, MenuOption{"2", menu(8)},
                  MenuOption{"9", menu_action(ActionKind::repeat)}, MenuOption{"201", extension("201")}};
  main.invalid_action = menu_action(ActionKind::hangup);
  main.retries = 1;
  Menu sales = attendant(8);
  sales.name = "sales";
  sales.timeout_s = 5;
  sales.options = {MenuOption{"1", forward("+4930999999")}, MenuOption{"#", menu(7)},
                   MenuOption{"0", menu_action(ActionKind::hangup)}};
  d.menus = {main, sales};
  d.rules = {rule(1, 1, menu(7))};
  return d;
}

TEST(Menus, EntriesLeadThroughNestedMenus) {
  auto s = build_ok(two_menus());
  ASSERT_NE(s, nullptr);
  // The snapshot keeps the options sorted.
  EXPECT_EQ(s->menu(8)->options[0].digits, "#");
  MenuPath p = follow_menus(*s, 7, {"2", "timeout", "#", "201#"});
  ASSERT_TRUE(p.error.empty()) << p.error;
  ASSERT_EQ(p.steps.size(), 4u);
  EXPECT_EQ(p.steps[1].menu->id, 8u);
  EXPECT_EQ(p.steps[1].outcome, MenuOutcome::timeout);
  EXPECT_EQ(p.steps[1].retry, 1);  // the prompt again
  EXPECT_EQ(p.steps[2].option->digits, "#");
  ASSERT_NE(p.action, nullptr);
  EXPECT_EQ(*p.action, extension("201"));
  EXPECT_EQ(explain(p, s->data().customers[0]),
            "menu 7 \"main\": prompt /var/lib/tandem/prompts/main.wav, first key within 10 s, then 3 s between "
            "keys (# ends an entry), 1 retries\n"
            "  1: voicemail\n  2: menu 8\n  201: extension 201 on the VM\n  9: repeat the menu\n"
            "  timeout: voicemail; invalid: hang up\n"
            "  entry 2: option 2 -> menu 8\n"
            "menu 8 \"sales\": prompt /var/lib/tandem/prompts/main.wav, first key within 5 s, then 3 s between "
            "keys (# ends an entry), 2 retries\n"
            "  #: menu 7\n  0: hang up\n  1: forward to +4930999999\n"
            "  timeout: voicemail; invalid: voicemail\n"
            "  entry timeout: nothing keyed within 5 s: the prompt again (retry 1 of 2)\n"
            "  entry #: option # -> menu 7\n"
            "menu 7 \"main\": prompt /var/lib/tandem/prompts/main.wav, first key within 10 s, then 3 s between "
            "keys (# ends an entry), 1 retries\n"
            "  1: voicemail\n  2: menu 8\n  201: extension 201 on the VM\n  9: repeat the menu\n"
            "  timeout: voicemail; invalid: hang up\n"
            "  entry 201#: option 201 -> extension 201 on the VM\n"
            "-> extension 201 on the VM sip:pbx@vm1.example.net\n");
}

TEST(Menus, RetriesRepeatAndWhatIsLeftOver) {
  auto s = build_ok(two_menus());
  ASSERT_NE(s, nullptr);
  // Invalid twice with 1 retry: the invalid action. Repeat does not use up a retry.
  MenuPath p = follow_menus(*s, 7, {"5", "9", "7", "8"});
  ASSERT_EQ(p.steps.size(), 4u);
  EXPECT_EQ(p.steps[0].retry, 1);
  EXPECT_EQ(p.steps[1].action->kind, ActionKind::repeat);
  EXPECT_EQ(p.steps[2].retry, 1);
  EXPECT_EQ(p.steps[3].outcome, MenuOutcome::invalid);
  EXPECT_EQ(p.action->kind, ActionKind::hangup);
  EXPECT_NE(explain(p, s->data().customers[0]).find("  entry 8: no such option after 1 retries -> hang up\n"),
            std::string::npos);
  // Keys after a decided entry, and entries after the call left the menus.
  p = follow_menus(*s, 7, {"15", "2"});
  EXPECT_EQ(p.steps[0].ignored, "5");
  EXPECT_EQ(p.unused, 1u);
  EXPECT_EQ(p.action->kind, ActionKind::voicemail);
  const std::string text = explain(p, s->data().customers[0]);
  EXPECT_NE(text.find("entry 15: option 1 (then 5: not used, the entry was decided) -> voicemail"), std::string::npos)
      << text;
  EXPECT_NE(text.find("-> voicemail sip:pbx@vm1.example.net\n(1 more entries not used"), std::string::npos) << text;
  // Entries that run out: still in a menu.
  p = follow_menus(*s, 7, {"2"});
  EXPECT_EQ(p.action, nullptr);
  ASSERT_NE(p.waiting, nullptr);
  EXPECT_EQ(p.waiting->id, 8u);
  EXPECT_NE(explain(p, s->data().customers[0]).find("-> in menu 8 \"sales\", waiting for an entry\n"),
            std::string::npos);
  // Not keys.
  p = follow_menus(*s, 7, {"1", "x"});
  EXPECT_EQ(p.error, "entry \"x\": keys are 0-9, * and #, or \"timeout\"");
  EXPECT_TRUE(p.steps.empty());
  EXPECT_EQ(follow_menus(*s, 7, {""}).error, "entry \"\": keys are 0-9, * and #, or \"timeout\"");
}

}  // namespace
}  // namespace tandem::rules
