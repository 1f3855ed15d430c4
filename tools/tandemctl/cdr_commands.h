// `tandemctl cdr ...`: call detail records read back from the CDR DB (tail,
// show, query, the monthly usage report), and `tandemctl db init|migrate`,
// which applies the Rules DB's and the CDR DB's schema migrations.
// (`cdr stats`, the writer's counters, needs the call server that runs the
// writer: it comes with it.)
#pragma once

#include <CLI/CLI.hpp>

#include "tools/tandemctl/dataplane_commands.h"

namespace tandem::ctl {

void add_cdr_commands(CLI::App& app, GlobalOptions& g, int& exit_code);
void add_db_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
