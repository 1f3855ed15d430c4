#include "rules/store.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include "rules/snapshot.h"

#include <charconv>
#include <cstdio>
#include <optional>
#include <map>

namespace tandem::rules {

namespace {

constexpr const char* kActionEnum = "ENUM('voicemail','forward','ring','menu','reject')";
constexpr const char* kTableOptions = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

// The tables whose changes bump config_version.
constexpr const char* kVersionedTables[] = {"customers", "numbers",  "rules",     "rule_dates",
                                            "menus",     "menu_options", "providers", "rates"};

struct Migration {
  int version;
  std::string description;
  std::vector<std::string> statements;
};

std::string table(const std::string& name, const std::string& body) {
  return "CREATE TABLE " + name + " (\n" + body + "\n) " + kTableOptions;
}

std::vector<std::string> migration_1() {
  const std::string action = kActionEnum;
  std::vector<std::string> s = {
      table("customers", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(128) NOT NULL,
  time_zone VARCHAR(64) NOT NULL COMMENT 'IANA name: Europe/Berlin',
  vm_sip VARCHAR(255) NOT NULL COMMENT 'the PBX VM: sip:pbx@vm1.example.net',
  default_action )sql" + action + R"sql( NOT NULL DEFAULT 'voicemail' COMMENT 'when no rule matches',
  default_target VARCHAR(1024) NOT NULL DEFAULT '' COMMENT 'see rules.target',
  PRIMARY KEY (id),
  UNIQUE KEY name (name))sql"),
      table("numbers", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  e164 VARCHAR(16) NOT NULL COMMENT '+4930123456',
  customer_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY e164 (e164),
  CONSTRAINT numbers_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE)sql"),
      table("menus", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  customer_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(128) NOT NULL,
  prompt VARCHAR(255) NOT NULL COMMENT 'announcement file or URI',
  timeout_s SMALLINT UNSIGNED NOT NULL DEFAULT 10,
  timeout_action )sql" + action + R"sql( NOT NULL DEFAULT 'voicemail',
  timeout_target VARCHAR(1024) NOT NULL DEFAULT '',
  invalid_action )sql" + action + R"sql( NOT NULL DEFAULT 'voicemail',
  invalid_target VARCHAR(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  CONSTRAINT menus_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE)sql"),
      table("menu_options", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  menu_id BIGINT UNSIGNED NOT NULL,
  digit CHAR(1) NOT NULL COMMENT '0-9, *, #',
  action )sql" + action + R"sql( NOT NULL,
  target VARCHAR(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY menu_digit (menu_id, digit),
  CONSTRAINT menu_options_menu FOREIGN KEY (menu_id) REFERENCES menus (id) ON DELETE CASCADE)sql"),
      table("rules", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  number_id BIGINT UNSIGNED NOT NULL,
  priority INT NOT NULL DEFAULT 100 COMMENT 'lower first; equal: lower id first',
  caller_match ENUM('any','exact','prefix','anonymous') NOT NULL DEFAULT 'any',
  caller_pattern VARCHAR(32) NOT NULL DEFAULT '' COMMENT 'exact: number; prefix: leading digits',
  days SET('mon','tue','wed','thu','fri','sat','sun') NOT NULL DEFAULT 'mon,tue,wed,thu,fri,sat,sun',
  time_from TIME NULL COMMENT 'customer local time; NULL with time_to: all day',
  time_to TIME NULL COMMENT 'exclusive, up to 24:00:00; before time_from: wraps midnight',
  action )sql" + action + R"sql( NOT NULL,
  target VARCHAR(1024) NOT NULL DEFAULT '' COMMENT 'forward: number; ring: T/SECS,...; menu: id; reject: SIP code',
  description VARCHAR(255) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY number_priority (number_id, priority),
  CONSTRAINT rules_number FOREIGN KEY (number_id) REFERENCES numbers (id) ON DELETE CASCADE,
  CONSTRAINT rules_window CHECK ((time_from IS NULL) = (time_to IS NULL)))sql"),
      table("rule_dates", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  rule_id BIGINT UNSIGNED NOT NULL,
  date_from DATE NOT NULL COMMENT 'customer local date, inclusive',
  date_to DATE NOT NULL COMMENT 'inclusive',
  PRIMARY KEY (id),
  CONSTRAINT rule_dates_rule FOREIGN KEY (rule_id) REFERENCES rules (id) ON DELETE CASCADE)sql"),
      table("providers", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(64) NOT NULL,
  sip_address VARCHAR(255) NOT NULL,
  max_calls INT UNSIGNED NOT NULL DEFAULT 0 COMMENT '0: no limit',
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  preference INT NOT NULL DEFAULT 0 COMMENT 'lower first among equal costs',
  PRIMARY KEY (id),
  UNIQUE KEY name (name))sql"),
      table("rates", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  provider_id BIGINT UNSIGNED NOT NULL,
  prefix VARCHAR(15) NOT NULL COMMENT 'digits without +',
  cost_per_min DECIMAL(12,6) NOT NULL,
  billing_increment_s INT UNSIGNED NOT NULL DEFAULT 60,
  valid_from DATETIME NULL COMMENT 'UTC, inclusive; NULL: always',
  valid_to DATETIME NULL COMMENT 'UTC, exclusive; NULL: forever',
  PRIMARY KEY (id),
  KEY prefix (prefix),
  CONSTRAINT rates_provider FOREIGN KEY (provider_id) REFERENCES providers (id) ON DELETE CASCADE)sql"),
      table("config_version", R"sql(  server_id INT UNSIGNED NOT NULL COMMENT '@@server_id of the server where the change was made',
  version BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (server_id))sql"),
  };
  for (const char* t : kVersionedTables) {
    for (auto [ev, EV] : {std::pair{"insert", "INSERT"}, {"update", "UPDATE"}, {"delete", "DELETE"}}) {
      s.push_back(std::string("CREATE TRIGGER ") + t + "_" + ev + " AFTER " + EV + " ON " + t +
                  " FOR EACH ROW\n  INSERT INTO config_version (server_id, version) VALUES "
                  "(@@server_id, 1)\n  ON DUPLICATE KEY UPDATE version = version + 1");
    }
  }
  return s;
}

// Append only: a released migration never changes.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = {
      {1, "customers, numbers, rules, menus, providers, rates, config_version", migration_1()},
  };
  return list;
}

constexpr const char* kSchemaVersionTable = R"sql(CREATE TABLE IF NOT EXISTS schema_version (
  version INT UNSIGNED NOT NULL,
  description VARCHAR(255) NOT NULL,
  applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin)sql";

std::unique_ptr<sql::ResultSet> query(sql::Connection& c, const std::string& q) {
  std::unique_ptr<sql::Statement> st(c.createStatement());
  return std::unique_ptr<sql::ResultSet>(st->executeQuery(q));
}

template <typename T>
bool parse_num(std::string_view s, T& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// "HH:MM:SS" (TIME, 00:00:00..24:00:00) -> seconds.
bool parse_time(std::string_view s, uint32_t& out) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
  uint32_t h = 0, m = 0, sec = 0;
  if (!parse_num(s.substr(0, 2), h) || !parse_num(s.substr(3, 2), m) ||
      !parse_num(s.substr(6, 2), sec) || m > 59 || sec > 59) {
    return false;
  }
  out = h * 3600 + m * 60 + sec;
  return out <= 24 * 3600;
}

bool parse_date(std::string_view s, Date& out) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int32_t y = 0;
  unsigned m = 0, d = 0;
  if (!parse_num(s.substr(0, 4), y) || !parse_num(s.substr(5, 2), m) ||
      !parse_num(s.substr(8, 2), d)) {
    return false;
  }
  out = Date{y, static_cast<uint8_t>(m), static_cast<uint8_t>(d)};
  return true;
}

// "YYYY-MM-DD HH:MM:SS" in UTC (the session's time_zone is +00:00).
bool parse_datetime(std::string_view s, UtcSeconds& out) {
  Date d;
  uint32_t tod = 0;
  if (s.size() < 19 || s[10] != ' ' || !parse_date(s.substr(0, 10), d) ||
      !parse_time(s.substr(11, 8), tod)) {
    return false;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{d.year}, std::chrono::month{d.month},
                                        std::chrono::day{d.day}};
  if (!ymd.ok()) return false;
  out = std::chrono::sys_days{ymd} + std::chrono::seconds{tod};
  return true;
}

// "12.345600" (DECIMAL(12,6)) -> millionths.
bool parse_micros(std::string_view s, int64_t& out) {
  bool neg = false;
  if (!s.empty() && s[0] == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  const auto dot = s.find('.');
  int64_t whole = 0, frac = 0;
  if (!parse_num(s.substr(0, dot), whole)) return false;
  if (dot != std::string_view::npos) {
    std::string f(s.substr(dot + 1));
    if (f.size() > 6) return false;
    f.resize(6, '0');
    if (!parse_num(std::string_view(f), frac)) return false;
  }
  out = (whole * 1000000 + frac) * (neg ? -1 : 1);
  return true;
}

// Reads one result set's columns by name, and remembers the first bad one.
class Row {
 public:
  Row(sql::ResultSet& rs, const char* table, std::string& error)
      : rs_(rs), table_(table), error_(error) {}
  Id id() { return rs_.getUInt64("id"); }
  std::string str(const char* col) { return std::string(rs_.getString(col)); }
  bool null(const char* col) { return rs_.isNull(col); }
  template <typename T>
  T num(const char* col) {
    T v{};
    const std::string s = str(col);
    if (!parse_num(std::string_view(s), v)) fail(col, "\"" + s + "\" is not a number");
    return v;
  }
  bool fail(const char* col, const std::string& why) {
    if (error_.empty()) {
      error_ = std::string(table_) + " id " + std::to_string(id()) + " column " + col + ": " + why;
    }
    return false;
  }
  Action action(const char* kind_col, const char* target_col, const NumberPlan& plan) {
    Action a;
    std::string e;
    if (!parse_action(str(kind_col), str(target_col), plan, a, e)) fail(target_col, e);
    return a;
  }

 private:
  sql::ResultSet& rs_;
  const char* table_;
  std::string& error_;
};

const char* kVersionQuery = "SELECT CAST(COALESCE(SUM(version), 0) AS UNSIGNED) FROM config_version";

}  // namespace

int latest_schema_version() { return migrations().back().version; }

std::string schema_sql() {
  std::string out = std::string(kSchemaVersionTable) + ";\n";
  for (const auto& m : migrations()) {
    out += "\n-- migration " + std::to_string(m.version) + ": " + m.description + "\n";
    for (const auto& s : m.statements) out += "\n" + s + ";\n";
  }
  return out;
}

Store::Store(DbConfig config, NumberPlan plan)
    : config_(std::move(config)), plan_(std::move(plan)) {}

Store::~Store() { disconnect(); }

void Store::disconnect() {
  try {
    if (conn_) conn_->close();
  } catch (const sql::SQLException&) {
  }
  conn_.reset();
}

bool Store::connect(bool use_database, std::string& error) {
  if (conn_) {
    if (use_database) {
      try {
        conn_->setSchema(config_.database);
        return true;
      } catch (const sql::SQLException& ex) {
        error = "Rules DB " + config_.database + ": " + mysql::error_text(ex);
        disconnect();
        return false;
      }
    }
    return true;
  }
  std::string errors;
  auto c = mysql::connect(config_, use_database, errors);
  if (!c) {
    error = "Rules DB unreachable: " + errors;
    return false;
  }
  try {
    mysql::execute(*c, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: " + mysql::error_text(ex);
    return false;
  }
  conn_ = std::move(c);
  return true;
}

bool Store::migrate(MigrateResult& result, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!connect(false, error)) return false;
  const std::string release = "DO RELEASE_LOCK('tandem_rules_migrate')";
  try {
    mysql::execute(*conn_, "CREATE DATABASE IF NOT EXISTS `" + config_.database +
                        "` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    conn_->setSchema(config_.database);
    {
      auto rs = query(*conn_, "SELECT GET_LOCK('tandem_rules_migrate', 30)");
      if (!rs->next() || rs->getInt(1) != 1) {
        error = "another migration holds the lock tandem_rules_migrate";
        return false;
      }
    }
    mysql::execute(*conn_, kSchemaVersionTable);
    int current = 0;
    {
      auto rs = query(*conn_, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
      if (rs->next()) current = rs->getInt(1);
    }
    result.from = current;
    if (current > latest_schema_version()) {
      error = "the Rules DB has schema version " + std::to_string(current) +
              ", newer than this build knows (" + std::to_string(latest_schema_version()) + ")";
      mysql::execute(*conn_, release);
      return false;
    }
    for (const auto& m : migrations()) {
      if (m.version <= current) continue;
      // DDL commits by itself in MariaDB: each migration is recorded right after it.
      for (const auto& s : m.statements) mysql::execute(*conn_, s);
      std::unique_ptr<sql::PreparedStatement> st(conn_->prepareStatement(
          "INSERT INTO schema_version (version, description) VALUES (?, ?)"));
      st->setInt(1, m.version);
      st->setString(2, m.description);
      st->executeUpdate();
      current = m.version;
    }
    result.to = current;
    mysql::execute(*conn_, release);
    return true;
  } catch (const sql::SQLException& ex) {
    error = "migrate: " + mysql::error_text(ex);
    disconnect();
    return false;
  }
}

bool Store::schema_version(int& version, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!connect(true, error)) return false;
  try {
    auto rs = query(*conn_,
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
                    " AND table_name = 'schema_version'");
    version = 0;
    if (!rs->next() || rs->getInt(1) == 0) return true;
    rs = query(*conn_, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (rs->next()) version = rs->getInt(1);
    return true;
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: " + mysql::error_text(ex);
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
    error = "Rules DB: config_version: " + mysql::error_text(ex);
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
    error = "Rules DB: " + mysql::error_text(ex);
    disconnect();
    return false;
  }
}

bool Store::load(RulesData& out, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!connect(true, error)) return false;
  RulesData d;
  std::string bad;  // the first row that does not parse
  try {
    mysql::execute(*conn_, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    read_all(d, bad);
    mysql::execute(*conn_, "COMMIT");
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: load: " + mysql::error_text(ex);
    disconnect();
    return false;
  }
  if (!bad.empty()) {
    error = "Rules DB: " + bad;
    return false;
  }
  out = std::move(d);
  return true;
}

void Store::read_all(RulesData& d, std::string& bad) {
  {
    auto rs = query(*conn_, kVersionQuery);
    d.version = rs->next() ? rs->getUInt64(1) : 0;
  }
  {
    auto rs = query(*conn_,
                    "SELECT id, name, time_zone, vm_sip, default_action, default_target "
                    "FROM customers ORDER BY id");
    while (rs->next()) {
      Row r(*rs, "customers", bad);
      Customer c;
      c.id = r.id();
      c.name = r.str("name");
      c.time_zone = r.str("time_zone");
      c.vm_sip = r.str("vm_sip");
      c.default_action = r.action("default_action", "default_target", plan_);
      d.customers.push_back(std::move(c));
    }
  }
  {
    auto rs = query(*conn_, "SELECT id, e164, customer_id FROM numbers ORDER BY id");
    while (rs->next()) {
      Number n;
      n.id = rs->getUInt64("id");
      n.e164 = std::string(rs->getString("e164"));
      n.customer_id = rs->getUInt64("customer_id");
      d.numbers.push_back(std::move(n));
    }
  }
  std::map<Id, size_t> rule_index;
  {
    auto rs = query(*conn_,
                    "SELECT id, number_id, priority, caller_match, caller_pattern, days, "
                    "time_from, time_to, action, target, description FROM rules ORDER BY id");
    while (rs->next()) {
      Row r(*rs, "rules", bad);
      Rule x;
      x.id = r.id();
      x.number_id = rs->getUInt64("number_id");
      x.priority = rs->getInt("priority");
      const std::string cm = r.str("caller_match");
      if (auto m = parse_caller_match(cm)) {
        x.caller_match = *m;
      } else {
        r.fail("caller_match", "unknown \"" + cm + "\"");
      }
      x.caller_pattern = r.str("caller_pattern");
      if (!parse_days(r.str("days"), x.days)) r.fail("days", "unknown day in \"" + r.str("days") + "\"");
      if (!r.null("time_from") && !r.null("time_to")) {
        TimeWindow w;
        if (!parse_time(r.str("time_from"), w.from_s)) {
          r.fail("time_from", "\"" + r.str("time_from") + "\" is not 00:00:00-24:00:00");
        }
        if (!parse_time(r.str("time_to"), w.to_s)) {
          r.fail("time_to", "\"" + r.str("time_to") + "\" is not 00:00:00-24:00:00");
        }
        x.window = w;
      } else if (!r.null("time_from") || !r.null("time_to")) {
        r.fail("time_from", "time_from and time_to must both be set or both NULL");
      }
      x.action = r.action("action", "target", plan_);
      x.description = r.str("description");
      rule_index[x.id] = d.rules.size();
      d.rules.push_back(std::move(x));
    }
  }
  {
    auto rs = query(*conn_, "SELECT id, rule_id, date_from, date_to FROM rule_dates ORDER BY id");
    while (rs->next()) {
      Row r(*rs, "rule_dates", bad);
      DateRange dr;
      if (!parse_date(r.str("date_from"), dr.from)) r.fail("date_from", "not a date");
      if (!parse_date(r.str("date_to"), dr.to)) r.fail("date_to", "not a date");
      auto it = rule_index.find(rs->getUInt64("rule_id"));
      if (it == rule_index.end()) {
        r.fail("rule_id", "no such rule");
      } else {
        d.rules[it->second].dates.push_back(dr);
      }
    }
  }
  std::map<Id, size_t> menu_index;
  {
    auto rs = query(*conn_,
                    "SELECT id, customer_id, name, prompt, timeout_s, timeout_action, "
                    "timeout_target, invalid_action, invalid_target FROM menus ORDER BY id");
    while (rs->next()) {
      Row r(*rs, "menus", bad);
      Menu m;
      m.id = r.id();
      m.customer_id = rs->getUInt64("customer_id");
      m.name = r.str("name");
      m.prompt = r.str("prompt");
      m.timeout_s = r.num<uint16_t>("timeout_s");
      m.timeout_action = r.action("timeout_action", "timeout_target", plan_);
      m.invalid_action = r.action("invalid_action", "invalid_target", plan_);
      menu_index[m.id] = d.menus.size();
      d.menus.push_back(std::move(m));
    }
  }
  {
    auto rs = query(*conn_,
                    "SELECT id, menu_id, digit, action, target FROM menu_options ORDER BY menu_id, digit");
    while (rs->next()) {
      Row r(*rs, "menu_options", bad);
      MenuOption o;
      const std::string digit = r.str("digit");
      if (digit.size() != 1) r.fail("digit", "\"" + digit + "\" is not one character");
      o.digit = digit.empty() ? '?' : digit[0];
      o.action = r.action("action", "target", plan_);
      auto it = menu_index.find(rs->getUInt64("menu_id"));
      if (it == menu_index.end()) {
        r.fail("menu_id", "no such menu");
      } else {
        d.menus[it->second].options.push_back(std::move(o));
      }
    }
  }
  {
    auto rs = query(*conn_,
                    "SELECT id, name, sip_address, max_calls, enabled, preference FROM providers "
                    "ORDER BY id");
    while (rs->next()) {
      Provider p;
      p.id = rs->getUInt64("id");
      p.name = std::string(rs->getString("name"));
      p.sip_address = std::string(rs->getString("sip_address"));
      p.max_calls = rs->getUInt("max_calls");
      p.enabled = rs->getBoolean("enabled");
      p.preference = rs->getInt("preference");
      d.providers.push_back(std::move(p));
    }
  }
  {
    auto rs = query(*conn_,
                    "SELECT id, provider_id, prefix, cost_per_min, billing_increment_s, "
                    "valid_from, valid_to FROM rates ORDER BY id");
    while (rs->next()) {
      Row r(*rs, "rates", bad);
      Rate x;
      x.id = r.id();
      x.provider_id = rs->getUInt64("provider_id");
      x.prefix = r.str("prefix");
      const std::string cost = r.str("cost_per_min");
      if (!parse_micros(cost, x.cost_micros)) r.fail("cost_per_min", "\"" + cost + "\"");
      x.increment_s = rs->getUInt("billing_increment_s");
      for (auto [col, dst] : {std::pair{"valid_from", &x.valid_from}, {"valid_to", &x.valid_to}}) {
        if (r.null(col)) continue;
        UtcSeconds t;
        if (parse_datetime(r.str(col), t)) {
          *dst = t;
        } else {
          r.fail(col, "\"" + r.str(col) + "\" is not a date and time");
        }
      }
      d.rates.push_back(std::move(x));
    }
  }
}

// ---- CSV import, export, delete ----

namespace {

enum class Type : uint8_t { text, integer, boolean, e164, time, datetime, decimal, days, digits, ref };

struct ColumnSpec {
  const char* name;
  Type type;
  bool nullable = false;
  // ref: the real column it fills, and the lookup `SELECT id FROM ref_table WHERE ref_key = ?`.
  const char* real = nullptr;
  const char* ref_table = nullptr;
  const char* ref_key = nullptr;
};

struct TableSpec {
  const char* name;
  std::vector<ColumnSpec> columns;                      // real and virtual, in export order
  std::vector<std::pair<const char*, const char*>> actions;  // (kind column, target column)
};

const std::vector<TableSpec>& table_specs() {
  static const std::vector<TableSpec> specs = {
      {"customers",
       {{"id", Type::integer}, {"name", Type::text}, {"time_zone", Type::text},
        {"vm_sip", Type::text}, {"default_action", Type::text}, {"default_target", Type::text}},
       {{"default_action", "default_target"}}},
      {"numbers",
       {{"id", Type::integer}, {"e164", Type::e164}, {"customer_id", Type::integer},
        {"customer", Type::ref, false, "customer_id", "customers", "name"}},
       {}},
      {"rules",
       {{"id", Type::integer}, {"number_id", Type::integer},
        {"number", Type::ref, false, "number_id", "numbers", "e164"}, {"priority", Type::integer},
        {"caller_match", Type::text}, {"caller_pattern", Type::text}, {"days", Type::days},
        {"time_from", Type::time, true}, {"time_to", Type::time, true}, {"action", Type::text},
        {"target", Type::text}, {"description", Type::text}, {"dates", Type::text}},
       {{"action", "target"}}},
      {"rule_dates",
       {{"id", Type::integer}, {"rule_id", Type::integer}, {"date_from", Type::text},
        {"date_to", Type::text}},
       {}},
      {"menus",
       {{"id", Type::integer}, {"customer_id", Type::integer},
        {"customer", Type::ref, false, "customer_id", "customers", "name"}, {"name", Type::text},
        {"prompt", Type::text}, {"timeout_s", Type::integer}, {"timeout_action", Type::text},
        {"timeout_target", Type::text}, {"invalid_action", Type::text},
        {"invalid_target", Type::text}},
       {{"timeout_action", "timeout_target"}, {"invalid_action", "invalid_target"}}},
      {"menu_options",
       {{"id", Type::integer}, {"menu_id", Type::integer}, {"digit", Type::text},
        {"action", Type::text}, {"target", Type::text}},
       {{"action", "target"}}},
      {"providers",
       {{"id", Type::integer}, {"name", Type::text}, {"sip_address", Type::text},
        {"max_calls", Type::integer}, {"enabled", Type::boolean}, {"preference", Type::integer}},
       {}},
      {"rates",
       {{"id", Type::integer}, {"provider_id", Type::integer},
        {"provider", Type::ref, false, "provider_id", "providers", "name"},
        {"prefix", Type::digits}, {"cost_per_min", Type::decimal},
        {"billing_increment_s", Type::integer}, {"valid_from", Type::datetime, true},
        {"valid_to", Type::datetime, true}},
       {}},
  };
  return specs;
}

const TableSpec* find_spec(const std::string& table) {
  for (const auto& t : table_specs()) {
    if (table == t.name) return &t;
  }
  return nullptr;
}

bool is_virtual(const TableSpec& t, const ColumnSpec& c) {
  return c.type == Type::ref || (std::string_view(t.name) == "rules" && std::string_view(c.name) == "dates");
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// "2026-12-24..2026-12-26;..." -> ranges.
bool parse_date_ranges(std::string_view s, std::vector<DateRange>& out) {
  size_t start = 0;
  while (start < s.size()) {
    auto semi = s.find(';', start);
    if (semi == std::string_view::npos) semi = s.size();
    const std::string_view item = s.substr(start, semi - start);
    const auto dots = item.find("..");
    DateRange r;
    if (dots == std::string_view::npos || !parse_date(item.substr(0, dots), r.from) ||
        !parse_date(item.substr(dots + 2), r.to)) {
      return false;
    }
    out.push_back(r);
    start = semi + 1;
  }
  return true;
}

}  // namespace

const std::vector<std::string>& table_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& t : table_specs()) n.push_back(t.name);
    return n;
  }();
  return names;
}

bool parse_csv(std::string_view in, std::vector<std::vector<std::string>>& records,
               std::vector<size_t>& lines, std::string& error) {
  size_t line = 1, i = 0;
  while (i < in.size()) {
    std::vector<std::string> fields;
    const size_t start_line = line;
    for (;;) {
      std::string f;
      if (i < in.size() && in[i] == '"') {
        ++i;
        for (;;) {
          if (i >= in.size()) {
            error = "line " + std::to_string(start_line) + ": unterminated quote";
            return false;
          }
          if (in[i] == '"') {
            if (i + 1 < in.size() && in[i + 1] == '"') {
              f += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (in[i] == '\n') ++line;
          f += in[i++];
        }
        if (i < in.size() && in[i] != ',' && in[i] != '\n' && in[i] != '\r') {
          error = "line " + std::to_string(line) + ": text after a closing quote";
          return false;
        }
      } else {
        while (i < in.size() && in[i] != ',' && in[i] != '\n' && in[i] != '\r') f += in[i++];
      }
      fields.push_back(std::move(f));
      if (i < in.size() && in[i] == ',') {
        ++i;
        continue;
      }
      if (i < in.size() && in[i] == '\r') ++i;
      if (i < in.size() && in[i] == '\n') {
        ++i;
        ++line;
      }
      break;
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    records.push_back(std::move(fields));
    lines.push_back(start_line);
  }
  return true;
}

std::vector<std::string> csv_columns(const std::string& table) {
  std::vector<std::string> out;
  if (const TableSpec* t = find_spec(table)) {
    for (const auto& c : t->columns) out.push_back(c.name);
  }
  return out;
}

bool Store::import_csv(const std::string& table, std::string_view csv, size_t& rows,
                       std::string& error) {
  std::lock_guard lock(mutex_);
  rows = 0;
  const TableSpec* spec = find_spec(table);
  if (!spec) {
    error = "no table " + table;
    return false;
  }
  std::vector<std::vector<std::string>> records;
  std::vector<size_t> lines;
  if (!parse_csv(csv, records, lines, error)) return false;
  if (records.empty()) {
    error = "line 1: no header row";
    return false;
  }
  const std::vector<std::string> header = records[0];
  std::vector<const ColumnSpec*> cols;
  for (size_t i = 0; i < header.size(); ++i) {
    const ColumnSpec* found = nullptr;
    for (const auto& c : spec->columns) {
      if (header[i] == c.name) found = &c;
    }
    if (!found) {
      error = "line " + std::to_string(lines[0]) + ", column " + std::to_string(i + 1) + ": " +
              table + " has no column \"" + header[i] + "\"";
      return false;
    }
    for (size_t j = 0; j < i; ++j) {
      if (cols[j] == found || (found->real && std::string_view(cols[j]->name) == found->real) ||
          (cols[j]->real && std::string_view(found->name) == cols[j]->real)) {
        error = "line " + std::to_string(lines[0]) + ": column \"" + header[i] + "\" given twice";
        return false;
      }
    }
    cols.push_back(found);
  }
  if (!connect(true, error)) return false;
  std::string failure;
  try {
    conn_->setAutoCommit(false);
    mysql::execute(*conn_, "START TRANSACTION");
    for (size_t r = 1; r < records.size() && failure.empty(); ++r) {
      const auto& rec = records[r];
      const std::string at = "line " + std::to_string(lines[r]);
      if (rec.size() != cols.size()) {
        failure = at + ": " + std::to_string(rec.size()) + " fields, the header has " +
                  std::to_string(cols.size());
        break;
      }
      std::string names, values;
      std::vector<std::optional<std::string>> binds;
      std::map<std::string, size_t> bind_of;  // column -> index in binds
      std::vector<DateRange> dates;
      auto bad = [&](const ColumnSpec& c, const std::string& why) {
        if (failure.empty()) failure = at + ", column " + c.name + ": " + why;
      };
      for (size_t i = 0; i < cols.size(); ++i) {
        const ColumnSpec& c = *cols[i];
        std::string v = rec[i];
        if (is_virtual(*spec, c) && c.type != Type::ref) {  // rules.dates
          if (!parse_date_ranges(v, dates)) bad(c, "\"" + v + "\" is not FROM..TO[;FROM..TO...]");
          continue;
        }
        const char* column = c.real ? c.real : c.name;
        names += std::string(names.empty() ? "" : ", ") + column;
        if (v.empty()) {
          values += std::string(values.empty() ? "" : ", ") + (c.nullable ? "NULL" : "DEFAULT");
          continue;
        }
        std::string e;
        switch (c.type) {
          case Type::text:
            break;
          case Type::integer: {
            int64_t n = 0;
            if (!parse_num(std::string_view(v), n)) bad(c, "\"" + v + "\" is not an integer");
            break;
          }
          case Type::boolean:
            if (v == "1" || v == "true" || v == "yes") {
              v = "1";
            } else if (v == "0" || v == "false" || v == "no") {
              v = "0";
            } else {
              bad(c, "\"" + v + "\" is not true/false");
            }
            break;
          case Type::e164: {
            std::string n;
            if (normalize_number(v, plan_, n, e)) {
              v = n;
            } else {
              bad(c, e);
            }
            break;
          }
          case Type::time: {
            uint32_t t = 0;
            if (!parse_time(v, t)) bad(c, "\"" + v + "\" is not HH:MM:SS (00:00:00-24:00:00)");
            break;
          }
          case Type::datetime: {
            UtcSeconds t;
            if (!parse_datetime(v, t)) bad(c, "\"" + v + "\" is not YYYY-MM-DD HH:MM:SS (UTC)");
            break;
          }
          case Type::decimal: {
            int64_t m = 0;
            if (!parse_micros(v, m) || m < 0) bad(c, "\"" + v + "\" is not a cost (up to 6 decimals)");
            break;
          }
          case Type::days: {
            DayMask d = 0;
            if (!parse_days(v, d) || d == 0) bad(c, "\"" + v + "\" is not a list of mon..sun");
            break;
          }
          case Type::digits: {
            uint64_t k = 0;
            if (v[0] == '+' || !digits_key(v, k)) bad(c, "\"" + v + "\" is not 1-15 digits");
            break;
          }
          case Type::ref: {
            std::string key = v;
            if (std::string_view(c.ref_table) == "numbers") {
              if (!normalize_number(v, plan_, key, e)) {
                bad(c, e);
                break;
              }
            }
            std::unique_ptr<sql::PreparedStatement> st(conn_->prepareStatement(
                std::string("SELECT id FROM ") + c.ref_table + " WHERE " + c.ref_key + " = ?"));
            st->setString(1, key);
            std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
            if (!rs->next()) {
              bad(c, std::string("no ") + c.ref_table + " " + c.ref_key + " \"" + v + "\"");
            } else {
              v = std::to_string(rs->getUInt64(1));
            }
            break;
          }
        }
        values += std::string(values.empty() ? "" : ", ") + "?";
        bind_of[c.name] = binds.size();
        binds.push_back(v);
      }
      // Stored normalised: the caller pattern, and numbers in action targets.
      if (auto p = bind_of.find("caller_pattern"); p != bind_of.end()) {
        std::string match = "any";
        for (size_t i = 0; i < cols.size(); ++i) {
          if (std::string_view(cols[i]->name) == "caller_match") match = rec[i];
        }
        std::string n, e;
        if (match == "exact" && normalize_number(*binds[p->second], plan_, n, e)) binds[p->second] = n;
        if (match == "prefix" && normalize_prefix(*binds[p->second], plan_, n, e)) binds[p->second] = n;
      }
      // Action columns, as the loader will read them.
      for (const auto& [kind_col, target_col] : spec->actions) {
        std::string kind = "voicemail", target;
        bool given = false;
        for (size_t i = 0; i < cols.size(); ++i) {
          if (kind_col == std::string_view(cols[i]->name)) {
            kind = rec[i];
            given = true;
          }
          if (target_col == std::string_view(cols[i]->name)) target = rec[i];
        }
        Action a;
        std::string e;
        if ((given || !target.empty()) && !parse_action(kind, target, plan_, a, e)) {
          failure = failure.empty() ? at + ", column " + target_col + ": " + e : failure;
        } else if (auto t = bind_of.find(target_col); t != bind_of.end()) {
          binds[t->second] = format_target(a);
        }
      }
      if (!failure.empty()) break;
      try {
        std::unique_ptr<sql::PreparedStatement> st(conn_->prepareStatement(
            "INSERT INTO " + table + " (" + names + ") VALUES (" + values + ")"));
        for (size_t b = 0; b < binds.size(); ++b) st->setString(static_cast<unsigned>(b + 1), *binds[b]);
        st->executeUpdate();
        if (!dates.empty()) {
          const uint64_t rule_id = [&] {
            auto rs = query(*conn_, "SELECT LAST_INSERT_ID()");
            return rs->next() ? rs->getUInt64(1) : 0;
          }();
          for (const auto& d : dates) {
            std::unique_ptr<sql::PreparedStatement> ds(conn_->prepareStatement(
                "INSERT INTO rule_dates (rule_id, date_from, date_to) VALUES (?, ?, ?)"));
            char from[16], to[16];
            std::snprintf(from, sizeof from, "%04d-%02u-%02u", d.from.year, d.from.month, d.from.day);
            std::snprintf(to, sizeof to, "%04d-%02u-%02u", d.to.year, d.to.month, d.to.day);
            ds->setUInt64(1, rule_id);
            ds->setString(2, from);
            ds->setString(3, to);
            ds->executeUpdate();
          }
        }
      } catch (const sql::SQLException& ex) {
        failure = at + ": " + ex.what();
        break;
      }
      ++rows;
    }
    if (failure.empty()) {
      RulesData d;
      std::string bad;
      read_all(d, bad);
      std::vector<std::string> errors;
      if (!bad.empty()) {
        failure = "after the import: " + bad;
      } else if (!Snapshot::build(std::move(d), plan_, errors)) {
        failure = "after the import the rules would not validate:";
        for (const auto& x : errors) failure += "\n  " + x;
      }
    }
    if (failure.empty()) {
      conn_->commit();
    } else {
      conn_->rollback();
    }
    conn_->setAutoCommit(true);
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: import: " + mysql::error_text(ex);
    disconnect();
    rows = 0;
    return false;
  }
  if (!failure.empty()) {
    error = failure + " (nothing imported)";
    rows = 0;
    return false;
  }
  return true;
}

bool Store::export_csv(const std::string& table, std::string& csv, std::string& error) {
  std::lock_guard lock(mutex_);
  const TableSpec* spec = find_spec(table);
  if (!spec) {
    error = "no table " + table;
    return false;
  }
  if (!connect(true, error)) return false;
  std::vector<const ColumnSpec*> cols;
  std::string select;
  for (const auto& c : spec->columns) {
    if (is_virtual(*spec, c)) continue;
    cols.push_back(&c);
    select += std::string(select.empty() ? "" : ", ") + c.name;
  }
  try {
    auto rs = query(*conn_, "SELECT " + select + " FROM " + table + " ORDER BY id");
    csv.clear();
    for (size_t i = 0; i < cols.size(); ++i) csv += std::string(i ? "," : "") + cols[i]->name;
    csv += "\n";
    while (rs->next()) {
      for (size_t i = 0; i < cols.size(); ++i) {
        const unsigned idx = static_cast<unsigned>(i + 1);
        std::string v = rs->isNull(idx) ? "" : std::string(rs->getString(idx));
        csv += (i ? "," : "") + csv_field(v);
      }
      csv += "\n";
    }
    return true;
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: export: " + mysql::error_text(ex);
    disconnect();
    return false;
  }
}

bool Store::remove(const std::string& table, Id id, bool& found, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!find_spec(table)) {
    error = "no table " + table;
    return false;
  }
  if (!connect(true, error)) return false;
  try {
    std::unique_ptr<sql::PreparedStatement> st(
        conn_->prepareStatement("DELETE FROM " + table + " WHERE id = ?"));
    st->setUInt64(1, id);
    found = st->executeUpdate() > 0;
    return true;
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: delete: " + mysql::error_text(ex);
    disconnect();
    return false;
  }
}

}  // namespace tandem::rules
