// rules/ against a real MariaDB started here (the cdr tests' fixture,
// tests/support/mariadb_fixture.h): migrations and the
// config_version triggers, ids from two DCs, every column type loaded and
// routed, bad rows and invalid data keeping the old snapshot, reload after a
// direct SQL edit, readers routing through continuous reloads, the first
// reload after a restart, the DB down at start and mid-run. Exits 77 when MariaDB cannot run on this machine.
#include <gtest/gtest.h>

#include <cppconn/connection.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <set>
#include <thread>
#include <vector>

#include "db/connection.h"
#include "rules/reloader.h"
#include "rules/snapshot.h"
#include "rules/store.h"
#include "rules/schema.h"
#include "tests/integration/rules/rules_db_support.h"
#include "tests/support/mariadb_fixture.h"
#include "tests/unit/rules/prompt_files.h"
#include "tests/unit/rules/sample_rules.h"

namespace tandem::rules {
namespace {

using namespace std::chrono_literals;
using namespace testing;
std::string g_prompt;  // a good prompt file, for the seed's menu

// A customer with one DID and a few rules, a menu, two providers and rates,
// written the way an operator would in SQL (national forms, TIME, SET...).
void seed(sql::Connection& c) {
  exec(c, "INSERT INTO customers (id, name, time_zone, vm_sip, default_action, default_target) "
          "VALUES (1, 'Acme', 'Europe/Berlin', 'sip:pbx@vm1.example.net', 'voicemail', '')");
  exec(c, "INSERT INTO numbers (id, e164, customer_id) VALUES (10, '030 1234567', 1)");
  exec(c, "INSERT INTO menus (id, customer_id, name, prompt, timeout_s, timeout_action, "
          "timeout_target, invalid_action, invalid_target) "
          "VALUES (7, 1, 'main', '" + g_prompt + "', 8, 'voicemail', '', 'reject', '404')");
  exec(c, "INSERT INTO menu_options (menu_id, digits, action, target) VALUES "
          "(7, '1', 'forward', '0170 1111111'), (7, '#', 'ring', '+4930222222/15,sip:ops@pbx/10')");
  exec(c, "INSERT INTO rules (id, number_id, priority, caller_match, caller_pattern, days, "
          "time_from, time_to, action, target, description) VALUES "
          "(100, 10, 1, 'any', '', 'mon,tue,wed,thu,fri,sat,sun', NULL, NULL, 'voicemail', '', 'holidays'),"
          "(101, 10, 5, 'anonymous', '', 'mon,tue,wed,thu,fri,sat,sun', NULL, NULL, 'reject', '433', ''),"
          "(102, 10, 10, 'prefix', '0170', 'mon,tue,wed,thu,fri', '08:00:00', '18:00:00', 'menu', '7', ''),"
          "(103, 10, 20, 'any', '', 'fri', '22:00:00', '06:00:00', 'forward', '+4917099999', 'night')");
  exec(c, "INSERT INTO rule_dates (rule_id, date_from, date_to) VALUES (100, '2026-12-24', '2026-12-26')");
  exec(c, "INSERT INTO providers (id, name, sip_address, max_calls, enabled, preference) VALUES "
          "(1, 'alpha', 'sip:gw.alpha.example', 100, TRUE, 1), "
          "(2, 'beta', 'sip:gw.beta.example', 0, TRUE, 2), "
          "(3, 'gamma', 'sip:gw.gamma.example', 0, FALSE, 0)");
  exec(c, "INSERT INTO rates (provider_id, prefix, cost_per_min, billing_increment_s, valid_from, "
          "valid_to) VALUES "
          "(1, '49', 0.012345, 60, NULL, NULL), "
          "(1, '4917', 0.100000, 1, NULL, '2026-06-01 00:00:00'), "
          "(1, '4917', 0.040000, 1, '2026-06-01 00:00:00', NULL), "
          "(2, '49', 0.050000, 30, NULL, NULL), "
          "(3, '49', 0.000100, 60, NULL, NULL)");
}

std::shared_ptr<const Snapshot> load(Store& store) {
  RulesData d;
  std::string e;
  EXPECT_TRUE(store.load(d, e)) << e;
  std::vector<std::string> errors;
  auto s = Snapshot::build(std::move(d), {}, errors);
  std::string all;
  for (const auto& x : errors) all += x + "\n";
  EXPECT_NE(s, nullptr) << all;
  return s;
}

TEST(RulesDb, MigrationsAreIdempotentAndEveryTableBumpsTheVersion) {
  const std::string db = fresh_database("rules_migrate");
  Store store(config(db));
  db::MigrateResult m;
  std::string e;
  ASSERT_TRUE(store.migrate(m, e)) << e;
  EXPECT_EQ(m.from, schema().latest_version());
  EXPECT_EQ(m.to, schema().latest_version());
  int version = 0;
  ASSERT_TRUE(store.schema_version(version, e)) << e;
  EXPECT_EQ(version, schema().latest_version());
  uint64_t v0 = 99;
  ASSERT_TRUE(store.config_version(v0, e)) << e;
  EXPECT_EQ(v0, 0u);

  auto c = connect(db);
  seed(*c);
  uint64_t v1 = 0;
  ASSERT_TRUE(store.config_version(v1, e)) << e;
  EXPECT_GE(v1, 17u);  // one per row inserted
  const std::vector<std::string> edits = {
      "UPDATE customers SET name = 'Acme GmbH' WHERE id = 1",
      "UPDATE numbers SET e164 = '+49301234567' WHERE id = 10",
      "UPDATE rules SET priority = 2 WHERE id = 100",
      "UPDATE rule_dates SET date_to = '2026-12-27'",
      "UPDATE menus SET timeout_s = 9",
      "DELETE FROM menu_options WHERE digits = '#'",
      "UPDATE providers SET preference = 5 WHERE id = 3",
      "DELETE FROM rates WHERE provider_id = 3",
  };
  uint64_t last = v1;
  for (const auto& s : edits) {
    exec(*c, s);
    uint64_t v = 0;
    ASSERT_TRUE(store.config_version(v, e)) << e;
    EXPECT_GT(v, last) << s;
    last = v;
  }
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM config_version"), 1u);
}

// Each DC's server has auto_increment_increment = 2 and its own offset: rows
// inserted on both sides never collide (here: two sessions standing in for
// the two servers).
TEST(RulesDb, IdsFromTwoDcsDoNotCollide) {
  const std::string db = fresh_database("rules_ids");
  auto dc1 = connect(db);
  auto dc2 = connect(db);
  exec(*dc1, "SET SESSION auto_increment_increment = 2, auto_increment_offset = 1");
  exec(*dc2, "SET SESSION auto_increment_increment = 2, auto_increment_offset = 2");
  for (int i = 0; i < 10; ++i) {
    for (auto* c : {dc1.get(), dc2.get()}) {
      exec(*c, "INSERT INTO providers (name, sip_address) VALUES ('p" + std::to_string(i) + "_" +
                   std::to_string(c == dc1.get() ? 1 : 2) + "', 'sip:gw.example')");
    }
  }
  EXPECT_EQ(scalar(*dc1, "SELECT COUNT(*) FROM providers WHERE id % 2 = 1 AND name LIKE '%\\_1'"), 10u);
  EXPECT_EQ(scalar(*dc1, "SELECT COUNT(*) FROM providers WHERE id % 2 = 0 AND name LIKE '%\\_2'"), 10u);
  Store store(config(db));
  uint32_t inc = 0, off = 0;
  std::string e;
  ASSERT_TRUE(store.id_spacing(inc, off, e)) << e;
  EXPECT_GE(inc, 1u);  // this test server runs with the single-server defaults
}

TEST(RulesDb, EveryColumnLoadsAndRoutes) {
  const std::string db = fresh_database("rules_load");
  auto c = connect(db);
  seed(*c);
  Store store(config(db));
  auto s = load(store);
  ASSERT_NE(s, nullptr);
  using testing::utc;
  const char* did = "+49301234567";
  // Tuesday 2026-01-13 09:00 CET, a mobile caller: the menu rule (prefix 0170, office hours).
  InboundDecision x = s->route_inbound(did, "+491701234567", utc(2026, 1, 13, 8));
  ASSERT_EQ(x.status, InboundStatus::routed) << x.error;
  ASSERT_NE(x.rule, nullptr);
  EXPECT_EQ(x.rule->id, 102u);
  EXPECT_EQ(x.skipped.size(), 2u);  // holidays: dates; anonymous: caller
  const Menu* m = s->menu(x.action->menu_id);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->timeout_s, 8);
  EXPECT_EQ(m->invalid_action.sip_code, 404);
  ASSERT_EQ(m->options.size(), 2u);
  EXPECT_EQ(m->options[0].digits, "#");
  EXPECT_EQ(m->options[0].action.ring.size(), 2u);
  EXPECT_EQ(m->options[1].action.number, "+491701111111");
  // Anonymous: 433. Holidays: voicemail. Friday night (local Sat 01:00): forward.
  EXPECT_EQ(s->route_inbound(did, "", utc(2026, 1, 13, 8)).action->sip_code, 433);
  EXPECT_EQ(s->route_inbound(did, "", utc(2026, 12, 25, 8)).rule->id, 100u);
  x = s->route_inbound(did, "+4940111111", utc(2026, 1, 17, 0));
  ASSERT_NE(x.rule, nullptr);
  EXPECT_EQ(x.rule->id, 103u);
  EXPECT_EQ(x.action->number, "+4917099999");
  // Nothing matches on Saturday noon: the default, voicemail.
  x = s->route_inbound(did, "+4940111111", utc(2026, 1, 17, 11));
  EXPECT_EQ(x.rule, nullptr);
  EXPECT_EQ(x.action->kind, ActionKind::voicemail);

  OutboundDecision o = s->route_outbound("0170 5555555", utc(2026, 3, 1));
  ASSERT_TRUE(o.ok) << o.error;
  ASSERT_EQ(o.providers.size(), 2u);
  EXPECT_EQ(o.providers[0].provider->name, "beta");
  EXPECT_EQ(o.providers[0].rate->increment_s, 30u);
  EXPECT_EQ(o.providers[1].rate->cost_micros, 100'000);
  ASSERT_EQ(o.skipped.size(), 1u);
  EXPECT_EQ(o.skipped[0].provider->name, "gamma");
  o = s->route_outbound("0170 5555555", utc(2026, 6, 1));
  EXPECT_EQ(o.providers[0].provider->name, "alpha");
  EXPECT_EQ(o.providers[0].rate->cost_micros, 40'000);
  o = s->route_outbound("+4930555555", utc(2026, 6, 1));
  EXPECT_EQ(o.providers[0].rate->cost_micros, 12'345);
}

TEST(RulesDb, BadRowsAndInvalidDataKeepTheOldSnapshot) {
  const std::string db = fresh_database("rules_bad");
  auto c = connect(db);
  seed(*c);
  Store store(config(db));
  StoreSource source(store);
  Reloader reloader(source, {}, 1h);
  std::string e;
  ASSERT_TRUE(reloader.reload(false, e)) << e;
  const auto good = reloader.current();

  exec(*c, "UPDATE rules SET target = 'busy' WHERE id = 101");
  EXPECT_FALSE(reloader.reload(false, e));
  EXPECT_NE(e.find("rules id 101 column target: reject"), std::string::npos) << e;
  EXPECT_EQ(reloader.current(), good);

  exec(*c, "UPDATE rules SET target = '486' WHERE id = 101");
  exec(*c, "UPDATE customers SET time_zone = 'Europe/Nowhere'");
  EXPECT_FALSE(reloader.reload(false, e));
  EXPECT_NE(e.find("Europe/Nowhere"), std::string::npos) << e;
  EXPECT_EQ(reloader.current(), good);
  EXPECT_EQ(reloader.stats().failed_loads, 2u);

  exec(*c, "UPDATE customers SET time_zone = 'Europe/Paris'");
  ASSERT_TRUE(reloader.reload(false, e)) << e;
  EXPECT_NE(reloader.current(), good);
  EXPECT_EQ(reloader.current()->customer(1)->time_zone, "Europe/Paris");
}

TEST(RulesDb, SqlEditIsPickedUpByThePoller) {
  const std::string db = fresh_database("rules_edit");
  auto c = connect(db);
  seed(*c);
  Store store(config(db));
  StoreSource source(store);
  Reloader reloader(source, {}, 50ms);
  std::string e;
  ASSERT_TRUE(reloader.reload(false, e)) << e;
  reloader.start();
  const auto t = testing::utc(2026, 1, 17, 11);  // Saturday noon: the default action
  EXPECT_EQ(reloader.current()->route_inbound("+49301234567", "+4940111111", t).action->kind,
            ActionKind::voicemail);
  exec(*c, "UPDATE customers SET default_action = 'reject', default_target = '480'");
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until &&
         reloader.current()->route_inbound("+49301234567", "+4940111111", t).action->kind !=
             ActionKind::reject) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(reloader.current()->route_inbound("+49301234567", "+4940111111", t).action->sip_code,
            480);
  reloader.stop();
}

TEST(RulesDb, ReadersRouteWithoutAFailureThroughContinuousReloads) {
  const std::string db = fresh_database("rules_readers");
  auto c = connect(db);
  seed(*c);
  Store store(config(db));
  StoreSource source(store);
  Reloader reloader(source, {}, 5ms);
  std::string e;
  ASSERT_TRUE(reloader.reload(false, e)) << e;
  reloader.start();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> lookups{0}, failures{0};
  std::set<uint64_t> versions_seen;
  std::mutex versions_mutex;
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      const auto t = testing::utc(2026, 1, 13, 8);
      while (!stop.load()) {
        const auto s = reloader.current();
        const InboundDecision in = s->route_inbound("+49301234567", "+491701234567", t);
        const OutboundDecision out = s->route_outbound("+4917055555", t);
        if (in.status != InboundStatus::routed || !in.action || !out.ok || out.providers.empty()) {
          failures.fetch_add(1);
        }
        lookups.fetch_add(1);
        std::lock_guard l(versions_mutex);
        versions_seen.insert(s->version());
      }
    });
  }
  // 40 edits: new rules on the DID, and rate changes, while the readers route.
  for (int i = 0; i < 40; ++i) {
    exec(*c, "INSERT INTO rules (number_id, priority, caller_match, caller_pattern, action, target) "
             "VALUES (10, " + std::to_string(1000 + i) + ", 'exact', '+4940" + std::to_string(100000 + i) +
                 "', 'reject', '486')");
    exec(*c, "UPDATE rates SET cost_per_min = cost_per_min + 0.000001 WHERE provider_id = 2");
    std::this_thread::sleep_for(15ms);
  }
  uint64_t final_version = 0;
  Store other(config(db));
  EXPECT_TRUE(other.config_version(final_version, e)) << e;
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until && reloader.current()->version() != final_version) {
    std::this_thread::sleep_for(10ms);
  }
  stop = true;
  for (auto& t : readers) t.join();
  reloader.stop();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(reloader.current()->version(), final_version);
  EXPECT_EQ(reloader.current()->data().rules.size(), 44u);
  EXPECT_EQ(reloader.stats().failed_loads, 0u);
  std::printf("readers: %llu lookups over %zu snapshot versions, %llu loads\n",
              static_cast<unsigned long long>(lookups.load()), versions_seen.size(),
              static_cast<unsigned long long>(reloader.stats().loads));
  EXPECT_GT(versions_seen.size(), 5u);
}

TEST(RulesDb, UnreachableAtStartGivesAClearError) {
  DbConfig cfg = config("rules_none");
  const uint16_t port = tandem::testing::free_port();  // nothing listens there
  cfg.addresses = {"127.0.0.1:" + std::to_string(port)};
  Store store(cfg);
  StoreSource source(store);
  Reloader reloader(source, {}, 1h);
  std::string e;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(reloader.reload(false, e));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_NE(e.find("Rules DB unreachable: 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << e;
  EXPECT_EQ(reloader.current(), nullptr);
  EXPECT_EQ(reloader.stats().failed_loads, 1u);
}

TEST(RulesDb, CsvImportIsAllOrNothingAndNamesLineAndColumn) {
  const std::string db = fresh_database("rules_import");
  Store store(config(db));
  auto c = connect(db);
  size_t rows = 0;
  std::string e;
  ASSERT_TRUE(store.import_csv("customers",
                               "name,time_zone,vm_sip,default_action,default_target\n"
                               "Acme,Europe/Berlin,sip:pbx@vm1.example.net,voicemail,\n"
                               "\"Bits, Bytes & Co\",America/New_York,sip:pbx@vm2.example.net,reject,486\n",
                               rows, e))
      << e;
  EXPECT_EQ(rows, 2u);
  ASSERT_TRUE(store.import_csv("numbers", "e164,customer\n030 1234567,Acme\n+1 212 555 0100,\"Bits, Bytes & Co\"\n",
                               rows, e))
      << e;
  ASSERT_TRUE(store.import_csv("rules",
                               "number,priority,caller_match,caller_pattern,days,time_from,time_to,"
                               "action,target,description,dates\n"
                               "+49301234567,1,any,,,,,voicemail,,holidays,2026-12-24..2026-12-26;2026-12-31..2027-01-01\n"
                               "030 1234567,10,prefix,0170,\"mon,tue,wed,thu,fri\",08:00:00,18:00:00,"
                               "ring,\"+4930111111/20,sip:ops@pbx/10\",\"office, ring\",\n",
                               rows, e))
      << e;
  EXPECT_EQ(rows, 2u);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM rule_dates"), 2u);
  const uint64_t version = [&] {
    uint64_t v = 0;
    EXPECT_TRUE(store.config_version(v, e));
    return v;
  }();

  // A bad field: line and column, and nothing of the file applied.
  EXPECT_FALSE(store.import_csv("rules",
                                "number,priority,days,action,target\n"
                                "+49301234567,20,mon,reject,486\n"
                                "+49301234567,21,tue,reject,486\n"
                                "+49301234567,22,funday,reject,486\n",
                                rows, e));
  EXPECT_EQ(e, "line 4, column days: \"funday\" is not a list of mon..sun (nothing imported)");
  EXPECT_FALSE(store.import_csv("rules", "number,action,target\n+49301234567,reject,busy\n", rows, e));
  EXPECT_NE(e.find("line 2, column target: reject: target \"busy\""), std::string::npos) << e;
  EXPECT_FALSE(store.import_csv("rules", "number,action\n+49309999999,voicemail\n", rows, e));
  EXPECT_NE(e.find("line 2, column number: no numbers e164 \"+49309999999\""), std::string::npos) << e;
  EXPECT_FALSE(store.import_csv("rules", "number,action,colour\n", rows, e));
  EXPECT_NE(e.find("line 1, column 3: rules has no column \"colour\""), std::string::npos) << e;
  EXPECT_FALSE(store.import_csv("rules", "number,action\n+49301234567\n", rows, e));
  EXPECT_NE(e.find("line 2: 1 fields, the header has 2"), std::string::npos) << e;
  // The DB refuses a row (a duplicate number): its line.
  EXPECT_FALSE(store.import_csv("numbers", "e164,customer\n+4930777777,Acme\n\n+49 30 1234567,Acme\n",
                                rows, e));
  EXPECT_NE(e.find("line 4: Duplicate entry '+49301234567'"), std::string::npos) << e;
  // Every row fine, but the result would not validate.
  EXPECT_FALSE(store.import_csv("customers", "name,time_zone,vm_sip\nMars,Mars/Base,sip:pbx@mars\n",
                                rows, e));
  EXPECT_NE(e.find("would not validate:\n  customer"), std::string::npos) << e;
  EXPECT_NE(e.find("Mars/Base"), std::string::npos) << e;

  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM rules"), 2u);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM numbers"), 2u);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM customers"), 2u);
  uint64_t after = 0;
  ASSERT_TRUE(store.config_version(after, e));
  EXPECT_EQ(after, version) << "a rolled-back import must not bump the version";

  auto s = load(store);
  ASSERT_NE(s, nullptr);
  const InboundDecision x =
      s->route_inbound("+49301234567", "+491701234567", testing::utc(2026, 1, 13, 9));
  ASSERT_NE(x.rule, nullptr);
  EXPECT_EQ(x.rule->description, "office, ring");
  EXPECT_EQ(x.action->ring.size(), 2u);
  EXPECT_EQ(s->route_inbound("+49301234567", "", testing::utc(2027, 1, 1, 9)).rule->description,
            "holidays");
}

// Bulk imports go in batches of 500 rows: rules with dates get the dates of
// their own row whether ids come from AUTO_INCREMENT (here with the DC
// setting auto_increment_increment = 2) or from the file; an error far into
// the file (a reference, a duplicate the DB refuses) still names its line.
TEST(RulesDb, BulkImportInBatches) {
  const std::string db = fresh_database("rules_bulk");
  auto c = connect(db);
  exec(*c, "SET GLOBAL auto_increment_increment = 2, GLOBAL auto_increment_offset = 2");
  struct Reset {
    sql::Connection& c;
    ~Reset() { exec(c, "SET GLOBAL auto_increment_increment = 1, GLOBAL auto_increment_offset = 1"); }
  } reset{*c};
  Store store(config(db));
  size_t rows = 0;
  std::string e;
  ASSERT_TRUE(store.import_csv("customers", "name,time_zone,vm_sip\nAcme,Europe/Berlin,sip:pbx@vm1.example.net\n",
                               rows, e))
      << e;
  std::string numbers = "e164,customer\n";
  for (int i = 0; i < 1300; ++i) numbers += "030 5" + std::to_string(100000 + i) + ",Acme\n";
  ASSERT_TRUE(store.import_csv("numbers", numbers, rows, e)) << e;
  EXPECT_EQ(rows, 1300u);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM numbers WHERE id % 2 = 0"), 1300u);

  // 1,300 rules, every other one with a window, every third one with dates:
  // the k-th rule's description is k and its date 2026-01-01 + (k mod 365).
  auto day = [](int k) {
    const std::chrono::year_month_day d{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1} + std::chrono::days{k % 365}};
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                  static_cast<unsigned>(d.day()));
    return std::string(buf);
  };
  auto rules_csv = [&](bool ids, int first_id) {
    std::string csv = std::string(ids ? "id," : "") + "number,priority,time_from,time_to,action,target,description,dates\n";
    for (int k = 0; k < 1300; ++k) {
      if (ids) csv += std::to_string(first_id + 2 * k) + ",";
      csv += "+49305" + std::to_string(100000 + k) + "," + std::to_string(10 + k % 7) + "," +
             (k % 2 ? "08:00:00,18:00:00" : ",") + ",reject,486," + std::to_string(k) + "," +
             (k % 3 == 0 ? day(k) + ".." + day(k) : "") + "\n";
    }
    return csv;
  };
  ASSERT_TRUE(store.import_csv("rules", rules_csv(false, 0), rows, e)) << e;
  EXPECT_EQ(rows, 1300u);
  ASSERT_TRUE(store.import_csv("rules", rules_csv(true, 100001), rows, e)) << e;
  EXPECT_EQ(rows, 1300u);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM rule_dates"), 2u * 434);
  // Every date on its own rule.
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM rule_dates d JOIN rules r ON r.id = d.rule_id "
                       "WHERE d.date_from = DATE_ADD('2026-01-01', INTERVAL CAST(r.description AS UNSIGNED) % 365 DAY) "
                       "AND d.date_to = d.date_from AND CAST(r.description AS UNSIGNED) % 3 = 0"),
            2u * 434);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM rules WHERE time_from IS NOT NULL"), 1300u);
  auto s = load(store);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->data().rules.size(), 2600u);

  // Far into the file: an unknown number at line 1203, a duplicate id at line 1104.
  std::string bad = rules_csv(false, 0);
  const size_t at = [&] {
    size_t pos = 0;
    for (int line = 1; line < 1203; ++line) pos = bad.find('\n', pos) + 1;
    return pos;
  }();
  bad.replace(at, 12, "+49309999999");
  EXPECT_FALSE(store.import_csv("rules", bad, rows, e));
  EXPECT_EQ(e.substr(0, 58), "line 1203, column number: no numbers e164 \"+49309999999\" (") << e;
  std::string dup = rules_csv(true, 200001);
  const size_t line1104 = [&] {
    size_t pos = 0;
    for (int line = 1; line < 1104; ++line) pos = dup.find('\n', pos) + 1;
    return pos;
  }();
  dup.replace(line1104, 6, "100001");  // an id the second import used
  EXPECT_FALSE(store.import_csv("rules", dup, rows, e));
  EXPECT_NE(e.find("line 1104: Duplicate entry '100001'"), std::string::npos) << e;
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM rules"), 2600u);
}

TEST(RulesDb, ExportImportRoundTripAndDelete) {
  const std::string from = fresh_database("rules_export_a");
  {
    auto c = connect(from);
    seed(*c);
    // Import stores numbers normalised; export gives what is stored.
    exec(*c, "UPDATE numbers SET e164 = '+49301234567'");
    exec(*c, "UPDATE menu_options SET target = '+491701111111' WHERE digits = '1'");
    exec(*c, "UPDATE rules SET caller_pattern = '+49170' WHERE id = 102");
  }
  const std::string to = fresh_database("rules_export_b");
  Store a(config(from)), b(config(to));
  std::string e;
  for (const auto& table : {"customers", "numbers", "menus", "menu_options", "rules", "rule_dates",
                            "providers", "rates"}) {
    std::string csv, again;
    ASSERT_TRUE(a.export_csv(table, csv, e)) << e;
    size_t rows = 0;
    ASSERT_TRUE(b.import_csv(table, csv, rows, e)) << table << ": " << e << "\n" << csv;
    ASSERT_TRUE(b.export_csv(table, again, e)) << e;
    EXPECT_EQ(again, csv) << table;
  }
  bool found = false;
  ASSERT_TRUE(b.remove("numbers", 10, found, e)) << e;
  EXPECT_TRUE(found);
  auto c = connect(to);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM rules"), 0u);  // cascaded
  ASSERT_TRUE(b.remove("numbers", 10, found, e)) << e;
  EXPECT_FALSE(found);
  EXPECT_FALSE(b.remove("nope", 1, found, e));
}

TEST(RulesDb, TandemctlRulesAndRoute) {
  const char* bin = std::getenv("TANDEMCTL");
  if (!bin || ::access(bin, X_OK) != 0) GTEST_SKIP() << "TANDEMCTL not set or not built";
  if (tandemctl("rules --help").status != 0) GTEST_SKIP() << "this tandemctl has no rules commands";
  const std::string db = "rules_ctl";
  {
    auto c = connect("");
    exec(*c, "DROP DATABASE IF EXISTS " + db);
  }
  const std::string o = "--db " + g_db->address() + " --db-user root --db-name " + db;
  CtlRun r = tandemctl("rules " + o + " migrate");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "schema version 0 -> " + std::to_string(schema().latest_version()) + "\n");
  char dir[] = "/tmp/tandem-rules-ctl-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  struct RemoveDir {
    const char* path;
    ~RemoveDir() { std::filesystem::remove_all(path); }
  } remove_dir{dir};
  const std::string csv = std::string(dir) + "/rules.csv";
  {
    std::ofstream f(csv);
    f << "number,priority,caller_match,days,time_from,time_to,action,target,description\n"
         "+49301234567,10,any,\"mon,tue,wed,thu,fri\",08:00:00,18:00:00,forward,0170 1234567,office\n"
         "+49301234567,20,any,sun,,,reject,4860,sunday\n";
  }
  EXPECT_EQ(tandemctl("rules " + o + " add customers name=Acme time_zone=Europe/Berlin "
                                     "vm_sip=sip:pbx@vm1.example.net").status, 0);
  EXPECT_EQ(tandemctl("rules " + o + " add numbers e164='030 1234567' customer=Acme").status, 0);
  r = tandemctl("rules " + o + " import rules " + csv);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("line 3, column target: reject: target \"4860\""), std::string::npos) << r.out;
  std::string fixed;
  {
    std::ifstream f(csv);
    std::stringstream ss;
    ss << f.rdbuf();
    fixed = ss.str();
    fixed.replace(fixed.find("4860"), 4, "486");
  }
  std::ofstream(csv) << fixed;
  r = tandemctl("rules " + o + " import rules " + csv);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "2 rows imported into rules\n");
  r = tandemctl("route " + o + " 030-1234567 --from '' --at '2026-01-18 12:00'");
  EXPECT_EQ(r.status, 0) << r.out;
  // (Ids: the rolled-back import used some: InnoDB does not give AUTO_INCREMENT values back.)
  EXPECT_NE(r.out.find("(priority 10, \"office\") [mon,tue,wed,thu,fri, 08:00-18:00]: not on "
                       "mon,tue,wed,thu,fri\n  yes: rule "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("(priority 20, \"sunday\") [sun]\n-> reject 486\n"), std::string::npos) << r.out;
  r = tandemctl("--json route " + o + " +49301234567 --from 01701234567 --at 2026-01-19T08:00:00Z");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\"number\": \"+491701234567\""), std::string::npos) << r.out;
  r = tandemctl("route " + o + " +49309999999 --from ''");
  EXPECT_EQ(r.status, 1) << r.out;
  r = tandemctl("route " + o + " +49309999999 --at yesterday");
  EXPECT_EQ(r.status, 2) << r.out;
  r = tandemctl("--json rules " + o + " list numbers");
  EXPECT_NE(r.out.find("\"e164\": \"+49301234567\""), std::string::npos) << r.out;
  r = tandemctl("rules --db 127.0.0.1:" + std::to_string(tandem::testing::free_port()) + " status");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("Rules DB unreachable"), std::string::npos) << r.out;
}

// Issue 12: after a restart of the server every connection the Store kept is
// dead. The first reload (forced, as `tandemctl rules reload` asks, or the
// poller's) works on new ones instead of failing with 2006 "server has gone
// away", and a failure that is over is no longer shown. Near the end: it
// restarts the shared server.
TEST(RulesDb, FirstReloadAfterARestartWorks) {
  const std::string db = fresh_database("rules_restart");
  {
    auto c = connect(db);
    seed(*c);
  }
  Store store(config(db));  // load_connections 3: its connection and two readers
  StoreSource source(store);
  Reloader reloader(source, {}, 1h);  // polled here, by hand
  std::string e;
  ASSERT_TRUE(reloader.reload(false, e)) << e;

  // A clean restart, then the operator's reload: a load on lost connections.
  g_db->stop(false);
  ASSERT_TRUE(g_db->start(e)) << e;
  EXPECT_TRUE(reloader.reload(true, e)) << e;
  EXPECT_TRUE(reloader.stats().last_error.empty()) << reloader.stats().last_error;
  EXPECT_EQ(reloader.stats().failed_loads, 0u);
  EXPECT_EQ(reloader.stats().loads, 2u);

  // A crash, then the poller: config_version on a lost connection.
  g_db->stop(true);
  ASSERT_TRUE(g_db->start(e)) << e;
  EXPECT_TRUE(reloader.reload(false, e)) << e;
  EXPECT_EQ(reloader.stats().failed_polls, 0u);

  // Polled while the server is down: a failure that says why. The first poll
  // once it is back finds the snapshot current: the failure is over.
  g_db->stop(false);
  EXPECT_FALSE(reloader.reload(false, e));
  EXPECT_NE(reloader.stats().last_error.find("Rules DB unreachable"), std::string::npos)
      << reloader.stats().last_error;
  ASSERT_TRUE(g_db->start(e)) << e;
  EXPECT_TRUE(reloader.reload(false, e)) << e;
  EXPECT_TRUE(reloader.stats().last_error.empty()) << reloader.stats().last_error;
  EXPECT_EQ(reloader.stats().failed_polls, 1u);

  // The load's readers, idle since the last load, are lost (KILL here; the
  // server's wait_timeout does the same) while the polled connection lives
  // on: the next change is loaded on new readers.
  auto c = connect(db);
  exec(*c, "UPDATE rules SET target = '486' WHERE id = 101");
  ASSERT_TRUE(reloader.reload(false, e)) << e;
  EXPECT_EQ(reloader.stats().loads, 3u);
  {
    std::unique_ptr<sql::Statement> st(c->createStatement());
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '" + db +
        "' AND ID <> CONNECTION_ID() ORDER BY ID"));
    std::vector<uint64_t> ids;
    while (rs->next()) ids.push_back(rs->getUInt64(1));
    ASSERT_EQ(ids.size(), 3u);  // the polled connection (the first) and the readers
    for (size_t i = 1; i < ids.size(); ++i) exec(*c, "KILL CONNECTION " + std::to_string(ids[i]));
  }
  exec(*c, "UPDATE rules SET target = '403' WHERE id = 101");
  EXPECT_TRUE(reloader.reload(false, e)) << e;
  EXPECT_EQ(reloader.stats().failed_loads, 0u);
  EXPECT_EQ(reloader.current()->route_inbound("+49301234567", "", testing::utc(2026, 1, 13, 8))
                .action->sip_code,
            403);
}

// Last: it stops and restarts the shared server.
TEST(RulesDb, DbDownAtStartThenUpAndDownMidRun) {
  const std::string db = fresh_database("rules_outage");
  {
    auto c = connect(db);
    seed(*c);
  }
  g_db->stop(false);
  Store store(config(db));
  StoreSource source(store);
  Reloader reloader(source, {}, 50ms);
  std::string e;
  EXPECT_FALSE(reloader.reload(false, e));
  EXPECT_NE(e.find("Rules DB unreachable"), std::string::npos) << e;
  reloader.start();  // retries every 50 ms
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(reloader.current(), nullptr);
  ASSERT_TRUE(g_db->start(e)) << e;
  auto until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until && !reloader.current()) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(reloader.current(), nullptr) << reloader.stats().last_error;
  const auto before = reloader.current();

  // Down mid-run: the last snapshot keeps serving, failures are counted.
  g_db->stop(true);
  const uint64_t polls_failed = reloader.stats().failed_polls;
  until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until && reloader.stats().failed_polls < polls_failed + 3) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(reloader.stats().failed_polls, polls_failed + 3);
  EXPECT_EQ(reloader.current(), before);
  EXPECT_EQ(reloader.current()->route_inbound("+49301234567", "", testing::utc(2026, 1, 13, 8))
                .action->sip_code,
            433);

  // Back: an edit made meanwhile is picked up.
  ASSERT_TRUE(g_db->start(e)) << e;
  {
    auto c = connect(db);
    exec(*c, "UPDATE rules SET target = '403' WHERE id = 101");
  }
  until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until && reloader.current() == before) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(reloader.current()->route_inbound("+49301234567", "", testing::utc(2026, 1, 13, 8))
                .action->sip_code,
            403);
  reloader.stop();
}

}  // namespace
}  // namespace tandem::rules

int main(int argc, char** argv) {
  const tandem::rules::testing::PromptDir prompts;
  tandem::rules::g_prompt = prompts.write("welcome.wav", tandem::rules::testing::Wav{}.bytes());
  return tandem::rules::testing::run_with_mariadb(argc, argv);
}
