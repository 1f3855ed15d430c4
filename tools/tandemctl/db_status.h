// tandemctl db status: each DB host's role and replication (db/replication_status.h).
#pragma once

#include <CLI/CLI.hpp>

#include "tools/tandemctl/cli.h"

namespace tandem::ctl {

void add_db_status_command(CLI::App* db, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
