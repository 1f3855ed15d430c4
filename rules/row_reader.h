// Internal to rules/: the load's access to result rows, streamed and read by
// column index.
#pragma once

#include <cppconn/connection.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "rules/column_text.h"
#include "rules/model.h"

namespace tandem::rules::internal {

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

}  // namespace tandem::rules::internal
