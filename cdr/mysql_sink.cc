#include "cdr/mysql_sink.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <charconv>
#include <cstdio>

namespace tandem::cdr {

namespace {

constexpr const char* kColumns[] = {
    "id", "call_id", "direction", "caller", "called", "customer", "target", "menu_path", "provider", "cost",
    "dc", "server", "start_time", "answer_time", "end_time", "duration_ms", "billable_s",
    "disposition", "sip_code", "hangup_side", "hangup_reason",
    "a_packets", "a_bytes", "a_lost", "a_jitter_max_us", "a_jitter_mean_us",
    "b_packets", "b_bytes", "b_lost", "b_jitter_max_us", "b_jitter_mean_us"};
constexpr size_t kColumnCount = std::size(kColumns);
static_assert(kColumnCount == kRecordColumns);
constexpr size_t kMaxRowsPerStatement = 65535 / kColumnCount;
constexpr size_t kMaxCachedStatements = 16;

std::string format_cost(int64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(micros / 1000000),
                static_cast<long long>(micros % 1000000));
  return buf;
}

// Server errors about one value of one row: the same row fails every time.
// Anything else (connection, read-only standby, deadlock, unknown) may pass
// on a retry.
bool refuses_value(int code) {
  switch (code) {
    case 1048:  // ER_BAD_NULL_ERROR
    case 1264:  // ER_WARN_DATA_OUT_OF_RANGE
    case 1265:  // WARN_DATA_TRUNCATED
    case 1292:  // ER_TRUNCATED_WRONG_VALUE
    case 1366:  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    case 1406:  // ER_DATA_TOO_LONG
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string insert_sql(size_t rows, bool update_on_duplicate) {
  std::string cols, row = "(", update;
  for (size_t i = 0; i < kColumnCount; ++i) {
    if (i) {
      cols += ",";
      row += ",";
    }
    cols += kColumns[i];
    row += "?";
    if (i) {
      if (i > 1) update += ",";
      update += std::string(kColumns[i]) + "=VALUES(" + kColumns[i] + ")";
    }
  }
  row += ")";
  std::string sql = "INSERT INTO cdr (" + cols + ") VALUES ";
  for (size_t r = 0; r < rows; ++r) {
    if (r) sql += ",";
    sql += row;
  }
  if (update_on_duplicate) sql += " ON DUPLICATE KEY UPDATE " + update;
  return sql;
}

void bind_record(sql::PreparedStatement& st, unsigned base, const Record& r) {
  unsigned i = base;
  st.setUInt64(++i, r.id);
  st.setString(++i, r.call_id);
  st.setString(++i, std::string(name(r.direction)));
  st.setString(++i, r.caller);
  st.setString(++i, r.called);
  st.setString(++i, r.customer);
  st.setString(++i, r.target);
  st.setString(++i, r.menu_path);
  st.setString(++i, r.provider);
  st.setString(++i, format_cost(r.cost_micros));
  st.setString(++i, r.dc);
  st.setString(++i, r.server);
  st.setDateTime(++i, format_utc_ms(r.start_ms));
  if (r.answer_ms != 0) {
    st.setDateTime(++i, format_utc_ms(r.answer_ms));
  } else {
    st.setNull(++i, 0);
  }
  st.setDateTime(++i, format_utc_ms(r.end_ms));
  st.setUInt64(++i, static_cast<uint64_t>(r.duration_ms));
  st.setUInt(++i, r.billable_s);
  st.setString(++i, std::string(name(r.disposition)));
  st.setUInt(++i, r.sip_code);
  st.setString(++i, std::string(name(r.hangup_side)));
  st.setString(++i, r.hangup_reason);
  for (const auto& leg : r.legs) {
    st.setUInt64(++i, leg.packets);
    st.setUInt64(++i, leg.bytes);
    st.setInt64(++i, leg.lost);
    st.setUInt(++i, leg.jitter_max_us);
    st.setUInt(++i, leg.jitter_mean_us);
  }
}

MysqlSink::MysqlSink(DbConfig config) : config_(std::move(config)) {}

MysqlSink::~MysqlSink() { disconnect(); }

void MysqlSink::disconnect() {
  try {
    statements_.clear();
    if (conn_) conn_->close();
  } catch (const sql::SQLException&) {
  }
  conn_.reset();
}

sql::PreparedStatement* MysqlSink::statement(size_t rows) {
  auto it = statements_.find(rows);
  if (it != statements_.end()) return it->second.get();
  if (statements_.size() >= kMaxCachedStatements) statements_.clear();
  std::unique_ptr<sql::PreparedStatement> st(conn_->prepareStatement(insert_sql(rows, true)));
  return statements_.emplace(rows, std::move(st)).first->second.get();
}

bool MysqlSink::connect(std::string& error) {
  if (!conn_) {
    conn_ = db::connect(config_, true, error);
    if (!conn_) return false;
    ++connects_;
  }
  return true;
}

bool MysqlSink::reachable(std::string& error) {
  if (!connect(error)) return false;
  try {
    // Its result read and freed: a result left pending puts the session out of sync.
    std::unique_ptr<sql::Statement> st(conn_->createStatement());
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT 1"));
    return rs->next();
  } catch (const sql::SQLException& ex) {
    error = "CDR DB: " + db::error_text(ex);
    disconnect();
    return false;
  }
}

WriteStatus MysqlSink::write(const std::vector<Record>& batch, std::string& error) {
  if (batch.empty()) return WriteStatus::ok;
  if (!connect(error)) return WriteStatus::failed;
  try {
    // START TRANSACTION and COMMIT as statements, never setAutoCommit() and
    // commit(): Connector/C++ 1.1's commit() returns normally when the
    // connection is lost and the transaction rolled back (seen with the
    // Debian libmysqlcppconn7v5 1.1.12 on libmariadb), which loses the batch.
    // Statement::execute() throws. tests/integration/cdr checks both.
    std::unique_ptr<sql::Statement> tx(conn_->createStatement());
    tx->execute("START TRANSACTION");
    for (size_t done = 0; done < batch.size();) {
      const size_t rows = std::min(batch.size() - done, kMaxRowsPerStatement);
      sql::PreparedStatement* st = statement(rows);
      for (size_t r = 0; r < rows; ++r) {
        bind_record(*st, static_cast<unsigned>(r * kColumnCount), batch[done + r]);
      }
      st->executeUpdate();
      done += rows;
    }
    tx->execute("COMMIT");
    return WriteStatus::ok;
  } catch (const sql::SQLException& ex) {
    error = "CDR DB: " + db::error_text(ex);
    // Whatever the error, start again from a fresh connection: the batch is
    // idempotent, and a half-broken session (lost after COMMIT, failover to
    // the standby) is not worth diagnosing.
    disconnect();
    return refuses_value(ex.getErrorCode()) ? WriteStatus::refused : WriteStatus::failed;
  }
}

}  // namespace tandem::cdr
