// Reading the CDR DB back: records by filter or id (what `tandemctl cdr
// tail|show|query` will print) and the monthly call-usage report per customer
// (`tandemctl cdr report --month YYYY-MM`), as CSV or a readable table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
  std::optional<Direction> direction;
  std::optional<Disposition> disposition;
  uint32_t limit = 100;             // newest first
  uint64_t offset = 0;              // skip the newest `offset` (a page of the portal)
};

// The prepared statement query_records() runs: one `?` per filter value, in
// the order of QueryFilter's fields (the number twice: caller or called).
std::string records_sql(const QueryFilter& filter);
// Records matching the filter, newest first. false and why on a DB error.
bool query_records(sql::Connection& db, const QueryFilter& filter, std::vector<Record>& out,
                   std::string& error);
// One record by id; `out` empty when there is none.
bool find_record(sql::Connection& db, uint64_t id, std::optional<Record>& out, std::string& error);

struct UsageRow {
  std::string key;             // what the row is of: customer, direction or UTC day (UsageGroup)
  uint64_t calls = 0;          // every record, whatever the disposition
  uint64_t answered = 0;
  uint64_t billable_s = 0;     // sum of billable seconds
  int64_t cost_micros = 0;     // sum of cost (outbound)
  uint64_t talk_ms = 0;        // sum of answer..end of the answered calls
  bool operator==(const UsageRow&) const = default;
};

// How usage() groups a month's calls: per customer (the operator's report),
// per direction ("inbound", "outbound") or per UTC day ("2026-11-05").
enum class UsageGroup : uint8_t { customer, direction, day };

// "2026-11" -> (2026, 11); false on anything else.
bool parse_month(const std::string& text, int& year, int& month);
// Calls started in that UTC month, grouped by `by`, in key order; only
// `customer`'s when it is not empty. Every figure of the portal's month page
// and of `tandemctl cdr report` comes from here, so that they cannot differ.
bool usage(sql::Connection& db, int year, int month, UsageGroup by, const std::string& customer,
           std::vector<UsageRow>& out, std::string& error);
// Calls started in that UTC month, per customer, by customer name.
bool usage_report(sql::Connection& db, int year, int month, std::vector<UsageRow>& out,
                  std::string& error);
// The rows added up, keyed `key`.
UsageRow usage_total(const std::vector<UsageRow>& rows, const std::string& key);
// Seconds as minutes to two decimals ("1.02"), micros as money to six
// ("0.010000"): the report's figures, as the portal shows them too.
std::string format_minutes(uint64_t seconds);
std::string format_money(int64_t micros);
// One CSV field as RFC 4180 says: quoted when it holds a comma, a quote or a
// line break.
std::string csv_field(const std::string& s);
// customer,calls,answered,minutes,cost (the first column named `key_name`);
// minutes = billable seconds / 60 to two decimals, cost to six. Customer
// names are quoted as RFC 4180 says.
std::string usage_csv(const std::vector<UsageRow>& rows, std::string_view key_name = "customer");
// The same as aligned columns with a total line.
std::string usage_table(const std::vector<UsageRow>& rows);

}  // namespace tandem::cdr
