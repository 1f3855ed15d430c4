// `tandemctl cdr ...`: call detail records read back from the CDR DB (tail,
// show, query, the monthly usage report).
// (`cdr stats`, the writer's counters, needs the call server that runs the
// writer: it comes with it.)
#pragma once

#include <CLI/CLI.hpp>

#include "tools/tandemctl/dataplane_commands.h"

namespace tandem::ctl {

void add_cdr_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
