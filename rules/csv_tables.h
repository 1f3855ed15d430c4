// Internal to rules/: what the CSV of each table import_csv and export_csv
// take has (its columns, and the ids given by name or number instead), and
// what a field of each column type may hold. table_names and csv_columns
// (store.h) are their public view.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rules/number.h"

namespace tandem::rules::internal {

// prompt: a WAV file's path, the file checked (prompt_wav.h); entry: a menu option's keys (menu.h).
enum class Type : uint8_t { text, integer, boolean, e164, time, datetime, decimal, days, digits, prompt, entry, ref };

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

// Null: no such table.
const TableSpec* find_spec(const std::string& table);
// Not a column of the table in the DB: refs and rules.dates.
bool is_virtual(const TableSpec& t, const ColumnSpec& c);
// One non-empty field of a column of `type` (a ref's lookup is the import's):
// false with why; booleans and E.164 numbers rewritten as the DB stores them.
bool check_field(Type type, std::string& v, const NumberPlan& plan, std::string& why);

}  // namespace tandem::rules::internal
