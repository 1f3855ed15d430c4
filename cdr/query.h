// Reading the CDR DB back: records by filter or id (what `tandemctl cdr
// tail|show|query` will print) and the monthly call-usage report per customer
// (`tandemctl cdr report --month YYYY-MM`), as CSV or a readable table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cdr/record.h"

namespace sql {
class Connection;
}  // namespace sql

namespace tandem::cdr {

struct QueryFilter {
  std::optional<int64_t> from_ms;   // start time >= from (UTC ms)
  std::optional<int64_t> to_ms;     // start time < to
  std::string number;               // caller or called, exactly
  std::string customer;             // exactly
  uint32_t limit = 100;             // newest first
};

// Records matching the filter, newest first. false and why on a DB error.
bool query_records(sql::Connection& db, const QueryFilter& filter, std::vector<Record>& out,
                   std::string& error);
// One record by id; `out` empty when there is none.
bool find_record(sql::Connection& db, uint64_t id, std::optional<Record>& out, std::string& error);

struct UsageRow {
  std::string customer;
  uint64_t calls = 0;          // every record, whatever the disposition
  uint64_t answered = 0;
  uint64_t billable_s = 0;     // sum of billable seconds
  int64_t cost_micros = 0;     // sum of cost (outbound)
  bool operator==(const UsageRow&) const = default;
};

// "2026-11" -> (2026, 11); false on anything else.
bool parse_month(const std::string& text, int& year, int& month);
// Calls started in that UTC month, per customer, by customer name.
bool usage_report(sql::Connection& db, int year, int month, std::vector<UsageRow>& out,
                  std::string& error);
// customer,calls,answered,minutes,cost; minutes = billable seconds / 60 to
// two decimals, cost to six. Customer names are quoted as RFC 4180 says.
std::string usage_csv(const std::vector<UsageRow>& rows);
// The same as aligned columns with a total line.
std::string usage_table(const std::vector<UsageRow>& rows);

}  // namespace tandem::cdr
