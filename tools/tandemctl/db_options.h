// The DB connection flags tandemctl's DB commands share (rules, route, cdr,
// db): addresses, user and database name as flags, the password only from the
// environment, never on a command line that `ps` shows.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace tandem::ctl {

struct DbOptions {
  // What the flags set.
  std::vector<std::string> addresses;   // "HOST:PORT", "HOST" or "unix:/PATH"; first that answers
  std::string user = "tandem";
  std::string database;
  // What the command fixes: the defaults' environment variables.
  std::string address_env;              // e.g. TANDEM_RULES_DB
  std::string password_env;             // e.g. TANDEM_RULES_DB_PASSWORD

  // The addresses: the flag's, else $address_env, else the local server's socket.
  std::vector<std::string> resolved_addresses() const;
  // $password_env, or empty.
  std::string password() const;

  // Fills a rules::DbConfig or cdr::DbConfig (the same four fields).
  template <typename Config>
  Config config() const {
    Config c;
    c.addresses = resolved_addresses();
    c.user = user;
    c.password = password();
    c.database = database;
    return c;
  }
};

// The Rules DB's (tandem_rules, $TANDEM_RULES_DB, $TANDEM_RULES_DB_PASSWORD) and
// the CDR DB's (tandem_cdr, $TANDEM_CDR_DB, $TANDEM_CDR_DB_PASSWORD) defaults.
DbOptions rules_db_options();
DbOptions cdr_db_options();

// Adds --PREFIXdb, --PREFIXdb-user and --PREFIXdb-name to `cmd` (prefix "" or
// e.g. "cdr-"); `what` names the DB in the help ("Rules DB"). `o` says which
// environment variables apply and holds the default database name.
void add_db_options(CLI::App* cmd, DbOptions& o, const std::string& prefix, const std::string& what);

}  // namespace tandem::ctl
