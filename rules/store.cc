#include "rules/store.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include "rules/schema.h"
#include "rules/snapshot.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <iterator>
#include <map>
#include <thread>

namespace tandem::rules {

namespace {

using db::query;

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

// A query whose rows are streamed as they arrive (mysql_use_result): the
// client parses while the server still sends, and no second copy of a table
// sits in the client library. The statement lives as long as its rows.
class Rows {
 public:
  Rows(sql::Connection& c, const std::string& q) : st_(c.createStatement()) {
    st_->setResultSetType(sql::ResultSet::TYPE_FORWARD_ONLY);
    rs_.reset(st_->executeQuery(q));
  }
  bool next() { return rs_->next(); }
  sql::ResultSet& rs() { return *rs_; }

 private:
  std::unique_ptr<sql::Statement> st_;
  std::unique_ptr<sql::ResultSet> rs_;
};

// The columns of a SELECT: the SQL and the name errors give.
struct Column {
  const char* sql;
  const char* name;
};

template <size_t N>
std::string select(const Column (&cols)[N], const char* rest) {
  std::string q = "SELECT ";
  for (size_t i = 0; i < N; ++i) q += std::string(i ? ", " : "") + cols[i].sql;
  return q + " " + rest;
}

// Reads one row's columns by index (1-based, the SELECT's order; column 1 is
// the id), and remembers the first that does not parse:
// "TABLE id N column NAME: why".
class Row {
 public:
  Row(sql::ResultSet& rs, const char* table, const Column* cols, std::string& error)
      : rs_(rs), table_(table), cols_(cols), error_(error) {}
  Id id() { return rs_.getUInt64(1); }
  Id u64(unsigned i) { return rs_.getUInt64(i); }
  std::string str(unsigned i) { return rs_.getString(i); }
  bool null(unsigned i) { return rs_.isNull(i); }
  template <typename T>
  T num(unsigned i) {
    T v{};
    const std::string s = str(i);
    if (!parse_num(std::string_view(s), v)) fail(i, "\"" + s + "\" is not a number");
    return v;
  }
  bool fail(unsigned i, const std::string& why) {
    if (error_.empty()) {
      error_ = std::string(table_) + " id " + std::to_string(id()) + " column " + cols_[i - 1].name + ": " + why;
    }
    return false;
  }
  Action action(unsigned kind, unsigned target, const NumberPlan& plan) {
    Action a;
    std::string e;
    if (!parse_action(str(kind), str(target), plan, a, e)) fail(target, e);
    return a;
  }

 private:
  sql::ResultSet& rs_;
  const char* table_;
  const Column* cols_;
  std::string& error_;
};

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

bool Store::connect(bool use_database, std::string& error) {
  if (conn_) {
    if (use_database) {
      try {
        conn_->setSchema(config_.database);
        return true;
      } catch (const sql::SQLException& ex) {
        error = "Rules DB " + config_.database + ": " + db::error_text(ex);
        disconnect();
        return false;
      }
    }
    return true;
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

// ---- Loading: every table, in one consistent snapshot ----

namespace {

// The config_version rows ("server:version ..."), which tell whether two
// transactions see the same rules (every change bumps a row), and their sum.
std::string version_rows(sql::Connection& c, uint64_t& sum) {
  Rows rows(c, "SELECT server_id, version FROM config_version ORDER BY server_id");
  std::string out;
  sum = 0;
  while (rows.next()) {
    const uint64_t v = rows.rs().getUInt64(2);
    out += std::to_string(rows.rs().getUInt64(1)) + ":" + std::to_string(v) + " ";
    sum += v;
  }
  return out;
}

void read_customers(sql::Connection& c, const NumberPlan& plan, std::vector<Customer>& out, std::string& bad) {
  static constexpr Column cols[] = {{"id", "id"},         {"name", "name"},
                                    {"time_zone", "time_zone"}, {"vm_sip", "vm_sip"},
                                    {"default_action", "default_action"}, {"default_target", "default_target"}};
  Rows rows(c, select(cols, "FROM customers ORDER BY id"));
  while (rows.next()) {
    Row r(rows.rs(), "customers", cols, bad);
    Customer x;
    x.id = r.id();
    x.name = r.str(2);
    x.time_zone = r.str(3);
    x.vm_sip = r.str(4);
    x.default_action = r.action(5, 6, plan);
    out.push_back(std::move(x));
  }
}

void read_numbers(sql::Connection& c, std::vector<Number>& out) {
  Rows rows(c, "SELECT id, e164, customer_id FROM numbers ORDER BY id");
  sql::ResultSet& rs = rows.rs();
  while (rows.next()) out.push_back(Number{rs.getUInt64(1), rs.getString(2), rs.getUInt64(3)});
}

// `days + 0`: the SET as its bit mask, bit 0 = 'mon' ... bit 6 = 'sun' (the
// SET's order in schema.sql), which is DayMask.
void read_rules(sql::Connection& c, const NumberPlan& plan, std::vector<Rule>& out, std::string& bad,
                const std::string& where = "") {
  static constexpr Column cols[] = {
      {"id", "id"},           {"number_id", "number_id"}, {"priority", "priority"},
      {"caller_match", "caller_match"}, {"caller_pattern", "caller_pattern"}, {"days + 0", "days"},
      {"time_from", "time_from"}, {"time_to", "time_to"}, {"action", "action"},
      {"target", "target"},   {"description", "description"}};
  Rows rows(c, select(cols, ("FROM rules " + where + " ORDER BY id").c_str()));
  sql::ResultSet& rs = rows.rs();
  while (rows.next()) {
    Row r(rs, "rules", cols, bad);
    Rule x;
    x.id = r.id();
    x.number_id = r.u64(2);
    x.priority = rs.getInt(3);
    const std::string cm = r.str(4);
    if (auto m = parse_caller_match(cm)) {
      x.caller_match = *m;
    } else {
      r.fail(4, "unknown \"" + cm + "\"");
    }
    x.caller_pattern = r.str(5);
    x.days = static_cast<DayMask>(rs.getUInt(6) & kAllDays);
    const bool from_null = r.null(7), to_null = r.null(8);
    if (!from_null && !to_null) {
      TimeWindow w;
      const std::string from = r.str(7), to = r.str(8);
      if (!parse_time(from, w.from_s)) r.fail(7, "\"" + from + "\" is not 00:00:00-24:00:00");
      if (!parse_time(to, w.to_s)) r.fail(8, "\"" + to + "\" is not 00:00:00-24:00:00");
      x.window = w;
    } else if (!from_null || !to_null) {
      r.fail(7, "time_from and time_to must both be set or both NULL");
    }
    x.action = r.action(9, 10, plan);
    x.description = r.str(11);
    out.push_back(std::move(x));
  }
}

struct RuleDate {
  Id rule_id;
  Id id;
  DateRange range;
};

void read_rule_dates(sql::Connection& c, std::vector<RuleDate>& out, std::string& bad) {
  static constexpr Column cols[] = {{"id", "id"}, {"rule_id", "rule_id"}, {"date_from", "date_from"},
                                    {"date_to", "date_to"}};
  Rows rows(c, select(cols, "FROM rule_dates ORDER BY id"));
  while (rows.next()) {
    Row r(rows.rs(), "rule_dates", cols, bad);
    RuleDate x{r.u64(2), r.id(), {}};
    if (!parse_date(r.str(3), x.range.from)) r.fail(3, "not a date");
    if (!parse_date(r.str(4), x.range.to)) r.fail(4, "not a date");
    out.push_back(x);
  }
}

// Dates to their rules (both by id): a merge, not a lookup per date.
void attach_dates(std::vector<Rule>& rules, std::vector<RuleDate>& dates, std::string& bad) {
  std::stable_sort(dates.begin(), dates.end(),
                   [](const RuleDate& a, const RuleDate& b) { return a.rule_id < b.rule_id; });
  size_t r = 0;
  for (const RuleDate& x : dates) {
    while (r < rules.size() && rules[r].id < x.rule_id) ++r;
    if (r == rules.size() || rules[r].id != x.rule_id) {
      if (bad.empty()) bad = "rule_dates id " + std::to_string(x.id) + " column rule_id: no such rule";
      continue;
    }
    rules[r].dates.push_back(x.range);
  }
}

void read_menus(sql::Connection& c, const NumberPlan& plan, std::vector<Menu>& out, std::string& bad) {
  static constexpr Column cols[] = {{"id", "id"},
                                    {"customer_id", "customer_id"},
                                    {"name", "name"},
                                    {"prompt", "prompt"},
                                    {"timeout_s", "timeout_s"},
                                    {"timeout_action", "timeout_action"},
                                    {"timeout_target", "timeout_target"},
                                    {"invalid_action", "invalid_action"},
                                    {"invalid_target", "invalid_target"}};
  absl::flat_hash_map<Id, size_t> index;
  {
    Rows rows(c, select(cols, "FROM menus ORDER BY id"));
    while (rows.next()) {
      Row r(rows.rs(), "menus", cols, bad);
      Menu m;
      m.id = r.id();
      m.customer_id = r.u64(2);
      m.name = r.str(3);
      m.prompt = r.str(4);
      m.timeout_s = r.num<uint16_t>(5);
      m.timeout_action = r.action(6, 7, plan);
      m.invalid_action = r.action(8, 9, plan);
      index[m.id] = out.size();
      out.push_back(std::move(m));
    }
  }
  static constexpr Column option_cols[] = {
      {"id", "id"}, {"menu_id", "menu_id"}, {"digit", "digit"}, {"action", "action"}, {"target", "target"}};
  Rows rows(c, select(option_cols, "FROM menu_options ORDER BY menu_id, digit"));
  while (rows.next()) {
    Row r(rows.rs(), "menu_options", option_cols, bad);
    MenuOption o;
    const std::string digit = r.str(3);
    if (digit.size() != 1) r.fail(3, "\"" + digit + "\" is not one character");
    o.digit = digit.empty() ? '?' : digit[0];
    o.action = r.action(4, 5, plan);
    auto it = index.find(r.u64(2));
    if (it == index.end()) {
      r.fail(2, "no such menu");
    } else {
      out[it->second].options.push_back(std::move(o));
    }
  }
}

void read_providers(sql::Connection& c, std::vector<Provider>& out) {
  Rows rows(c, "SELECT id, name, sip_address, max_calls, enabled, preference FROM providers ORDER BY id");
  sql::ResultSet& rs = rows.rs();
  while (rows.next()) {
    Provider p;
    p.id = rs.getUInt64(1);
    p.name = rs.getString(2);
    p.sip_address = rs.getString(3);
    p.max_calls = rs.getUInt(4);
    p.enabled = rs.getBoolean(5);
    p.preference = rs.getInt(6);
    out.push_back(std::move(p));
  }
}

void read_rates(sql::Connection& c, std::vector<Rate>& out, std::string& bad) {
  static constexpr Column cols[] = {{"id", "id"},
                                    {"provider_id", "provider_id"},
                                    {"prefix", "prefix"},
                                    {"cost_per_min", "cost_per_min"},
                                    {"billing_increment_s", "billing_increment_s"},
                                    {"valid_from", "valid_from"},
                                    {"valid_to", "valid_to"}};
  Rows rows(c, select(cols, "FROM rates ORDER BY id"));
  sql::ResultSet& rs = rows.rs();
  while (rows.next()) {
    Row r(rs, "rates", cols, bad);
    Rate x;
    x.id = r.id();
    x.provider_id = r.u64(2);
    x.prefix = r.str(3);
    const std::string cost = r.str(4);
    if (!parse_micros(cost, x.cost_micros)) r.fail(4, "\"" + cost + "\"");
    x.increment_s = rs.getUInt(5);
    for (auto [col, dst] : {std::pair{6u, &x.valid_from}, {7u, &x.valid_to}}) {
      if (r.null(col)) continue;
      UtcSeconds t;
      const std::string v = r.str(col);
      if (parse_datetime(v, t)) {
        *dst = t;
      } else {
        r.fail(col, "\"" + v + "\" is not a date and time");
      }
    }
    out.push_back(std::move(x));
  }
}

// What one connection reads of a load; `bad` per table, reported in table order.
struct Part {
  std::string customers, rules, rule_dates, menus, rates;  // the first bad row of each
  std::vector<RuleDate> dates;
  std::string failure;                                     // a DB error: nothing is usable
  std::string first_bad() const {
    for (const std::string* b : {&customers, &rules, &rule_dates, &menus, &rates}) {
      if (!b->empty()) return *b;
    }
    return {};
  }
};

// Everything but the rules (the largest table, read beside it), or everything.
void read_tables(sql::Connection& c, const NumberPlan& plan, bool with_rules, RulesData& d, Part& p) {
  read_customers(c, plan, d.customers, p.customers);
  read_numbers(c, d.numbers);
  if (with_rules) read_rules(c, plan, d.rules, p.rules);
  read_rule_dates(c, p.dates, p.rule_dates);
  read_menus(c, plan, d.menus, p.menus);
  read_providers(c, d.providers);
  read_rates(c, d.rates, p.rates);
}

constexpr const char* kSnapshot = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";

// Room for the rows InnoDB estimates each table has (+25 %): one allocation
// per table instead of a vector doubling, and moving millions of rows, as it
// grows. Space reserved and not used is never touched.
void reserve(sql::Connection& c, RulesData& d) {
  Rows rows(c, "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()");
  while (rows.next()) {
    const std::string table = rows.rs().getString(1);
    const size_t n = rows.rs().isNull(2) ? 0 : static_cast<size_t>(rows.rs().getUInt64(2) * 5 / 4);
    if (table == "numbers") d.numbers.reserve(n);
    if (table == "rules") d.rules.reserve(n);
    if (table == "rates") d.rates.reserve(n);
  }
}

}  // namespace

void Store::read_all(RulesData& d, std::string& bad) {
  Part p;
  reserve(*conn_, d);
  version_rows(*conn_, d.version);
  read_tables(*conn_, plan_, true, d, p);
  attach_dates(d.rules, p.dates, p.rule_dates);
  bad = p.first_bad();
}

bool Store::connect_readers(size_t n, std::string& error) {
  while (readers_.size() < n) {
    auto c = open_connection(true, error);
    if (!c) return false;
    readers_.push_back(std::move(c));
  }
  return true;
}

void Store::disconnect_readers() {
  for (auto& c : readers_) {
    try {
      c->close();
    } catch (const sql::SQLException&) {
    }
  }
  readers_.clear();
}

// The rules table (by far the largest) is read on config_.load_connections
// - 1 more connections, split by id range, while conn_ reads the others.
// Each connection is its own REPEATABLE READ transaction WITH CONSISTENT
// SNAPSHOT; they are used only if all see the same config_version rows,
// which every committed change to any rules table bumps (triggers): then no
// change committed between their snapshots and they all see the same rules.
// Else they are tried again, and after 3 tries (or without the connections)
// everything is read in one transaction on conn_.
bool Store::load(RulesData& out, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!connect(true, error)) return false;
  const size_t readers = config_.load_connections > 1 ? config_.load_connections - 1 : 0;
  RulesData d;
  Part main;
  std::string e;
  try {
    reserve(*conn_, d);
    bool paired = false;
    for (int attempt = 0; attempt < 3 && !paired && readers && connect_readers(readers, e); ++attempt) {
      db::execute(*conn_, kSnapshot);
      for (auto& c : readers_) db::execute(*c, kSnapshot);
      uint64_t sum = 0, other = 0;
      const std::string rows = version_rows(*conn_, sum);
      paired = true;
      for (auto& c : readers_) paired = paired && version_rows(*c, other) == rows;
      if (!paired) {
        for (auto& c : readers_) db::execute(*c, "COMMIT");
        db::execute(*conn_, "COMMIT");
        continue;
      }
      d.version = sum;
      // Id ranges of about equal size (ids come from AUTO_INCREMENT).
      uint64_t lo = 0, hi = 0;
      {
        Rows r(*conn_, "SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM rules");
        if (r.next()) {
          lo = r.rs().getUInt64(1);
          hi = r.rs().getUInt64(2);
        }
      }
      const uint64_t step = (hi - lo) / readers + 1;
      std::vector<std::vector<Rule>> parts(readers);
      std::vector<Part> sides(readers);
      parts[0] = std::move(d.rules);  // reserved for all
      for (size_t i = 1; i < readers; ++i) parts[i].reserve(parts[0].capacity() / readers);
      std::vector<std::thread> threads;
      for (size_t i = 0; i < readers; ++i) {
        std::string where;
        if (i > 0) where = "WHERE id >= " + std::to_string(lo + i * step);
        if (i + 1 < readers) where += (i > 0 ? " AND " : "WHERE ") + std::string("id < ") + std::to_string(lo + (i + 1) * step);
        threads.emplace_back([&, i, where] {
          try {
            read_rules(*readers_[i], plan_, parts[i], sides[i].rules, where);
            db::execute(*readers_[i], "COMMIT");
          } catch (const sql::SQLException& ex) {
            sides[i].failure = db::error_text(ex);
          } catch (const std::exception& ex) {
            sides[i].failure = ex.what();
          }
        });
      }
      try {
        read_tables(*conn_, plan_, false, d, main);
      } catch (...) {
        for (auto& t : threads) t.join();
        disconnect_readers();
        throw;
      }
      for (auto& t : threads) t.join();
      d.rules = std::move(parts[0]);
      for (size_t i = 0; i < readers; ++i) {
        if (!sides[i].failure.empty()) {
          disconnect_readers();
          db::execute(*conn_, "ROLLBACK");
          error = "Rules DB: load: " + sides[i].failure;
          return false;
        }
        if (main.rules.empty()) main.rules = std::move(sides[i].rules);
        if (i > 0) std::move(parts[i].begin(), parts[i].end(), std::back_inserter(d.rules));
      }
      db::execute(*conn_, "COMMIT");
    }
    if (!paired) {
      d = RulesData{};
      main = Part{};
      reserve(*conn_, d);
      db::execute(*conn_, kSnapshot);
      version_rows(*conn_, d.version);
      read_tables(*conn_, plan_, true, d, main);
      db::execute(*conn_, "COMMIT");
    }
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: load: " + db::error_text(ex);
    disconnect();
    disconnect_readers();
    return false;
  }
  attach_dates(d.rules, main.dates, main.rule_dates);
  const std::string bad = main.first_bad();
  if (!bad.empty()) {
    error = "Rules DB: " + bad;
    return false;
  }
  out = std::move(d);
  return true;
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

namespace {

// RFC 4180 records one at a time, with the line each starts on; blank lines
// are skipped.
class CsvReader {
 public:
  explicit CsvReader(std::string_view in) : in_(in) {}

  // False at the end, or on bad quoting (`error` set).
  bool next(std::vector<std::string>& fields, size_t& start_line, std::string& error) {
    while (i_ < in_.size()) {
      fields.clear();
      start_line = line_;
      for (;;) {
        std::string f;
        if (i_ < in_.size() && in_[i_] == '"') {
          ++i_;
          for (;;) {
            if (i_ >= in_.size()) {
              error = "line " + std::to_string(start_line) + ": unterminated quote";
              return false;
            }
            if (in_[i_] == '"') {
              if (i_ + 1 < in_.size() && in_[i_ + 1] == '"') {
                f += '"';
                i_ += 2;
                continue;
              }
              ++i_;
              break;
            }
            if (in_[i_] == '\n') ++line_;
            f += in_[i_++];
          }
          if (i_ < in_.size() && in_[i_] != ',' && in_[i_] != '\n' && in_[i_] != '\r') {
            error = "line " + std::to_string(line_) + ": text after a closing quote";
            return false;
          }
        } else {
          const size_t end = in_.find_first_of(",\r\n", i_);
          const size_t stop = end == std::string_view::npos ? in_.size() : end;
          f.assign(in_.substr(i_, stop - i_));
          i_ = stop;
        }
        fields.push_back(std::move(f));
        if (i_ < in_.size() && in_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < in_.size() && in_[i_] == '\r') ++i_;
        if (i_ < in_.size() && in_[i_] == '\n') {
          ++i_;
          ++line_;
        }
        break;
      }
      if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
      return true;
    }
    return false;
  }

 private:
  std::string_view in_;
  size_t i_ = 0;
  size_t line_ = 1;
};

std::string date_text(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::string placeholders(size_t rows, size_t columns) {
  std::string one = "(";
  for (size_t i = 0; i < columns; ++i) one += i ? ",?" : "?";
  one += ")";
  std::string all;
  all.reserve(rows * (one.size() + 1));
  for (size_t i = 0; i < rows; ++i) all += (i ? "," : "") + one;
  return all;
}

// One CSV record on its way into the table.
struct ImportRow {
  size_t line = 0;
  std::vector<std::optional<std::string>> binds;  // one per column the INSERT names; nullopt: NULL
  std::vector<DateRange> dates;                   // rules.dates
  struct Ref {
    size_t col;                                   // in the header
    std::string key;                              // the name or number looked up
    std::string text;                             // as the CSV has it
  };
  std::vector<Ref> refs;
  size_t error_col = SIZE_MAX;                    // the header index of the first error
  std::string error;                              // "line N[, column C]: why"
  bool row_error = false;                         // about the whole row (its field count)
  bool id_given = false;
};

// The import of one CSV into one table, in the caller's transaction.
class Importer {
 public:
  static constexpr size_t kBatch = 500;

  Importer(sql::Connection& c, const NumberPlan& plan, const std::string& table, const TableSpec& spec,
           std::vector<const ColumnSpec*> cols)
      : c_(c), plan_(plan), table_(table), spec_(spec), cols_(std::move(cols)) {
    bind_of_col_.assign(cols_.size(), SIZE_MAX);
    for (size_t i = 0; i < cols_.size(); ++i) {
      const ColumnSpec& col = *cols_[i];
      if (std::string_view(col.name) == "caller_match") caller_match_col_ = i;
      if (is_virtual(spec_, col) && col.type != Type::ref) {  // rules.dates
        dates_col_ = i;
        continue;
      }
      const char* real = col.real ? col.real : col.name;
      names_ += std::string(names_.empty() ? "" : ", ") + real;
      real_names_.push_back(real);
      if (std::string_view(real) == "id") id_bind_ = real_names_.size() - 1;
      bind_of_col_[i] = real_names_.size() - 1;
    }
    for (const auto& [kind_col, target_col] : spec_.actions) {
      ActionCols a{SIZE_MAX, SIZE_MAX, target_col};
      for (size_t i = 0; i < cols_.size(); ++i) {
        if (kind_col == std::string_view(cols_[i]->name)) a.kind = i;
        if (target_col == std::string_view(cols_[i]->name)) a.target = i;
      }
      actions_.push_back(a);
    }
  }

  // False with `failure` ("line N[, column C]: why") at the first bad record.
  bool run(CsvReader& reader, size_t& rows, std::string& failure) {
    read_defaults();
    if (dates_col_ != SIZE_MAX) {
      // Rules with dates and ids from AUTO_INCREMENT: the ids of a multi-row
      // INSERT are LAST_INSERT_ID() + k * auto_increment_increment when InnoDB
      // gives them in one go (innodb_autoinc_lock_mode 0 or 1, the default);
      // otherwise such rules go in one by one.
      auto rs = query(c_, "SELECT @@auto_increment_increment, @@innodb_autoinc_lock_mode");
      if (rs->next()) {
        id_increment_ = rs->getUInt64(1);
        consecutive_ids_ = rs->getInt(2) <= 1;
      }
    }
    std::vector<ImportRow> batch;
    std::vector<std::string> rec;
    std::string parse_error;
    for (bool more = true; more;) {
      size_t line = 0;
      more = reader.next(rec, line, parse_error);
      bool stop = !more;
      if (more) {
        batch.push_back(prepare(rec, line));
        stop = !batch.back().error.empty();  // nothing after it matters
      }
      if (batch.size() < kBatch && !stop && parse_error.empty()) continue;
      resolve_refs(batch);
      for (const ImportRow& r : batch) {
        if (!r.error.empty()) {
          failure = r.error;
          return false;
        }
      }
      if (!parse_error.empty()) {
        failure = parse_error;
        return false;
      }
      if (!flush(batch, failure)) return false;
      rows += batch.size();
      batch.clear();
      more = more && !stop;
    }
    return true;
  }

 private:
  struct ActionCols {
    size_t kind, target;
    const char* target_name;
  };
  struct PendingDate {
    uint64_t rule_id;
    DateRange range;
    size_t line;
  };

  // What an empty field stands for in a NOT NULL column: its default, from
  // the DB (nullopt: NULL, for nullable and AUTO_INCREMENT columns).
  void read_defaults() {
    std::unique_ptr<sql::PreparedStatement> st(c_.prepareStatement(
        "SELECT COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, EXTRA FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"));
    st->setString(1, table_);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    std::map<std::string, std::optional<std::string>> by_name;
    while (rs->next()) {
      std::optional<std::string> d;
      const bool nullable = std::string(rs->getString(3)) == "YES";
      const bool auto_increment = std::string(rs->getString(4)).find("auto_increment") != std::string::npos;
      if (!nullable && !auto_increment && !rs->isNull(2)) {
        // As SQL: 'text' (quotes doubled inside) or a number.
        std::string v = rs->getString(2);
        if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
          std::string u;
          for (size_t i = 1; i + 1 < v.size(); ++i) {
            if ((v[i] == '\'' || v[i] == '\\') && i + 2 < v.size()) ++i;
            u += v[i];
          }
          v = u;
        }
        d = v;
      }
      by_name[rs->getString(1)] = d;
    }
    defaults_.clear();
    for (const auto& n : real_names_) {
      auto it = by_name.find(n);
      defaults_.push_back(it == by_name.end() ? std::nullopt : it->second);
    }
  }

  // Checks and converts one record (references are looked up per batch).
  ImportRow prepare(const std::vector<std::string>& rec, size_t line) {
    ImportRow row;
    row.line = line;
    const std::string at = "line " + std::to_string(line);
    if (rec.size() != cols_.size()) {
      row.error = at + ": " + std::to_string(rec.size()) + " fields, the header has " +
                  std::to_string(cols_.size());
      row.error_col = 0;
      row.row_error = true;
      return row;
    }
    row.binds.assign(real_names_.size(), std::nullopt);
    auto bad = [&](size_t i, const std::string& why) {
      if (row.error.empty()) {
        row.error = at + ", column " + cols_[i]->name + ": " + why;
        row.error_col = i;
      }
    };
    for (size_t i = 0; i < cols_.size(); ++i) {
      const ColumnSpec& c = *cols_[i];
      std::string v = rec[i];
      if (i == dates_col_) {
        if (!parse_date_ranges(v, row.dates)) bad(i, "\"" + v + "\" is not FROM..TO[;FROM..TO...]");
        continue;
      }
      const size_t b = bind_of_col_[i];
      if (v.empty()) {
        row.binds[b] = defaults_[b];
        continue;
      }
      if (b == id_bind_) row.id_given = true;
      std::string e;
      switch (c.type) {
        case Type::text:
          break;
        case Type::integer: {
          int64_t n = 0;
          if (!parse_num(std::string_view(v), n)) bad(i, "\"" + v + "\" is not an integer");
          break;
        }
        case Type::boolean:
          if (v == "1" || v == "true" || v == "yes") {
            v = "1";
          } else if (v == "0" || v == "false" || v == "no") {
            v = "0";
          } else {
            bad(i, "\"" + v + "\" is not true/false");
          }
          break;
        case Type::e164: {
          std::string n;
          if (normalize_number(v, plan_, n, e)) {
            v = n;
          } else {
            bad(i, e);
          }
          break;
        }
        case Type::time: {
          uint32_t t = 0;
          if (!parse_time(v, t)) bad(i, "\"" + v + "\" is not HH:MM:SS (00:00:00-24:00:00)");
          break;
        }
        case Type::datetime: {
          UtcSeconds t;
          if (!parse_datetime(v, t)) bad(i, "\"" + v + "\" is not YYYY-MM-DD HH:MM:SS (UTC)");
          break;
        }
        case Type::decimal: {
          int64_t m = 0;
          if (!parse_micros(v, m) || m < 0) bad(i, "\"" + v + "\" is not a cost (up to 6 decimals)");
          break;
        }
        case Type::days: {
          DayMask d = 0;
          if (!parse_days(v, d) || d == 0) bad(i, "\"" + v + "\" is not a list of mon..sun");
          break;
        }
        case Type::digits: {
          uint64_t k = 0;
          if (v[0] == '+' || !digits_key(v, k)) bad(i, "\"" + v + "\" is not 1-15 digits");
          break;
        }
        case Type::ref: {
          std::string key = v;
          if (std::string_view(c.ref_table) == "numbers" && !normalize_number(v, plan_, key, e)) {
            bad(i, e);
            break;
          }
          row.refs.push_back({i, key, v});
          break;
        }
      }
      row.binds[b] = v;
    }
    // Stored normalised: the caller pattern, and numbers in action targets.
    for (size_t i = 0; i < cols_.size(); ++i) {
      if (std::string_view(cols_[i]->name) != "caller_pattern" || rec[i].empty()) continue;
      const std::string match = caller_match_col_ == SIZE_MAX ? "any" : rec[caller_match_col_];
      std::string n, e;
      auto& bind = row.binds[bind_of_col_[i]];
      if (match == "exact" && normalize_number(*bind, plan_, n, e)) bind = n;
      if (match == "prefix" && normalize_prefix(*bind, plan_, n, e)) bind = n;
    }
    for (const ActionCols& a : actions_) {
      const bool given = a.kind != SIZE_MAX;
      const std::string kind = given ? rec[a.kind] : "voicemail";
      const std::string target = a.target != SIZE_MAX ? rec[a.target] : "";
      Action act;
      std::string e;
      if ((given || !target.empty()) && !parse_action(kind, target, plan_, act, e)) {
        if (row.error.empty()) {
          row.error = at + ", column " + a.target_name + ": " + e;
          row.error_col = cols_.size();  // after the columns' own checks
        }
      } else if (a.target != SIZE_MAX && !target.empty()) {
        row.binds[bind_of_col_[a.target]] = format_target(act);
      }
    }
    return row;
  }

  // The batch's references, one query per referencing column; a missing one
  // is the row's error unless an earlier column already has one.
  void resolve_refs(std::vector<ImportRow>& batch) {
    for (size_t i = 0; i < cols_.size(); ++i) {
      const ColumnSpec& c = *cols_[i];
      if (c.type != Type::ref) continue;
      std::vector<std::string> keys;
      for (const ImportRow& r : batch) {
        for (const auto& ref : r.refs) {
          if (ref.col == i) keys.push_back(ref.key);
        }
      }
      if (keys.empty()) continue;
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      absl::flat_hash_map<std::string, std::string> ids;
      std::unique_ptr<sql::PreparedStatement> st(c_.prepareStatement(
          std::string("SELECT ") + c.ref_key + ", id FROM " + c.ref_table + " WHERE " + c.ref_key + " IN " +
          placeholders(1, keys.size())));
      for (size_t k = 0; k < keys.size(); ++k) st->setString(static_cast<unsigned>(k + 1), keys[k]);
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
      while (rs->next()) ids[std::string(rs->getString(1))] = rs->getString(2);
      for (ImportRow& r : batch) {
        for (const auto& ref : r.refs) {
          if (ref.col != i) continue;
          auto it = ids.find(ref.key);
          if (it != ids.end()) {
            r.binds[bind_of_col_[i]] = it->second;
          } else if (i < r.error_col && !r.row_error) {
            r.error = "line " + std::to_string(r.line) + ", column " + c.name + ": no " + c.ref_table + " " +
                      c.ref_key + " \"" + ref.text + "\"";
            r.error_col = i;
          }
        }
      }
    }
  }

  void insert_rows(const std::vector<ImportRow>& batch, size_t from, size_t n) {
    std::unique_ptr<sql::PreparedStatement> one_off;
    sql::PreparedStatement* st = nullptr;
    if (n == kBatch && full_batch_) {
      st = full_batch_.get();
    } else {
      one_off.reset(c_.prepareStatement("INSERT INTO " + table_ + " (" + names_ + ") VALUES " +
                                        placeholders(n, real_names_.size())));
      if (n == kBatch) full_batch_ = std::move(one_off);  // prepared once, used for every full batch
      st = n == kBatch ? full_batch_.get() : one_off.get();
    }
    unsigned p = 1;
    for (size_t i = from; i < from + n; ++i) {
      for (const auto& b : batch[i].binds) {
        if (b) {
          st->setString(p++, *b);
        } else {
          st->setNull(p++, sql::DataType::VARCHAR);
        }
      }
    }
    st->executeUpdate();
  }

  void insert_dates(const std::vector<PendingDate>& dates, size_t from, size_t n) {
    std::unique_ptr<sql::PreparedStatement> st(c_.prepareStatement(
        "INSERT INTO rule_dates (rule_id, date_from, date_to) VALUES " + placeholders(n, 3)));
    unsigned p = 1;
    for (size_t i = from; i < from + n; ++i) {
      st->setUInt64(p++, dates[i].rule_id);
      st->setString(p++, date_text(dates[i].range.from));
      st->setString(p++, date_text(dates[i].range.to));
    }
    st->executeUpdate();
  }

  uint64_t last_insert_id() {
    auto rs = query(c_, "SELECT LAST_INSERT_ID()");
    return rs->next() ? rs->getUInt64(1) : 0;
  }

  // The dates of rows [from, from + n), whose first auto id is `first`.
  bool add_dates(const std::vector<ImportRow>& batch, size_t from, size_t n, uint64_t first,
                 std::string& failure) {
    std::vector<PendingDate> dates;
    uint64_t next_auto = first;
    for (size_t i = from; i < from + n; ++i) {
      uint64_t id = 0;
      if (batch[i].id_given) {
        id = std::stoull(*batch[i].binds[id_bind_]);
      } else {
        id = next_auto;
        next_auto += id_increment_;
      }
      for (const auto& d : batch[i].dates) dates.push_back({id, d, batch[i].line});
    }
    if (dates.empty()) return true;
    try {
      insert_dates(dates, 0, dates.size());
      return true;
    } catch (const sql::SQLException& ex) {
      for (size_t i = 0; i < dates.size(); ++i) {
        try {
          insert_dates(dates, i, 1);
        } catch (const sql::SQLException& one) {
          failure = "line " + std::to_string(dates[i].line) + ": " + one.what();
          return false;
        }
      }
      failure = "line " + std::to_string(dates.front().line) + ": " + ex.what();
      return false;
    }
  }

  // The batch as one INSERT (and one for its dates); if the DB refuses it,
  // its rows one by one, to name the line.
  bool flush(const std::vector<ImportRow>& batch, std::string& failure) {
    if (batch.empty()) return true;
    bool dates = false, all_auto = true, any_auto = false;
    for (const ImportRow& r : batch) {
      dates = dates || !r.dates.empty();
      all_auto = all_auto && !r.id_given;
      any_auto = any_auto || !r.id_given;
    }
    if (dates && any_auto && (!consecutive_ids_ || !all_auto)) {
      for (size_t i = 0; i < batch.size(); ++i) {
        try {
          insert_rows(batch, i, 1);
        } catch (const sql::SQLException& ex) {
          failure = "line " + std::to_string(batch[i].line) + ": " + ex.what();
          return false;
        }
        if (!add_dates(batch, i, 1, batch[i].id_given ? 0 : last_insert_id(), failure)) return false;
      }
      return true;
    }
    try {
      insert_rows(batch, 0, batch.size());
    } catch (const sql::SQLException& ex) {
      const std::string whole = ex.what();
      for (size_t i = 0; i < batch.size(); ++i) {
        try {
          insert_rows(batch, i, 1);
        } catch (const sql::SQLException& one) {
          failure = "line " + std::to_string(batch[i].line) + ": " + one.what();
          return false;
        }
      }
      failure = "line " + std::to_string(batch.front().line) + ": " + whole;
      return false;
    }
    return !dates || add_dates(batch, 0, batch.size(), any_auto ? last_insert_id() : 0, failure);
  }

  sql::Connection& c_;
  const NumberPlan& plan_;
  const std::string table_;
  const TableSpec& spec_;
  const std::vector<const ColumnSpec*> cols_;
  std::vector<size_t> bind_of_col_;               // header index -> bind index (SIZE_MAX: none)
  std::vector<std::string> real_names_;           // the INSERT's columns
  std::string names_;
  std::vector<std::optional<std::string>> defaults_;  // per bind
  std::vector<ActionCols> actions_;
  size_t dates_col_ = SIZE_MAX, id_bind_ = SIZE_MAX, caller_match_col_ = SIZE_MAX;
  uint64_t id_increment_ = 1;
  bool consecutive_ids_ = true;
  std::unique_ptr<sql::PreparedStatement> full_batch_;
};

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
  CsvReader reader(in);
  std::vector<std::string> fields;
  size_t line = 0;
  while (reader.next(fields, line, error)) {
    records.push_back(fields);
    lines.push_back(line);
  }
  return error.empty();
}

std::vector<std::string> csv_columns(const std::string& table) {
  std::vector<std::string> out;
  if (const TableSpec* t = find_spec(table)) {
    for (const auto& c : t->columns) out.push_back(c.name);
  }
  return out;
}

// Records are read, checked and inserted in batches of Importer::kBatch: a
// batch's references (customer and provider names, numbers) are looked up in
// one query per column, and its rows go in as one multi-row INSERT (their
// rule dates as another). All in one transaction: a bad row, or one the DB
// refuses (its batch is then inserted again row by row to find it), names its
// line, and nothing is applied.
bool Store::import_csv(const std::string& table, std::string_view csv, size_t& rows,
                       std::string& error) {
  std::lock_guard lock(mutex_);
  rows = 0;
  const TableSpec* spec = find_spec(table);
  if (!spec) {
    error = "no table " + table;
    return false;
  }
  CsvReader reader(csv);
  std::vector<std::string> header;
  size_t header_line = 1;
  if (!reader.next(header, header_line, error)) {
    if (error.empty()) error = "line 1: no header row";
    return false;
  }
  std::vector<const ColumnSpec*> cols;
  for (size_t i = 0; i < header.size(); ++i) {
    const ColumnSpec* found = nullptr;
    for (const auto& c : spec->columns) {
      if (header[i] == c.name) found = &c;
    }
    if (!found) {
      error = "line " + std::to_string(header_line) + ", column " + std::to_string(i + 1) + ": " +
              table + " has no column \"" + header[i] + "\"";
      return false;
    }
    for (size_t j = 0; j < i; ++j) {
      if (cols[j] == found || (found->real && std::string_view(cols[j]->name) == found->real) ||
          (cols[j]->real && std::string_view(found->name) == cols[j]->real)) {
        error = "line " + std::to_string(header_line) + ": column \"" + header[i] + "\" given twice";
        return false;
      }
    }
    cols.push_back(found);
  }
  if (!connect(true, error)) return false;
  std::string failure;
  try {
    conn_->setAutoCommit(false);
    db::execute(*conn_, "START TRANSACTION");
    Importer importer(*conn_, plan_, table, *spec, cols);
    if (importer.run(reader, rows, failure)) {
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
    error = "Rules DB: import: " + db::error_text(ex);
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
    error = "Rules DB: export: " + db::error_text(ex);
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
    error = "Rules DB: delete: " + db::error_text(ex);
    disconnect();
    return false;
  }
}

}  // namespace tandem::rules
