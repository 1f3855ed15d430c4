#include "db/connection.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <algorithm>
#include <charconv>
#include <mutex>

namespace tandem::db {

std::string error_text(const sql::SQLException& e) {
  return std::string(e.what()) + " (error " + std::to_string(e.getErrorCode()) + ", state " +
         e.getSQLState() + ")";
}

namespace {

// The errors of a connection that is gone, client side (libmariadb's errmsg.h)
// and server side (mysqld_error.h): Connector/C++ passes their numbers on.
constexpr int kServerShutdown = 1053;      // ER_SERVER_SHUTDOWN: "Server shutdown in progress"
constexpr int kConnectionKilled = 1927;    // ER_CONNECTION_KILLED (MariaDB): "Connection was killed"
constexpr int kServerGone = 2006;          // CR_SERVER_GONE_ERROR: "MySQL server has gone away"
constexpr int kServerLost = 2013;          // CR_SERVER_LOST: "Lost connection to server during query"
constexpr int kServerLostExtended = 2055;  // CR_SERVER_LOST_EXTENDED: the same, with the system error

}  // namespace

bool connection_lost(const sql::SQLException& e) {
  switch (e.getErrorCode()) {
    case kServerShutdown:
    case kConnectionKilled:
    case kServerGone:
    case kServerLost:
    case kServerLostExtended:
      return true;
    default:
      // SQLSTATE 08S01: "communication link failure", whatever the number.
      return e.getSQLState() == "08S01";
  }
}

bool still_connected(sql::Connection& c) {
  try {
    execute(c, "DO 0");
    return true;
  } catch (const sql::SQLException& e) {
    if (connection_lost(e)) return false;
    throw;
  }
}

void execute(sql::Connection& c, const std::string& statement) {
  std::unique_ptr<sql::Statement> st(c.createStatement());
  st->execute(statement);
}

std::unique_ptr<sql::ResultSet> query(sql::Connection& c, const std::string& statement) {
  std::unique_ptr<sql::Statement> st(c.createStatement());
  return std::unique_ptr<sql::ResultSet>(st->executeQuery(statement));
}

bool parse_address(const std::string& text, Address& out, std::string& error) {
  out = {};
  if (text.rfind("unix:", 0) == 0) {
    out.socket = text.substr(5);
    if (out.socket.empty() || out.socket[0] != '/') {
      error = "DB address " + text + ": unix: needs an absolute path";
      return false;
    }
    return true;
  }
  const auto colon = text.rfind(':');
  out.host = text.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string port = text.substr(colon + 1);
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) {
      error = "DB address " + text + ": bad port";
      return false;
    }
    out.port = static_cast<uint16_t>(v);
  }
  if (out.host.empty()) {
    error = "DB address " + text + ": no host";
    return false;
  }
  return true;
}

namespace {

std::mutex counts_mu;
std::vector<ConnectCounts> counts;

void count_connect(const std::string& database, bool ok) {
  std::lock_guard lock(counts_mu);
  auto it = std::find_if(counts.begin(), counts.end(), [&](const ConnectCounts& c) { return c.database == database; });
  if (it == counts.end()) it = counts.insert(counts.end(), ConnectCounts{database, 0, 0});
  ++(ok ? it->connects : it->failures);
}

}  // namespace

std::unique_ptr<sql::Connection> connect(const Config& config, bool use_database, std::string& error) {
  if (config.addresses.empty()) {
    error = "no DB address";
    return nullptr;
  }
  std::string errors;
  for (const auto& text : config.addresses) {
    Address a;
    std::string e;
    if (!parse_address(text, a, e)) {
      errors += (errors.empty() ? "" : "; ") + e;
      continue;
    }
    try {
      sql::ConnectOptionsMap opts;
      if (a.socket.empty()) {
        opts["hostName"] = sql::SQLString("tcp://" + a.host + ":" + std::to_string(a.port));
      } else {
        opts["hostName"] = sql::SQLString("localhost");
        opts["socket"] = sql::SQLString(a.socket);
      }
      opts["userName"] = sql::SQLString(config.user);
      opts["password"] = sql::SQLString(config.password);
      if (use_database) opts["schema"] = sql::SQLString(config.database);
      opts["OPT_CONNECT_TIMEOUT"] = static_cast<int>(config.connect_timeout_s);
      opts["OPT_READ_TIMEOUT"] = static_cast<int>(config.io_timeout_s);
      opts["OPT_WRITE_TIMEOUT"] = static_cast<int>(config.io_timeout_s);
      opts["OPT_RECONNECT"] = false;
      opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
      std::unique_ptr<sql::Connection> c(sql::mysql::get_mysql_driver_instance()->connect(opts));
      execute(*c, "SET NAMES utf8mb4 COLLATE utf8mb4_bin");
      execute(*c, "SET time_zone = '+00:00'");
      execute(*c,
              "SET sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
              "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");
      count_connect(config.database, true);
      return c;
    } catch (const sql::SQLException& ex) {
      errors += (errors.empty() ? "" : "; ") + text + ": " + error_text(ex);
    }
  }
  error = errors;
  count_connect(config.database, false);
  return nullptr;
}

std::vector<ConnectCounts> connect_counts() {
  std::lock_guard lock(counts_mu);
  return counts;
}

}  // namespace tandem::db
