#include "tools/tandemctl/db_commands.h"

#include <cppconn/connection.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cdr/schema.h"
#include "db/connection.h"
#include "portal/db_user.h"
#include "rules/store.h"
#include "tools/tandemctl/db_options.h"
#include "tools/tandemctl/db_status.h"

namespace tandem::ctl {

namespace {

// The portal's read-only user on the server of each DB ($TANDEM_PORTAL_DB_PASSWORD
// set) or nothing; "" or why not.
std::string grant_portal(const DbOptions& rules_db, const DbOptions& cdr_db, const std::string& user) {
  const char* password = std::getenv("TANDEM_PORTAL_DB_PASSWORD");
  if (!password) return "";
  const std::pair<db::Config, std::vector<std::string>> servers[] = {
      {rules_db.config<rules::DbConfig>(), portal::rules_db_tables(rules_db.database)},
      {cdr_db.config<cdr::DbConfig>(), portal::cdr_db_tables(cdr_db.database)}};
  for (const auto& [config, tables] : servers) {
    std::string e;
    auto c = db::connect(config, false, e);
    if (!c || !portal::grant_portal_reader(*c, user, password, tables, e)) return e;
  }
  return "";
}

}  // namespace

void add_db_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  static DbOptions rules_db = rules_db_options();
  static DbOptions cdr_db = cdr_db_options();
  static std::string portal_user = portal::kDefaultDbUser;
  CLI::App* dbc = app.add_subcommand("db", "the Rules DB's and the CDR DB's schemas (init, migrate); the DB hosts' replication (status)");
  dbc->require_subcommand(1);
  dbc->fallthrough();
  add_db_options(dbc, rules_db, "rules-", "Rules DB");
  add_db_options(dbc, cdr_db, "cdr-", "CDR DB");
  dbc->add_option("--portal-db-user", portal_user,
                  "tandem-portal's DB user, which may only read: created or given its password (from "
                  "$TANDEM_PORTAL_DB_PASSWORD; unset: left alone) by init and migrate")
      ->capture_default_str();

  auto run = [&g, &exit_code] {
    rules::Store store(rules_db.config<rules::DbConfig>());
    db::MigrateResult rm;
    std::string e;
    if (!store.migrate(rm, e)) return fail(g, exit_code, "Rules DB: " + e);
    db::MigrateResult cm;
    if (!cdr::migrate(cdr_db.config<cdr::DbConfig>(), cm, e)) return fail(g, exit_code, "CDR DB: " + e);
    if (e = grant_portal(rules_db, cdr_db, portal_user); !e.empty()) return fail(g, exit_code, e);
    const bool portal_granted = std::getenv("TANDEM_PORTAL_DB_PASSWORD") != nullptr;
    if (g.json) {
      nlohmann::json j{{"rules", {{"database", rules_db.database}, {"from", rm.from}, {"to", rm.to}}},
                       {"cdr", {{"database", cdr_db.database}, {"from", cm.from}, {"to", cm.to}}}};
      if (portal_granted) j["portal_db_user"] = portal_user;
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << "Rules DB " << rules_db.database << ": schema version " << rm.from << " -> " << rm.to << "\n"
                << "CDR DB " << cdr_db.database << ": schema version " << cm.from << " -> " << cm.to << "\n";
      if (portal_granted) std::cout << "portal DB user " << portal_user << ": may read, nothing else\n";
    }
  };
  dbc->add_subcommand("init", "create both databases and apply every migration (on an existing DB: as migrate)")
      ->callback(run);
  dbc->add_subcommand("migrate", "apply the migrations each DB lacks (two nodes at once wait for each other)")
      ->callback(run);
  add_db_status_command(dbc, g, exit_code);
}

}  // namespace tandem::ctl
