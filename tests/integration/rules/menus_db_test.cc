// Menus in a real Rules DB (issue 15's first slice): migration 3 on a DB that
// has menus, ids from two DCs, Store::save_menu and load_menu, the prompt
// checked on every way in, a menu edit picked up by the reloader and carried
// by the saved rules, and `tandemctl rules menus` and `route --digits`.
// Exits 77 when MariaDB cannot run on this machine.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "rules/reloader.h"
#include "rules/saved_rules.h"
#include "rules/snapshot.h"
#include "rules/store.h"
#include "tests/integration/rules/rules_db_support.h"
#include "tests/unit/rules/prompt_files.h"

namespace tandem::rules {
namespace {

using namespace std::chrono_literals;
using namespace testing;

const PromptDir* g_prompts = nullptr;

std::string good_prompt() { return g_prompts->write("main.wav", Wav{.format = 7, .bits = 8}.bytes()); }
std::string stereo_prompt() { return g_prompts->write("stereo.wav", Wav{.channels = 2}.bytes()); }

// A customer with a DID, and the DB at the latest schema.
std::string with_customer(const std::string& name) {
  const std::string db = fresh_database(name);
  Store store(config(db));
  size_t rows = 0;
  std::string e;
  EXPECT_TRUE(store.import_csv("customers", "name,time_zone,vm_sip\nAcme,Europe/Berlin,sip:pbx@vm1.example.net\n",
                               rows, e))
      << e;
  EXPECT_TRUE(store.import_csv("numbers", "e164,customer\n+49301234567,Acme\n", rows, e)) << e;
  return db;
}

Id save(Store& store, MenuChange change) {
  Id id = 0;
  std::string e;
  EXPECT_TRUE(store.save_menu(change, id, e)) << e;
  return id;
}

std::string refusal(Store& store, MenuChange change) {
  Id id = 0;
  std::string e;
  EXPECT_FALSE(store.save_menu(change, id, e));
  return e;
}

Menu loaded(Store& store, Id id) {
  Menu m;
  bool found = false;
  std::string e;
  EXPECT_TRUE(store.load_menu(id, m, found, e)) << e;
  EXPECT_TRUE(found) << "menu " << id;
  return m;
}

// A DB made by the release before (schema 2) with a menu, then migrated:
// the menu keeps its option, and gets the new settings' defaults.
TEST(MenusDb, MigrationThreeKeepsExistingMenus) {
  const std::string db = "menus_migrate";
  {
    auto c = connect("");
    exec(*c, "DROP DATABASE IF EXISTS " + db);
    db::Schema two = schema();
    two.migrations.resize(2);
    db::MigrateResult m;
    std::string e;
    ASSERT_TRUE(db::migrate(*c, db, two, m, e)) << e;
    ASSERT_EQ(m.to, 2);
    exec(*c, "INSERT INTO customers (id, name, time_zone, vm_sip) VALUES (1, 'Acme', 'UTC', 'sip:pbx@vm')");
    exec(*c, "INSERT INTO menus (id, customer_id, name, prompt) VALUES (7, 1, 'main', '" + good_prompt() + "')");
    exec(*c, "INSERT INTO menu_options (menu_id, digit, action, target) VALUES (7, '1', 'reject', '486')");
  }
  Store store(config(db));
  db::MigrateResult m;
  std::string e;
  ASSERT_TRUE(store.migrate(m, e)) << e;
  EXPECT_EQ(m.from, 2);
  EXPECT_EQ(m.to, 3);
  const Menu menu = loaded(store, 7);
  ASSERT_EQ(menu.options.size(), 1u);
  EXPECT_EQ(menu.options[0].digits, "1");
  EXPECT_EQ(menu.options[0].action.sip_code, 486);
  EXPECT_EQ(menu.inter_digit_timeout_s, 3);
  EXPECT_EQ(menu.retries, 2);
  auto c = connect(db);
  exec(*c, "INSERT INTO menu_options (menu_id, digits, action, target) VALUES (7, '201', 'extension', '201')");
  EXPECT_EQ(loaded(store, 7).options.size(), 2u);
}

// Menus saved through tandemctl's Store on two DCs' servers (each with its
// own auto_increment_offset, as both DCs' servers are set up) never share an id.
TEST(MenusDb, IdsFromTwoDcsDoNotCollide) {
  const std::string db = with_customer("menus_ids");
  auto root = connect("");
  std::vector<Id> ids[2];
  for (int round = 0; round < 3; ++round) {
    for (int dc = 0; dc < 2; ++dc) {
      exec(*root, "SET GLOBAL auto_increment_increment = 2, auto_increment_offset = " + std::to_string(dc + 1));
      Store store(config(db));  // a new connection: the DC's settings
      MenuChange ch;
      ch.fields = {{"customer", "Acme"}, {"name", "dc" + std::to_string(dc)}, {"prompt", good_prompt()}};
      ch.options = std::vector<std::string>{"1=voicemail", "2=hangup"};
      ids[dc].push_back(save(store, ch));
    }
  }
  exec(*root, "SET GLOBAL auto_increment_increment = 1, auto_increment_offset = 1");
  for (int dc = 0; dc < 2; ++dc) {
    for (Id id : ids[dc]) EXPECT_EQ(id % 2, static_cast<Id>((dc + 1) % 2)) << "dc " << dc + 1 << " id " << id;
  }
  auto c = connect(db);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM menu_options WHERE id % 2 = 1"), 6u);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM menu_options WHERE id % 2 = 0"), 6u);
}

TEST(MenusDb, SaveEditShowAndDelete) {
  const std::string db = with_customer("menus_save");
  Store store(config(db));
  MenuChange add;
  add.fields = {{"customer", "Acme"}, {"name", "main"}, {"prompt", good_prompt()}, {"timeout_s", "5"},
                {"inter_digit_timeout_s", "2"}, {"retries", "1"}, {"invalid_action", "hangup"}};
  add.options = std::vector<std::string>{"1=forward:0170 1234567", "201=extension:201", "*=repeat", "#=hangup",
                                         "0=ring:sip:desk@pbx/10,+4930111/20"};
  const Id id = save(store, add);
  Menu m = loaded(store, id);
  EXPECT_EQ(m.name, "main");
  EXPECT_EQ(m.timeout_s, 5);
  EXPECT_EQ(m.inter_digit_timeout_s, 2);
  EXPECT_EQ(m.retries, 1);
  EXPECT_EQ(m.invalid_action.kind, ActionKind::hangup);
  ASSERT_EQ(m.options.size(), 5u);
  EXPECT_EQ(m.options[0].digits, "#");  // by digits, as the snapshot keeps them: #, *, 0, 1, 201
  EXPECT_EQ(m.options[3].digits, "1");
  EXPECT_EQ(m.options[3].action.number, "+491701234567");  // stored normalised

  // An edit of one column keeps the rest and the options; options given replace them all.
  MenuChange edit;
  edit.id = id;
  edit.fields = {{"retries", "3"}};
  EXPECT_EQ(save(store, edit), id);
  m = loaded(store, id);
  EXPECT_EQ(m.retries, 3);
  EXPECT_EQ(m.timeout_s, 5);
  EXPECT_EQ(m.options.size(), 5u);
  edit.fields.clear();
  edit.options = std::vector<std::string>{"9=voicemail"};
  save(store, edit);
  m = loaded(store, id);
  ASSERT_EQ(m.options.size(), 1u);
  EXPECT_EQ(m.options[0].digits, "9");

  // Bad input of every kind: named, and nothing saved.
  MenuChange bad = add;
  bad.fields[2] = {"prompt", stereo_prompt()};
  EXPECT_EQ(refusal(store, bad), "the menu, column prompt: " + g_prompts->path() +
                                     "/stereo.wav: 2 channels, expected mono (not saved)");
  bad = add;
  bad.fields[2] = {"prompt", "main.wav"};
  EXPECT_NE(refusal(store, bad).find("column prompt: main.wav: not an absolute path"), std::string::npos);
  bad = add;
  bad.options = std::vector<std::string>{"1=voicemail", "2#=hangup"};
  EXPECT_EQ(refusal(store, bad), "option 2#, column digits: \"2#\": '#' is not 0-9 or * (# ends an entry, or is an "
                                 "option alone) (not saved)");
  bad.options = std::vector<std::string>{"1=extension:abc"};
  EXPECT_EQ(refusal(store, bad), "option 1, column target: extension: target \"abc\" is not 1-16 digits (not saved)");
  bad.options = std::vector<std::string>{"1=menu:999"};
  EXPECT_NE(refusal(store, bad).find("would not validate:\n  menu"), std::string::npos);
  bad.options = std::vector<std::string>{"1=voicemail", "1=hangup"};
  EXPECT_NE(refusal(store, bad).find("option 1: Duplicate entry"), std::string::npos);
  bad.options = std::vector<std::string>{"1"};
  EXPECT_EQ(refusal(store, bad), "option \"1\": expected KEYS=ACTION[:TARGET]");
  bad = add;
  bad.fields.push_back({"timeout_action", "repeat"});
  EXPECT_NE(refusal(store, bad).find("timeout action: repeat (the retries play the prompt again)"), std::string::npos);
  bad.fields = {{"customer", "Nobody"}, {"name", "x"}, {"prompt", good_prompt()}};
  EXPECT_NE(refusal(store, bad).find("the menu, column customer: no customers name \"Nobody\""), std::string::npos);
  bad.fields = {{"id", "5"}};
  EXPECT_EQ(refusal(store, bad), "id: not set by hand (the DB gives it, apart per DC)");
  MenuChange missing;
  missing.id = 424242;
  EXPECT_EQ(refusal(store, missing), "no menu 424242 (not saved)");
  EXPECT_EQ(loaded(store, id).options.size(), 1u);

  // A menu a rule uses is not deleted.
  size_t rows = 0;
  std::string e;
  ASSERT_TRUE(store.import_csv("rules", "number,action,target\n+49301234567,menu," + std::to_string(id) + "\n",
                               rows, e))
      << e;
  bool found = false;
  EXPECT_FALSE(store.remove("menus", id, found, e));
  EXPECT_NE(e.find("menu " + std::to_string(id) + " does not exist (not deleted)"), std::string::npos) << e;
  auto c = connect(db);
  exec(*c, "DELETE FROM rules");
  ASSERT_TRUE(store.remove("menus", id, found, e)) << e;
  EXPECT_TRUE(found);
  Menu gone;
  ASSERT_TRUE(store.load_menu(id, gone, found, e)) << e;
  EXPECT_FALSE(found);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM menu_options"), 0u);
}

TEST(MenusDb, CsvImportChecksPromptsAndKeys) {
  const std::string db = with_customer("menus_csv");
  Store store(config(db));
  size_t rows = 0;
  std::string e;
  EXPECT_FALSE(store.import_csv("menus",
                                "customer,name,prompt\nAcme,main," + good_prompt() + "\nAcme,stereo," +
                                    stereo_prompt() + "\n",
                                rows, e));
  EXPECT_EQ(e, "line 3, column prompt: " + stereo_prompt() + ": 2 channels, expected mono (nothing imported)");
  ASSERT_TRUE(store.import_csv("menus",
                               "id,customer,name,prompt,timeout_s,inter_digit_timeout_s,retries,invalid_action\n"
                               "71,Acme,main," + good_prompt() + ",6,4,0,hangup\n",
                               rows, e))
      << e;
  EXPECT_FALSE(store.import_csv("menu_options", "menu_id,digits,action,target\n71,1,voicemail,\n71,12345678901234567,"
                                                "hangup,\n",
                                rows, e));
  EXPECT_EQ(e, "line 3, column digits: \"12345678901234567\" is not 1-16 keys (nothing imported)");
  ASSERT_TRUE(store.import_csv("menu_options", "menu_id,digits,action,target\n71,1,voicemail,\n71,#,repeat,\n", rows,
                               e))
      << e;
  // Exported, it is what import takes back.
  std::string csv;
  ASSERT_TRUE(store.export_csv("menus", csv, e)) << e;
  EXPECT_EQ(csv, "id,customer_id,name,prompt,timeout_s,inter_digit_timeout_s,retries,timeout_action,timeout_target,"
                 "invalid_action,invalid_target\n71,1,main," + good_prompt() + ",6,4,0,voicemail,,hangup,\n");
}

// Hot reload: an edit through save_menu reaches the reloader's snapshot, and
// the saved rules on disk carry the menus.
TEST(MenusDb, ReloadAndSavedRulesCarryMenus) {
  const std::string db = with_customer("menus_reload");
  Store store(config(db));
  MenuChange add;
  add.fields = {{"customer", "Acme"}, {"name", "main"}, {"prompt", good_prompt()}};
  add.options = std::vector<std::string>{"1=voicemail"};
  const Id id = save(store, add);
  const std::string saved = g_prompts->path() + "/rules.saved";
  StoreSource source(store);
  Reloader reloader(source, {}, 50ms, saved);
  std::string e;
  ASSERT_TRUE(reloader.reload(false, e)) << e;
  reloader.start();
  MenuChange edit;
  edit.id = id;
  edit.options = std::vector<std::string>{"1=voicemail", "201=extension:201"};
  save(store, edit);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until && reloader.current()->menu(id)->options.size() != 2) {
    std::this_thread::sleep_for(10ms);
  }
  reloader.stop();
  ASSERT_EQ(reloader.current()->menu(id)->options.size(), 2u);
  RulesData d;
  SavedInfo info;
  ASSERT_TRUE(read_saved_rules(saved, d, info, e)) << e;
  EXPECT_EQ(info.version, reloader.current()->version());
  ASSERT_EQ(d.menus.size(), 1u);
  EXPECT_EQ(d.menus[0].options.size(), 2u);
  EXPECT_EQ(d.menus[0].prompt, good_prompt());
}

TEST(MenusDb, TandemctlMenusAndRouteDigits) {
  const char* bin = std::getenv("TANDEMCTL");
  if (!bin || ::access(bin, X_OK) != 0) GTEST_SKIP() << "TANDEMCTL not set or not built";
  const std::string db = with_customer("menus_ctl");
  const std::string o = "rules --db " + g_db->address() + " --db-user root --db-name " + db;
  CtlRun r = tandemctl(o + " menus add customer=Acme name=sales prompt=" + good_prompt() +
                       " --option 1=voicemail --option 2=hangup");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string sales = r.out.substr(r.out.rfind(' ') + 1, r.out.size() - r.out.rfind(' ') - 2);
  r = tandemctl(o + " menus add customer=Acme name=main prompt=" + good_prompt() + " retries=1 --option 2=menu:" +
                sales + " --option 201=extension:201");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string main_id = r.out.substr(r.out.rfind(' ') + 1, r.out.size() - r.out.rfind(' ') - 2);
  r = tandemctl(o + " menus add customer=Acme name=bad prompt=" + stereo_prompt());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("2 channels, expected mono"), std::string::npos) << r.out;
  r = tandemctl(o + " menus add customer=Acme name=bad prompt=" + good_prompt() + " --option 1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("expected KEYS=ACTION[:TARGET]"), std::string::npos) << r.out;
  r = tandemctl(o + " menus list");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("2 rows"), std::string::npos) << r.out;
  r = tandemctl(o + " menus show " + main_id);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("  201: extension 201 on the VM\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("prompt here: G.711 mu-law, 8000 Hz mono, 1.00 s"), std::string::npos) << r.out;
  r = tandemctl("--json " + o + " menus show " + main_id);
  EXPECT_NE(r.out.find("\"usable\": true"), std::string::npos) << r.out;
  r = tandemctl(o + " menus edit " + main_id + " timeout_s=7");
  EXPECT_EQ(r.out, "saved menu " + main_id + "\n");
  r = tandemctl(o + " menus show 999999");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("no menu 999999"), std::string::npos) << r.out;

  ASSERT_EQ(tandemctl(o + " add rules number=+49301234567 action=menu target=" + main_id).status, 0);
  r = tandemctl("route " + o.substr(6) + " +49301234567 --from '' --digits 2,timeout,1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("-> menu " + main_id + "\nmenu " + main_id + " \"main\": prompt "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  entry 2: option 2 -> menu " + sales + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  entry timeout: nothing keyed within 10 s: the prompt again (retry 1 of 2)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("-> voicemail sip:pbx@vm1.example.net\n"), std::string::npos) << r.out;
  r = tandemctl("--json route " + o.substr(6) + " +49301234567 --from '' --digits 201#");
  EXPECT_NE(r.out.find("\"extension\": \"201\""), std::string::npos) << r.out;
  r = tandemctl("route " + o.substr(6) + " +49301234567 --from '' --digits 2,x");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("--digits: entry \"x\": keys are 0-9, * and #"), std::string::npos) << r.out;
  // A menu in use is not deleted; unused, it is.
  r = tandemctl(o + " menus delete " + main_id);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("(not deleted)"), std::string::npos) << r.out;
  r = tandemctl(o + " menus delete " + sales);
  EXPECT_EQ(r.status, 1) << r.out;  // menu main's option 2 uses it
  auto c = connect(db);
  exec(*c, "DELETE FROM rules");
  r = tandemctl(o + " menus delete " + main_id);
  EXPECT_EQ(r.out, "deleted menu " + main_id + "\n");
}

}  // namespace
}  // namespace tandem::rules

int main(int argc, char** argv) {
  const tandem::rules::testing::PromptDir prompts;
  tandem::rules::g_prompts = &prompts;
  return tandem::rules::testing::run_with_mariadb(argc, argv);
}
