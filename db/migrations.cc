#include "db/migrations.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include "db/connection.h"

namespace tandem::db {

namespace {

constexpr const char* kSchemaVersionTable = R"sql(CREATE TABLE IF NOT EXISTS schema_version (
  version INT UNSIGNED NOT NULL,
  description VARCHAR(255) NOT NULL,
  applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin)sql";

int recorded_version(sql::Connection& c) {
  auto rs = query(c, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
  return rs->next() ? rs->getInt(1) : 0;
}

void apply(sql::Connection& c, const Migration& m) {
  for (const auto& s : m.statements) execute(c, s);
  std::unique_ptr<sql::PreparedStatement> st(
      c.prepareStatement("INSERT INTO schema_version (version, description) VALUES (?, ?)"));
  st->setInt(1, m.version);
  st->setString(2, m.description);
  st->executeUpdate();
}

}  // namespace

std::string Schema::sql() const {
  std::string out = std::string(kSchemaVersionTable) + ";\n";
  for (const auto& m : migrations) {
    out += "\n-- migration " + std::to_string(m.version) + ": " + m.description + "\n";
    for (const auto& s : m.statements) out += "\n" + s + ";\n";
  }
  return out;
}

bool migrate(sql::Connection& c, const std::string& database, const Schema& schema, MigrateResult& result,
             std::string& error) {
  const std::string release = "DO RELEASE_LOCK('" + schema.lock + "')";
  try {
    execute(c, "CREATE DATABASE IF NOT EXISTS `" + database + "` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    c.setSchema(database);
    auto locked = query(c, "SELECT GET_LOCK('" + schema.lock + "', 30)");
    if (!locked->next() || locked->getInt(1) != 1) {
      error = "another migration holds the lock " + schema.lock;
      return false;
    }
    execute(c, kSchemaVersionTable);
    int current = recorded_version(c);
    result.from = current;
    if (current > schema.latest_version()) {
      error = schema.what + " has schema version " + std::to_string(current) + ", newer than this build knows (" +
              std::to_string(schema.latest_version()) + ")";
      execute(c, release);
      return false;
    }
    for (const auto& m : schema.migrations) {
      if (m.version <= current) continue;
      apply(c, m);
      current = m.version;
    }
    result.to = current;
    execute(c, release);
    return true;
  } catch (const sql::SQLException& ex) {
    error = "migrate: " + error_text(ex);
    return false;
  }
}

int schema_version(sql::Connection& c) {
  auto rs = query(c,
                  "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
                  " AND table_name = 'schema_version'");
  if (!rs->next() || rs->getInt(1) == 0) return 0;
  return recorded_version(c);
}

}  // namespace tandem::db
