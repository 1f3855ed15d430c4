// The CDR DB through MySQL Connector/C++ 1.1: one multi-row prepared
// INSERT ... ON DUPLICATE KEY UPDATE per batch in one transaction, on a
// connection (db/connection.h) made again after any error.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cdr/sink.h"
#include "db/connection.h"

namespace sql {
class Connection;
class PreparedStatement;
}  // namespace sql

namespace tandem::cdr {

struct DbConfig : db::Config {
  DbConfig() { database = "tandem_cdr"; }
  DbConfig(const db::Config& c) : db::Config(c) {}  // NOLINT: the same settings
};

// The multi-row INSERT of `rows` records (with ON DUPLICATE KEY UPDATE of every
// column but the id when update_on_duplicate), and the binding of one record's
// kRecordColumns parameters after the first `base`.
inline constexpr unsigned kRecordColumns = 31;
std::string insert_sql(size_t rows, bool update_on_duplicate);
void bind_record(sql::PreparedStatement& st, unsigned base, const Record& r);

class MysqlSink : public Sink {
 public:
  explicit MysqlSink(DbConfig config);
  ~MysqlSink() override;
  // Connects first if needed; on any error the connection is dropped, and the
  // next write connects again (to whichever address answers then). Errors
  // about a value (too long, out of range, bad string...) are `refused`.
  WriteStatus write(const std::vector<Record>& batch, std::string& error) override;
  bool reachable(std::string& error) override;
  bool connected() const { return conn_ != nullptr; }
  uint64_t connects() const { return connects_; }

 private:
  bool connect(std::string& error);  // unless connected
  sql::PreparedStatement* statement(size_t rows);
  void disconnect();

  DbConfig config_;
  std::unique_ptr<sql::Connection> conn_;
  std::map<size_t, std::unique_ptr<sql::PreparedStatement>> statements_;  // by row count
  uint64_t connects_ = 0;
};

}  // namespace tandem::cdr
