// The Rules DB in MariaDB through MySQL Connector/C++ 1.1: schema migrations
// (schema.sql is what they produce), the config_version fingerprint the
// reloader polls, and loading every table into RulesData in one consistent
// read.
//
// Ids across the two DCs: every table's id is AUTO_INCREMENT, and each DC's
// server runs with auto_increment_increment = 2 (or more, room for more DCs)
// and its own auto_increment_offset (1, 2...), so rows inserted in either DC,
// by tandemctl or by hand in SQL, never take the same id, and replication in
// both directions carries them unchanged. `id_spacing` reads both settings so
// tools can warn when a server still has the single-server defaults.
//
// config_version: one row per server (server_id), bumped by a trigger on every
// insert, update and delete of every rules table. The version the reloader
// compares is the sum of the rows: each DC only ever increments its own row,
// so replicated changes from the other DC raise the sum too (one shared
// counter would be overwritten by the other DC's equal value under row-based
// replication, and that DC's edit missed).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/functional/function_ref.h>

#include "db/connection.h"
#include "db/migrations.h"
#include "rules/model.h"
#include "rules/number.h"

namespace sql {
class Connection;
}  // namespace sql

namespace tandem::rules {

struct DbConfig : db::Config {
  DbConfig() { database = "tandem_rules"; }
  DbConfig(const db::Config& c) : db::Config(c) {}  // NOLINT: those settings, the load's default
  // Store::load's connections: 1 reads every table on one; n > 1 reads the
  // rules table on n - 1 more, split by id range, beside the other tables.
  uint32_t load_connections = 3;
};

// The tables import_csv, export_csv and remove take, and their CSV columns.
const std::vector<std::string>& table_names();
std::vector<std::string> csv_columns(const std::string& table);  // empty: no such table

// A menu to save (Store::save_menu).
struct MenuChange {
  Id id = 0;                                                // 0: a new menu
  std::vector<std::pair<std::string, std::string>> fields;  // the menus CSV's columns and values
  // "KEYS=ACTION[:TARGET]" ("1=forward:+4930123", "201=extension:201", "#=hangup"):
  // all the menu's options; nullopt: none for a new menu, unchanged for an edit.
  std::optional<std::vector<std::string>> options;
};

// One connection, made on first use and again after any error; kept between
// calls, and replaced when the server lost it meanwhile (a restart, a
// failover, wait_timeout): see connect(). Thread-safe: calls are serialised.
class Store {
 public:
  explicit Store(DbConfig config, NumberPlan plan = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Creates the database if needed and applies the migrations it lacks, under
  // a named lock (two nodes migrating at once wait for each other).
  bool migrate(db::MigrateResult& result, std::string& error);
  // The schema version the DB has (0: none).
  bool schema_version(int& version, std::string& error);
  // The config_version fingerprint (see above).
  bool config_version(uint64_t& version, std::string& error);
  // Every table, consistently (REPEATABLE READ, the version read with it):
  // the rules table on more connections beside the others (load_connections),
  // in snapshots that all see the same config_version rows (see store_load.cc),
  // else in one transaction. Rows are streamed and parsed as they come.
  // Rows whose columns do not parse fail the load, naming table, id and column.
  bool load(RulesData& out, std::string& error);
  // Bulk load of one table from CSV: a header row of column names, then a row
  // per record (RFC 4180 quoting). All or nothing, in one transaction: a row
  // that does not parse, or that the DB refuses, names its line (and column);
  // then the whole Rules DB as it would be is loaded and validated, and the
  // import rolled back if it does not validate. Columns are the table's
  // (csv_columns), and, instead of ids: `customer` (name) for numbers and
  // menus, `number` (E.164) for rules, `provider` (name) for rates; rules also
  // take `dates`: "2026-12-24..2026-12-26;2027-01-01..2027-01-01". An empty
  // field is NULL where the column allows it, else the column's default.
  bool import_csv(const std::string& table, std::string_view csv, size_t& rows,
                  std::string& error);
  // One table as CSV that import_csv takes back (ids included).
  bool export_csv(const std::string& table, std::string& csv, std::string& error);
  // Deletes one row (and, through the schema's cascades, what hangs on it),
  // unless the Rules DB would then not validate (a menu a rule still uses).
  bool remove(const std::string& table, Id id, bool& found, std::string& error);
  // The server's auto_increment_increment and auto_increment_offset.
  bool id_spacing(uint32_t& increment, uint32_t& offset, std::string& error);

  // One menu and its options (store_menus.cc); `found` false: no such id.
  bool load_menu(Id id, Menu& out, bool& found, std::string& error);
  // A menu saved, with its options, in one validated transaction. `change.id`
  // 0: a new one (its id from AUTO_INCREMENT, as every row's: see above),
  // else that menu edited: the fields given replace its own. The prompt file
  // is checked (prompt_wav.h) at every save, on the machine that saves.
  bool save_menu(const MenuChange& change, Id& id, std::string& error);

 private:
  // conn_, kept (and checked: lost ones replaced, the readers with it) or new.
  bool connect(bool use_database, std::string& error);
  // Every table on conn_, in the caller's transaction; `bad`: the first row that does not parse.
  void read_all(RulesData& d, std::string& bad);
  void disconnect();
  // The connections load() reads the rules table on, besides conn_ (lost ones replaced).
  bool connect_readers(size_t n, std::string& error);
  // A connection in REPEATABLE READ (consistent snapshots); null with `error` set.
  std::unique_ptr<sql::Connection> open_connection(bool use_database, std::string& error);
  void disconnect_readers();
  // `change` (its failure, or empty) on conn_ in one transaction; then, if
  // it did not fail, the whole Rules DB as it would be is loaded and
  // validated (`failure`: why not); committed only if both went well. False
  // only for a DB error (`error`), after which nothing is applied.
  bool validated_change(const std::string& what, absl::FunctionRef<std::string()> change, std::string& failure,
                        std::string& error);
  // A CSV into `table` on conn_, in the caller's transaction: the failure ("line N[, column C]: why") or empty.
  std::string import_rows(const std::string& table, std::string_view csv, size_t& rows);

  DbConfig config_;
  NumberPlan plan_;
  std::mutex mutex_;
  std::unique_ptr<sql::Connection> conn_;
  std::vector<std::unique_ptr<sql::Connection>> readers_;
};

}  // namespace tandem::rules
