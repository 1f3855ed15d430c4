// `tandemctl db init|migrate`, which applies the Rules DB's and the CDR DB's
// schema migrations.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/tandemctl/dataplane_commands.h"

namespace tandem::ctl {

void add_db_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
