// `tandemctl rules menus list|show|add|edit|delete`: the attendant's menus,
// a menu with its options at a time (CSV import: `rules import menus` and
// `rules import menu_options`).
#pragma once

#include <CLI/CLI.hpp>

#include "tools/tandemctl/rules_commands.h"

namespace tandem::ctl {

void add_menu_commands(CLI::App* rules, const RulesDbOptions& db, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
