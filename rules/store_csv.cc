// Store::import_csv and Store::export_csv: one table as CSV, in and out.
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>

#include <string_view>

#include "rules/csv.h"
#include "rules/csv_import.h"
#include "rules/csv_tables.h"
#include "rules/snapshot.h"
#include "rules/store.h"

namespace tandem::rules {

namespace {

using internal::ColumnSpec;
using internal::TableSpec;

// The header record -> its columns; false and why for an unknown column or
// one given twice (also as its id and by name).
bool header_columns(CsvReader& reader, const TableSpec& spec, std::vector<const ColumnSpec*>& cols,
                    std::string& error) {
  std::vector<std::string> header;
  size_t header_line = 1;
  if (!reader.next(header, header_line, error)) {
    if (error.empty()) error = "line 1: no header row";
    return false;
  }
  for (size_t i = 0; i < header.size(); ++i) {
    const ColumnSpec* found = nullptr;
    for (const auto& c : spec.columns) {
      if (header[i] == c.name) found = &c;
    }
    if (!found) {
      error = "line " + std::to_string(header_line) + ", column " + std::to_string(i + 1) + ": " +
              spec.name + " has no column \"" + header[i] + "\"";
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
  return true;
}

// Why the Rules DB as a change (`what`) leaves it is refused (`bad`: a row
// that does not load); empty if it validates.
std::string refusal(RulesData d, const std::string& bad, const NumberPlan& plan, const std::string& what) {
  if (!bad.empty()) return "after the " + what + ": " + bad;
  std::vector<std::string> errors;
  if (Snapshot::build(std::move(d), plan, errors)) return {};
  std::string why = "after the " + what + " the rules would not validate:";
  for (const auto& x : errors) why += "\n  " + x;
  return why;
}

}  // namespace

bool Store::validated_change(const std::string& what, absl::FunctionRef<std::string()> change,
                             std::string& failure, std::string& error) {
  if (!connect(true, error)) return false;
  try {
    conn_->setAutoCommit(false);
    db::execute(*conn_, "START TRANSACTION");
    failure = change();
    if (failure.empty()) {
      RulesData d;
      std::string bad;
      read_all(d, bad);
      failure = refusal(std::move(d), bad, plan_, what);
    }
    if (failure.empty()) {
      conn_->commit();
    } else {
      conn_->rollback();
    }
    conn_->setAutoCommit(true);
    return true;
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: " + what + ": " + db::error_text(ex);
    disconnect();
    return false;
  }
}

// Records are read, checked and inserted in batches of Importer::kBatch: a
// batch's references (customer and provider names, numbers) are looked up in
// one query per column, and its rows go in as one multi-row INSERT (their
// rule dates as another). A bad row, or one the DB refuses (its batch is then
// inserted again row by row to find it), names its line.
std::string Store::import_rows(const std::string& table, std::string_view csv, size_t& rows) {
  rows = 0;
  const TableSpec* spec = internal::find_spec(table);
  if (!spec) return "no table " + table;
  CsvReader reader(csv);
  std::vector<const ColumnSpec*> cols;
  std::string failure;
  if (!header_columns(reader, *spec, cols, failure)) return failure;
  internal::Importer importer(*conn_, plan_, table, *spec, cols);
  if (!importer.run(reader, rows, failure)) rows = 0;
  return failure;
}

bool Store::import_csv(const std::string& table, std::string_view csv, size_t& rows,
                       std::string& error) {
  std::lock_guard lock(mutex_);
  rows = 0;
  if (!internal::find_spec(table)) {
    error = "no table " + table;
    return false;
  }
  std::string failure;
  if (!validated_change("import", [&] { return import_rows(table, csv, rows); }, failure, error)) return false;
  if (!failure.empty()) {
    error = failure + " (nothing imported)";
    rows = 0;
    return false;
  }
  return true;
}

bool Store::export_csv(const std::string& table, std::string& csv, std::string& error) {
  std::lock_guard lock(mutex_);
  const TableSpec* spec = internal::find_spec(table);
  if (!spec) {
    error = "no table " + table;
    return false;
  }
  if (!connect(true, error)) return false;
  std::vector<const ColumnSpec*> cols;
  std::string select;
  for (const auto& c : spec->columns) {
    if (internal::is_virtual(*spec, c)) continue;
    cols.push_back(&c);
    select += std::string(select.empty() ? "" : ", ") + c.name;
  }
  try {
    auto rs = db::query(*conn_, "SELECT " + select + " FROM " + table + " ORDER BY id");
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

}  // namespace tandem::rules
