#include "cdr/query.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>

namespace tandem::cdr {

namespace {

constexpr const char* kSelect =
    "SELECT id, call_id, direction, caller, called, customer, target, menu_path, provider, cost, dc, "
    "server, start_time, answer_time, end_time, duration_ms, billable_s, disposition, sip_code, "
    "hangup_side, hangup_reason, a_packets, a_bytes, a_lost, a_jitter_max_us, a_jitter_mean_us, "
    "b_packets, b_bytes, b_lost, b_jitter_max_us, b_jitter_mean_us FROM cdr";

bool parse_datetime_ms(const std::string& s, int64_t& ms) {
  struct tm tm {};
  int frac = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac) < 6) {
    return false;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  ms = static_cast<int64_t>(timegm(&tm)) * 1000 + frac;
  return true;
}

// "123.456789" -> 123456789 micros (DECIMAL(18,6), never negative here).
bool parse_micros(const std::string& s, int64_t& out) {
  const auto dot = s.find('.');
  try {
    const int64_t whole = std::stoll(s.substr(0, dot));
    int64_t frac = 0;
    if (dot != std::string::npos) {
      std::string f = s.substr(dot + 1);
      f.resize(6, '0');
      frac = std::stoll(f);
    }
    out = whole * 1000000 + frac;
    return true;
  } catch (...) {
    return false;
  }
}

bool row_to_record(sql::ResultSet& rs, Record& r, std::string& error) {
  unsigned i = 0;
  bool ok = true;
  r.id = rs.getUInt64(++i);
  r.call_id = rs.getString(++i);
  const auto dir = parse_direction(std::string(rs.getString(++i)));
  r.caller = rs.getString(++i);
  r.called = rs.getString(++i);
  r.customer = rs.getString(++i);
  r.target = rs.getString(++i);
  r.menu_path = rs.getString(++i);
  r.provider = rs.getString(++i);
  ok &= parse_micros(rs.getString(++i), r.cost_micros);
  r.dc = rs.getString(++i);
  r.server = rs.getString(++i);
  ok &= parse_datetime_ms(rs.getString(++i), r.start_ms);
  ++i;
  r.answer_ms = 0;
  if (!rs.isNull(i)) ok &= parse_datetime_ms(rs.getString(i), r.answer_ms);
  ok &= parse_datetime_ms(rs.getString(++i), r.end_ms);
  r.duration_ms = rs.getInt64(++i);
  r.billable_s = rs.getUInt(++i);
  const auto disp = parse_disposition(std::string(rs.getString(++i)));
  r.sip_code = static_cast<uint16_t>(rs.getUInt(++i));
  const auto side = parse_hangup_side(std::string(rs.getString(++i)));
  r.hangup_reason = rs.getString(++i);
  for (auto& leg : r.legs) {
    leg.packets = rs.getUInt64(++i);
    leg.bytes = rs.getUInt64(++i);
    leg.lost = rs.getInt64(++i);
    leg.jitter_max_us = rs.getUInt(++i);
    leg.jitter_mean_us = rs.getUInt(++i);
  }
  if (!ok || !dir || !disp || !side) {
    error = "CDR " + RecordId::format(r.id) + ": a column does not parse";
    return false;
  }
  r.direction = *dir;
  r.disposition = *disp;
  r.hangup_side = *side;
  return true;
}

std::string sql_error(const sql::SQLException& e) {
  return std::string("CDR DB: ") + e.what() + " (error " + std::to_string(e.getErrorCode()) + ")";
}

std::string fixed(uint64_t value, uint64_t scale, int decimals) {
  char buf[48];
  const uint64_t whole = value / scale;
  uint64_t frac = value % scale;
  // Round the fraction to `decimals` digits.
  uint64_t unit = scale;
  for (int d = 0; d < decimals; ++d) unit /= 10;
  if (unit > 1) frac = (frac + unit / 2) / unit;
  uint64_t limit = 1;
  for (int d = 0; d < decimals; ++d) limit *= 10;
  uint64_t w = whole;
  if (frac >= limit) {
    frac -= limit;
    ++w;
  }
  std::snprintf(buf, sizeof buf, "%llu.%0*llu", static_cast<unsigned long long>(w), decimals,
                static_cast<unsigned long long>(frac));
  return buf;
}

// Display width of UTF-8 text: one column per code point.
size_t width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<uint8_t>(c) & 0xc0) != 0x80; }));
}

}  // namespace

std::string records_sql(const QueryFilter& f) {
  std::string sql = kSelect;
  std::vector<std::string> where;
  if (f.from_ms) where.push_back("start_time >= ?");
  if (f.to_ms) where.push_back("start_time < ?");
  if (!f.number.empty()) where.push_back("(caller = ? OR called = ?)");
  if (!f.customer.empty()) where.push_back("customer = ?");
  if (f.direction) where.push_back("direction = ?");
  if (f.disposition) where.push_back("disposition = ?");
  for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : " WHERE ") + where[i];
  sql += " ORDER BY start_time DESC, id DESC LIMIT " + std::to_string(f.limit);
  if (f.offset) sql += " OFFSET " + std::to_string(f.offset);
  return sql;
}

bool query_records(sql::Connection& db, const QueryFilter& f, std::vector<Record>& out,
                   std::string& error) {
  out.clear();
  try {
    std::unique_ptr<sql::PreparedStatement> st(db.prepareStatement(records_sql(f)));
    unsigned p = 0;
    if (f.from_ms) st->setDateTime(++p, format_utc_ms(*f.from_ms));
    if (f.to_ms) st->setDateTime(++p, format_utc_ms(*f.to_ms));
    if (!f.number.empty()) {
      st->setString(++p, f.number);
      st->setString(++p, f.number);
    }
    if (!f.customer.empty()) st->setString(++p, f.customer);
    if (f.direction) st->setString(++p, std::string(name(*f.direction)));
    if (f.disposition) st->setString(++p, std::string(name(*f.disposition)));
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    while (rs->next()) {
      Record r;
      if (!row_to_record(*rs, r, error)) return false;
      out.push_back(std::move(r));
    }
    return true;
  } catch (const sql::SQLException& e) {
    error = sql_error(e);
    return false;
  }
}

bool find_record(sql::Connection& db, uint64_t id, std::optional<Record>& out, std::string& error) {
  out.reset();
  try {
    std::unique_ptr<sql::PreparedStatement> st(
        db.prepareStatement(std::string(kSelect) + " WHERE id = ?"));
    st->setUInt64(1, id);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    if (rs->next()) {
      Record r;
      if (!row_to_record(*rs, r, error)) return false;
      out = std::move(r);
    }
    return true;
  } catch (const sql::SQLException& e) {
    error = sql_error(e);
    return false;
  }
}

bool parse_month(const std::string& text, int& year, int& month) {
  int consumed = 0;
  if (text.size() != 7 || text[4] != '-' ||
      std::sscanf(text.c_str(), "%4d-%2d%n", &year, &month, &consumed) != 2 || consumed != 7) {
    return false;
  }
  return year >= 2000 && year <= 9999 && month >= 1 && month <= 12;
}

bool usage(sql::Connection& db, int year, int month, UsageGroup by, const std::string& customer,
           std::vector<UsageRow>& out, std::string& error) {
  out.clear();
  char from[32], to[32];
  std::snprintf(from, sizeof from, "%04d-%02d-01 00:00:00", year, month);
  std::snprintf(to, sizeof to, "%04d-%02d-01 00:00:00", month == 12 ? year + 1 : year,
                month == 12 ? 1 : month + 1);
  // Direction is an ENUM: grouped as text so that its rows sort by name.
  const char* key = by == UsageGroup::customer    ? "customer"
                    : by == UsageGroup::direction ? "CAST(direction AS CHAR)"
                                                  : "CAST(DATE(start_time) AS CHAR)";
  // Every customer's month: left to itself, MariaDB walks the whole
  // customer_start index for the GROUP BY's order (10 million records: 38 s);
  // the month's range of start_time is 1.8 s (bench/RESULTS.md, the portal).
  const char* table = customer.empty() ? " FROM cdr FORCE INDEX (start_time)" : " FROM cdr";
  std::string sql = std::string("SELECT ") + key +
                    ", COUNT(*), SUM(disposition = 'answered'), SUM(billable_s), SUM(cost), "
                    "SUM(IF(answer_time IS NULL, 0, TIMESTAMPDIFF(MICROSECOND, answer_time, end_time) DIV 1000))" +
                    table + " WHERE start_time >= ? AND start_time < ?";
  if (!customer.empty()) sql += " AND customer = ?";
  sql += " GROUP BY 1 ORDER BY 1";
  try {
    std::unique_ptr<sql::PreparedStatement> st(db.prepareStatement(sql));
    st->setDateTime(1, from);
    st->setDateTime(2, to);
    if (!customer.empty()) st->setString(3, customer);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    while (rs->next()) {
      UsageRow u;
      u.key = rs->getString(1);
      u.calls = rs->getUInt64(2);
      u.answered = rs->getUInt64(3);
      u.billable_s = rs->getUInt64(4);
      u.talk_ms = rs->getUInt64(6);
      if (!parse_micros(rs->getString(5), u.cost_micros)) {
        error = "CDR DB: cost sum does not parse";
        return false;
      }
      out.push_back(std::move(u));
    }
    return true;
  } catch (const sql::SQLException& e) {
    error = sql_error(e);
    return false;
  }
}

bool usage_report(sql::Connection& db, int year, int month, std::vector<UsageRow>& out,
                  std::string& error) {
  return usage(db, year, month, UsageGroup::customer, "", out, error);
}

UsageRow usage_total(const std::vector<UsageRow>& rows, const std::string& key) {
  UsageRow total{key};
  for (const auto& r : rows) {
    total.calls += r.calls;
    total.answered += r.answered;
    total.billable_s += r.billable_s;
    total.cost_micros += r.cost_micros;
    total.talk_ms += r.talk_ms;
  }
  return total;
}

std::string format_minutes(uint64_t seconds) { return fixed(seconds * 100, 6000, 2); }
std::string format_money(int64_t micros) { return fixed(static_cast<uint64_t>(micros), 1000000, 6); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string usage_csv(const std::vector<UsageRow>& rows, std::string_view key_name) {
  std::string out = std::string(key_name) + ",calls,answered,minutes,cost\r\n";
  for (const auto& r : rows) {
    out += csv_field(r.key) + "," + std::to_string(r.calls) + "," +
           std::to_string(r.answered) + "," + format_minutes(r.billable_s) + "," + format_money(r.cost_micros) +
           "\r\n";
  }
  return out;
}

std::string usage_table(const std::vector<UsageRow>& rows) {
  std::vector<std::vector<std::string>> cells{{"customer", "calls", "answered", "minutes", "cost"}};
  for (const auto& r : rows) {
    cells.push_back({r.key, std::to_string(r.calls), std::to_string(r.answered),
                     format_minutes(r.billable_s), format_money(r.cost_micros)});
  }
  const UsageRow total = usage_total(rows, "total");
  cells.push_back({total.key, std::to_string(total.calls), std::to_string(total.answered),
                   format_minutes(total.billable_s), format_money(total.cost_micros)});
  std::vector<size_t> w(5, 0);
  for (const auto& row : cells) {
    for (size_t c = 0; c < 5; ++c) w[c] = std::max(w[c], width(row[c]));
  }
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i + 1 == cells.size()) {
      for (size_t c = 0; c < 5; ++c) out += std::string(w[c], '-') + (c < 4 ? "  " : "\n");
    }
    for (size_t c = 0; c < 5; ++c) {
      const auto& s = cells[i][c];
      const std::string pad(w[c] - width(s), ' ');
      out += c == 0 ? s + pad : pad + s;   // names left, numbers right
      out += c < 4 ? "  " : "\n";
    }
  }
  return out;
}

}  // namespace tandem::cdr
