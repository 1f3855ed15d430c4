// The saved-rules file: every field of every table comes back as written, and
// a file that is missing, cut short, appended to, damaged or not ours is
// refused whole with a reason.
#include "rules/saved_rules.h"

#include <zlib.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/unit/rules/sample_rules.h"

namespace tandem::rules {
namespace {

using namespace testing;

// Every table with a row whose every field differs from its default.
RulesData full() {
  RulesData d = base();
  d.version = 42;
  d.customers[0].default_action = forward("+4930999");
  Rule r = rule(100, -5, Action{});
  r.action.kind = ActionKind::ring;
  r.action.ring = {RingTarget{"+4930111", 15}, RingTarget{"sip:desk@pbx.example", 30}};
  r.caller_match = CallerMatch::prefix;
  r.caller_pattern = "+4940";
  r.days = weekdays;
  r.window = TimeWindow{hm(22), hm(6)};
  r.dates = {DateRange{Date{2026, 12, 24}, Date{2026, 12, 26}}, DateRange{Date{2027, 1, 1}, Date{2027, 1, 1}}};
  r.description = "night and holidays, \xc3\xa9t\xc3\xa9 \"quoted\"\n";
  d.rules.push_back(r);
  Menu m;
  m.id = 7;
  m.customer_id = kCustomer;
  m.name = "main";
  m.prompt = "/var/lib/tandem/prompts/welcome.wav";
  m.timeout_s = 8;
  m.inter_digit_timeout_s = 4;
  m.retries = 5;
  m.options = {MenuOption{"1", forward("+4930222")}, MenuOption{"#", reject(486)},
               MenuOption{"201", extension("201")}};
  m.timeout_action = menu_action(ActionKind::hangup);
  m.invalid_action = reject(404);
  d.menus.push_back(m);
  d.providers.push_back(Provider{3, "carrier", "sip:gw.carrier.example:5060", 120, false, -2});
  Rate rate;
  rate.id = 9;
  rate.provider_id = 3;
  rate.prefix = "4930";
  rate.cost_micros = 1234567890123;
  rate.increment_s = 6;
  rate.valid_from = utc(2026, 1, 1);
  rate.valid_to = utc(2027, 1, 1, 12, 30);
  d.rates.push_back(rate);
  return d;
}

void expect_same(const RulesData& a, const RulesData& b) {
  EXPECT_EQ(a.version, b.version);
  ASSERT_EQ(a.customers.size(), b.customers.size());
  for (size_t i = 0; i < a.customers.size(); ++i) {
    const Customer &x = a.customers[i], &y = b.customers[i];
    EXPECT_EQ(std::tie(x.id, x.name, x.time_zone, x.vm_sip, x.default_action),
              std::tie(y.id, y.name, y.time_zone, y.vm_sip, y.default_action));
  }
  ASSERT_EQ(a.numbers.size(), b.numbers.size());
  for (size_t i = 0; i < a.numbers.size(); ++i)
    EXPECT_EQ(std::tie(a.numbers[i].id, a.numbers[i].e164, a.numbers[i].customer_id),
              std::tie(b.numbers[i].id, b.numbers[i].e164, b.numbers[i].customer_id));
  ASSERT_EQ(a.rules.size(), b.rules.size());
  for (size_t i = 0; i < a.rules.size(); ++i) {
    const Rule &x = a.rules[i], &y = b.rules[i];
    EXPECT_EQ(std::tie(x.id, x.number_id, x.priority, x.caller_match, x.caller_pattern, x.days, x.action, x.description),
              std::tie(y.id, y.number_id, y.priority, y.caller_match, y.caller_pattern, y.days, y.action, y.description));
    ASSERT_EQ(x.window.has_value(), y.window.has_value());
    if (x.window) {
      EXPECT_EQ(std::tie(x.window->from_s, x.window->to_s), std::tie(y.window->from_s, y.window->to_s));
    }
    ASSERT_EQ(x.dates.size(), y.dates.size());
    for (size_t j = 0; j < x.dates.size(); ++j)
      EXPECT_EQ(std::tie(x.dates[j].from, x.dates[j].to), std::tie(y.dates[j].from, y.dates[j].to));
  }
  ASSERT_EQ(a.menus.size(), b.menus.size());
  for (size_t i = 0; i < a.menus.size(); ++i) {
    const Menu &x = a.menus[i], &y = b.menus[i];
    EXPECT_EQ(std::tie(x.id, x.customer_id, x.name, x.prompt, x.timeout_s, x.timeout_action, x.invalid_action,
                       x.inter_digit_timeout_s, x.retries),
              std::tie(y.id, y.customer_id, y.name, y.prompt, y.timeout_s, y.timeout_action, y.invalid_action,
                       y.inter_digit_timeout_s, y.retries));
    ASSERT_EQ(x.options.size(), y.options.size());
    for (size_t j = 0; j < x.options.size(); ++j)
      EXPECT_EQ(std::tie(x.options[j].digits, x.options[j].action), std::tie(y.options[j].digits, y.options[j].action));
  }
  ASSERT_EQ(a.providers.size(), b.providers.size());
  for (size_t i = 0; i < a.providers.size(); ++i) {
    const Provider &x = a.providers[i], &y = b.providers[i];
    EXPECT_EQ(std::tie(x.id, x.name, x.sip_address, x.max_calls, x.enabled, x.preference),
              std::tie(y.id, y.name, y.sip_address, y.max_calls, y.enabled, y.preference));
  }
  ASSERT_EQ(a.rates.size(), b.rates.size());
  for (size_t i = 0; i < a.rates.size(); ++i) {
    const Rate &x = a.rates[i], &y = b.rates[i];
    EXPECT_EQ(std::tie(x.id, x.provider_id, x.prefix, x.cost_micros, x.increment_s, x.valid_from, x.valid_to),
              std::tie(y.id, y.provider_id, y.prefix, y.cost_micros, y.increment_s, y.valid_from, y.valid_to));
  }
}

// `file` with its crc32= field made right for what it holds.
std::string with_checksum(std::string file) {
  const size_t field = file.find("crc32=");
  const size_t body = file.find('\n') + 1;
  uLong crc = ::crc32(0, reinterpret_cast<const Bytef*>(file.data()), static_cast<uInt>(field));
  crc = ::crc32(crc, reinterpret_cast<const Bytef*>(file.data() + body), static_cast<uInt>(file.size() - body));
  char text[9];
  std::snprintf(text, sizeof text, "%08lx", crc);
  file.replace(field + 6, 8, text);
  return file;
}

class SavedRules : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tandem-saved-rules-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/rules.saved";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string bytes() const {
    std::ifstream f(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  }
  void put(const std::string& content) const { std::ofstream(path_, std::ios::binary | std::ios::trunc) << content; }
  std::string refusal() const {
    RulesData out;
    SavedInfo info;
    std::string error;
    EXPECT_FALSE(read_saved_rules(path_, out, info, error));
    EXPECT_TRUE(out.customers.empty());
    return error;
  }

  std::string dir_, path_;
};

TEST_F(SavedRules, EveryFieldComesBack) {
  const RulesData d = full();
  std::string error;
  ASSERT_TRUE(write_saved_rules(d, path_, error)) << error;
  RulesData back;
  SavedInfo info;
  ASSERT_TRUE(read_saved_rules(path_, back, info, error)) << error;
  expect_same(d, back);
  EXPECT_EQ(info.version, 42u);
  EXPECT_NEAR(static_cast<double>(info.saved_unix_s), static_cast<double>(std::time(nullptr)), 60);
  EXPECT_EQ(info.bytes + bytes().find('\n') + 1, bytes().size());
  build_ok(back);  // and the rules still build
}

TEST_F(SavedRules, NoRulesAtAllIsAFileToo) {
  RulesData empty;
  std::string error;
  ASSERT_TRUE(write_saved_rules(empty, path_, error)) << error;
  RulesData back = base();
  SavedInfo info;
  ASSERT_TRUE(read_saved_rules(path_, back, info, error)) << error;
  EXPECT_TRUE(back.customers.empty());
  EXPECT_TRUE(back.numbers.empty());
}

TEST_F(SavedRules, TheFirstLineSaysWhatItIs) {
  std::string error;
  ASSERT_TRUE(write_saved_rules(full(), path_, error)) << error;
  const std::string all = bytes();
  EXPECT_EQ(all.rfind("tandem-rules-saved 2 version=00000000000000000042 saved=", 0), 0u) << all.substr(0, 120);
}

TEST_F(SavedRules, FormatOneOfTheVersionBeforeMenusIsStillRead) {
  RulesData back;
  SavedInfo info;
  std::string error;
  const std::string old = std::string(std::getenv("SAVED_RULES_DIR")) + "/format1-one-menu.saved";
  ASSERT_TRUE(read_saved_rules(old, back, info, error)) << error;
  EXPECT_EQ(info.version, 7u);
  ASSERT_EQ(back.customers.size(), 1u);
  EXPECT_EQ(back.customers[0].vm_sip, "sip:pbx@198.18.2.2");
  ASSERT_EQ(back.menus.size(), 1u);
  const Menu& m = back.menus[0];
  EXPECT_EQ(m.prompt, "/var/lib/tandem/prompts/main.wav");
  EXPECT_EQ(m.timeout_s, 7);
  ASSERT_EQ(m.options.size(), 2u);
  EXPECT_EQ(m.options[0].digits, "1");
  EXPECT_EQ(m.options[1].digits, "#");
  EXPECT_EQ(m.options[1].action.number, "+4917000001");
  EXPECT_EQ(m.invalid_action.sip_code, 404);
  EXPECT_EQ(m.inter_digit_timeout_s, Menu{}.inter_digit_timeout_s) << "format 1 had none: the default";
  EXPECT_EQ(m.retries, Menu{}.retries);

  // A format this version does not know is refused with what it is.
  std::filesystem::copy_file(old, path_);
  std::string newer = bytes();
  newer[std::string("tandem-rules-saved ").size()] = '9';
  put(newer);
  EXPECT_NE(refusal().find("saved rules of format 9, this version reads 1 to 2"), std::string::npos);
}

TEST_F(SavedRules, AFileThatIsNotWholeOrNotOursIsRefused) {
  std::string error;
  ASSERT_TRUE(write_saved_rules(full(), path_, error)) << error;
  const std::string good = bytes();
  const size_t body = good.find('\n') + 1;

  {
    RulesData out;
    SavedInfo info;
    ASSERT_TRUE(read_saved_rules(path_, out, info, error)) << error;
  }

  std::filesystem::remove(path_);
  EXPECT_NE(refusal().find("No such file"), std::string::npos);
  put("");
  EXPECT_NE(refusal().find("not a file of saved rules"), std::string::npos);
  put("customers;numbers\n1;2\n");
  EXPECT_NE(refusal().find("not a file of saved rules"), std::string::npos);
  put(good.substr(0, good.size() - 1));
  EXPECT_NE(refusal().find("cut short or appended to"), std::string::npos);
  put(good + "x");
  EXPECT_NE(refusal().find("cut short or appended to"), std::string::npos);
  put(good.substr(0, body));
  EXPECT_NE(refusal().find("cut short or appended to"), std::string::npos);

  std::string flipped = good;
  flipped[body + (good.size() - body) / 2] ^= 0x20;
  put(flipped);
  EXPECT_NE(refusal().find("checksum differs"), std::string::npos);

  std::string header = good;
  header[good.find("version=") + 8] = '1';  // the header's fields are checksummed too
  put(header);
  EXPECT_NE(refusal().find("checksum differs"), std::string::npos);
  header = good;
  header[good.find("bytes=") + 6] = 'x';
  put(header);
  EXPECT_NE(refusal().find("not a file of saved rules"), std::string::npos);
}

TEST_F(SavedRules, TablesThatDoNotReadBackAreRefusedEvenWithTheRightChecksum) {
  // A count of 2^62 customers, then nothing: what a bug or a hand edit could leave.
  std::string body(8, '\0');
  body[7] = 0x40;
  put(with_checksum("tandem-rules-saved 2 version=00000000000000000001 saved=00000000000000000000 "
                    "bytes=00000000000000000008 crc32=00000000\n" + body));
  EXPECT_NE(refusal().find("do not read back"), std::string::npos);
  // A bool that is neither 0 nor 1 (a provider's `enabled`), everything else in place.
  RulesData d;
  d.providers.push_back(Provider{3, "p", "sip:p", 0, true, 0});
  std::string error;
  ASSERT_TRUE(write_saved_rules(d, path_, error)) << error;
  std::string all = bytes();
  const size_t enabled = all.size() - 8 - 4 - 1;  // then its preference (4) and the count of rates (8)
  ASSERT_EQ(all[enabled], '\x01');
  all[enabled] = '\x02';
  put(with_checksum(all));
  EXPECT_NE(refusal().find("do not read back"), std::string::npos);
}

}  // namespace
}  // namespace tandem::rules
