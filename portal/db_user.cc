#include "portal/db_user.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <memory>

#include "db/connection.h"

namespace tandem::portal {

namespace {

// DDL takes no placeholders: names go in as text, so only plain names may.
bool plain_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> rules_db_tables(const std::string& database) {
  return {database + ".portal_users", database + ".customers"};
}

std::vector<std::string> cdr_db_tables(const std::string& database) { return {database + ".cdr"}; }

bool grant_portal_reader(sql::Connection& c, const std::string& user, const std::string& password,
                         const std::vector<std::string>& tables, std::string& error) {
  if (!plain_name(user)) {
    error = "portal DB user " + user + ": letters, digits and _ only";
    return false;
  }
  try {
    // The password becomes its hash first (a placeholder may take it there),
    // so that no statement text carries it: the server's logs show statements.
    std::unique_ptr<sql::PreparedStatement> st(c.prepareStatement("SELECT PASSWORD(?)"));
    st->setString(1, password);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    if (!rs->next()) {
      error = "PASSWORD() gave nothing";
      return false;
    }
    const std::string hash = rs->getString(1);   // "*" and 40 hex digits
    for (const char* host : {"localhost", "%"}) {
      const std::string account = "'" + user + "'@'" + host + "'";
      db::execute(c, "CREATE USER IF NOT EXISTS " + account + " IDENTIFIED BY PASSWORD '" + hash + "'");
      db::execute(c, "ALTER USER " + account + " IDENTIFIED BY PASSWORD '" + hash + "'");
      for (const auto& t : tables) {
        const auto dot = t.find('.');
        const std::string database = t.substr(0, dot), table = dot == std::string::npos ? "" : t.substr(dot + 1);
        if (!plain_name(database) || !plain_name(table)) {
          error = "table " + t + ": expected DATABASE.TABLE of letters, digits and _";
          return false;
        }
        db::execute(c, "GRANT SELECT ON `" + database + "`.`" + table + "` TO " + account);
      }
    }
    return true;
  } catch (const sql::SQLException& e) {
    error = "portal DB user " + user + ": " + db::error_text(e);
    return false;
  }
}

}  // namespace tandem::portal
