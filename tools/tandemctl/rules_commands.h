// `tandemctl rules ...` (the Rules DB: migrate, status, check, list, export,
// import, add, delete) and `tandemctl route` (what the rules do with a call,
// and why), straight against the Rules DB.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/tandemctl/dataplane_commands.h"

namespace tandem::ctl {

void add_rules_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
