#include "tools/tandemctl/db_commands.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cdr/schema.h"
#include "rules/store.h"
#include "tools/tandemctl/db_options.h"
#include "tools/tandemctl/db_status.h"

namespace tandem::ctl {
void add_db_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  static DbOptions rules_db = rules_db_options();
  static DbOptions cdr_db = cdr_db_options();
  CLI::App* dbc = app.add_subcommand("db", "the Rules DB's and the CDR DB's schemas (init, migrate); the DB hosts' replication (status)");
  dbc->require_subcommand(1);
  dbc->fallthrough();
  add_db_options(dbc, rules_db, "rules-", "Rules DB");
  add_db_options(dbc, cdr_db, "cdr-", "CDR DB");

  auto run = [&g, &exit_code] {
    rules::Store store(rules_db.config<rules::DbConfig>());
    db::MigrateResult rm;
    std::string e;
    if (!store.migrate(rm, e)) return fail(g, exit_code, "Rules DB: " + e);
    db::MigrateResult cm;
    if (!cdr::migrate(cdr_db.config<cdr::DbConfig>(), cm, e)) return fail(g, exit_code, "CDR DB: " + e);
    if (g.json) {
      std::cout << nlohmann::json{{"rules", {{"database", rules_db.database}, {"from", rm.from}, {"to", rm.to}}},
                                  {"cdr", {{"database", cdr_db.database}, {"from", cm.from}, {"to", cm.to}}}}
                       .dump(2)
                << "\n";
    } else {
      std::cout << "Rules DB " << rules_db.database << ": schema version " << rm.from << " -> " << rm.to << "\n"
                << "CDR DB " << cdr_db.database << ": schema version " << cm.from << " -> " << cm.to << "\n";
    }
  };
  dbc->add_subcommand("init", "create both databases and apply every migration (on an existing DB: as migrate)")
      ->callback(run);
  dbc->add_subcommand("migrate", "apply the migrations each DB lacks (two nodes at once wait for each other)")
      ->callback(run);
  add_db_status_command(dbc, g, exit_code);
}

}  // namespace tandem::ctl
