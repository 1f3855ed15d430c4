// tandemctl db status: each DB host's role and replication (db/replication_status.h).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "db/replication_status.h"
#include "tools/tandemctl/cli.h"

namespace tandem::ctl {

// One server's status as --json gives it, and as text (each line after `indent`).
nlohmann::json server_json(const db::ServerStatus& s);
void print_server(const db::ServerStatus& s, const std::string& indent);

void add_db_status_command(CLI::App* db, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
