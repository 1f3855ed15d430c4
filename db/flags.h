// The flags of a process that keeps a DB connection (the call server's Rules
// DB and CDR DB, the coming SBC and portal): --NAME-db (addresses, first that
// answers; repeat the flag or separate with commas), --NAME-db-user,
// --NAME-db-password-file (the password is never a flag: `ps` shows flags),
// --NAME-database. add_db_flags() before CLI11 parses, finish_db_flags()
// after.
#pragma once

#include <string>

#include "db/connection.h"

namespace CLI {
class App;
}  // namespace CLI

namespace tandem::db {

struct DbFlags {
  std::string name;           // "rules": the flags' prefix
  std::string what;           // "Rules DB": how the help names it
  std::string password_file;  // what --NAME-db-password-file set
};

void add_db_flags(CLI::App& app, Config& config, DbFlags& flags);

// At least one address, every address well-formed, the password file read
// into config.password; false and why, naming the flag.
bool finish_db_flags(Config& config, const DbFlags& flags, std::string& error);

}  // namespace tandem::db
