// Store: its connection, the migrations, the versions the reloader and the
// tools read, and deletes. The load is in store_load.cc, CSV import and
// export in store_csv.cc.
#include "rules/store.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include "rules/csv_tables.h"
#include "rules/schema.h"

namespace tandem::rules {

namespace {

using db::query;

const char* kVersionQuery = "SELECT CAST(COALESCE(SUM(version), 0) AS UNSIGNED) FROM config_version";

}  // namespace

Store::Store(DbConfig config, NumberPlan plan)
    : config_(std::move(config)), plan_(std::move(plan)) {}

Store::~Store() {
  disconnect();
  disconnect_readers();
}

void Store::disconnect() {
  try {
    if (conn_) conn_->close();
  } catch (const sql::SQLException&) {
  }
  conn_.reset();
}

// A connection kept from an earlier call gets the call's first statement here
// (USE the database, or DO 0): if the server lost it meanwhile (a restart, a
// failover, wait_timeout), it and the load's readers (same server) are
// replaced at once, and the call goes on on the new one instead of failing
// for it. Nothing was sent yet, so this is safe before a write too; an error
// later in the call is reported, and the next call connects again.
bool Store::connect(bool use_database, std::string& error) {
  if (conn_) {
    try {
      if (use_database) {
        conn_->setSchema(config_.database);
        return true;
      }
      if (db::still_connected(*conn_)) return true;
    } catch (const sql::SQLException& ex) {
      if (!db::connection_lost(ex)) {
        error = "Rules DB " + config_.database + ": " + db::error_text(ex);
        disconnect();
        return false;
      }
    }
    disconnect();
    disconnect_readers();
  }
  conn_ = open_connection(use_database, error);
  return conn_ != nullptr;
}

std::unique_ptr<sql::Connection> Store::open_connection(bool use_database, std::string& error) {
  std::string errors;
  auto c = db::connect(config_, use_database, errors);
  if (!c) {
    error = "Rules DB unreachable: " + errors;
    return nullptr;
  }
  try {
    db::execute(*c, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: " + db::error_text(ex);
    return nullptr;
  }
  return c;
}

bool Store::migrate(db::MigrateResult& result, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!connect(false, error)) return false;
  if (db::migrate(*conn_, config_.database, schema(), result, error)) return true;
  disconnect();
  return false;
}

bool Store::schema_version(int& version, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!connect(true, error)) return false;
  try {
    version = db::schema_version(*conn_);
    return true;
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: " + db::error_text(ex);
    disconnect();
    return false;
  }
}

bool Store::config_version(uint64_t& version, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!connect(true, error)) return false;
  try {
    auto rs = query(*conn_, kVersionQuery);
    version = rs->next() ? rs->getUInt64(1) : 0;
    return true;
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: config_version: " + db::error_text(ex);
    disconnect();
    return false;
  }
}

bool Store::id_spacing(uint32_t& increment, uint32_t& offset, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!connect(false, error)) return false;
  try {
    auto rs = query(*conn_, "SELECT @@auto_increment_increment, @@auto_increment_offset");
    if (!rs->next()) {
      error = "Rules DB: no auto_increment settings";
      return false;
    }
    increment = rs->getUInt(1);
    offset = rs->getUInt(2);
    return true;
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: " + db::error_text(ex);
    disconnect();
    return false;
  }
}

bool Store::remove(const std::string& table, Id id, bool& found, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!internal::find_spec(table)) {
    error = "no table " + table;
    return false;
  }
  std::string failure;
  const auto change = [&] {
    std::unique_ptr<sql::PreparedStatement> st(conn_->prepareStatement("DELETE FROM " + table + " WHERE id = ?"));
    st->setUInt64(1, id);
    found = st->executeUpdate() > 0;
    return std::string();
  };
  if (!validated_change("delete", change, failure, error)) return false;
  if (!failure.empty()) error = failure + " (not deleted)";
  return failure.empty();
}

}  // namespace tandem::rules
