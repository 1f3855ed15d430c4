// Versioned schema migrations, the same way for the Rules DB and the CDR DB:
// a list that is only ever appended to, applied in order under a named lock
// (two nodes migrating at once wait for each other), each recorded in the
// database's schema_version table right after it ran (DDL commits by itself in
// MariaDB, so a migration cannot share a transaction with its record).
#pragma once

#include <string>
#include <vector>

namespace sql {
class Connection;
}  // namespace sql

namespace tandem::db {

struct Migration {
  int version;
  std::string description;
  std::vector<std::string> statements;
};

// What one database's migrations are: whose they are (in errors: "the Rules
// DB"), the named lock they run under, the list.
struct Schema {
  std::string what;
  std::string lock;
  std::vector<Migration> migrations;

  int latest_version() const { return migrations.empty() ? 0 : migrations.back().version; }
  // schema_version's table and every migration's statements, as schema.sql shows them.
  std::string sql() const;
};

struct MigrateResult {
  int from = 0;
  int to = 0;
};

// Creates `database` if needed, selects it on `c` and applies the migrations
// it lacks. A database newer than the list is refused. Throws nothing: false
// and why (`c` should be dropped then, as after any error).
bool migrate(sql::Connection& c, const std::string& database, const Schema& schema, MigrateResult& result,
             std::string& error);

// The version the selected database has (0: none, not even schema_version).
// Throws sql::SQLException like any query.
int schema_version(sql::Connection& c);

}  // namespace tandem::db
