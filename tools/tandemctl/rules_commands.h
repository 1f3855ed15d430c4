// `tandemctl rules ...` (the Rules DB: migrate, status, check, list, export,
// import, add, delete) and `tandemctl route` (what the rules do with a call,
// and why), straight against the Rules DB.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rules/number.h"
#include "rules/snapshot.h"
#include "rules/store.h"
#include "tools/tandemctl/dataplane_commands.h"
#include "tools/tandemctl/db_options.h"

namespace tandem::ctl {

void add_rules_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

// Shared with menu_commands.cc.

// The Rules DB (db_options.h) and the number plan.
struct RulesDbOptions {
  DbOptions conn = rules_db_options();
  rules::NumberPlan plan;

  rules::DbConfig config() const { return conn.config<rules::DbConfig>(); }
};
void add_db_options(CLI::App* cmd, RulesDbOptions& o);
// The Rules DB loaded and validated; null after fail() when it is not.
std::shared_ptr<const rules::Snapshot> load_snapshot(const GlobalOptions& g, rules::Store& store,
                                                     const rules::NumberPlan& plan, int& exit_code);
// CSV (from export_csv) -> aligned columns, or JSON objects.
void print_table(const std::string& csv, bool json);
// COLUMN=VALUE arguments -> pairs; false with why.
bool parse_fields(const std::vector<std::string>& fields, std::vector<std::pair<std::string, std::string>>& out,
                  std::string& error);

}  // namespace tandem::ctl
