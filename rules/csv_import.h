// Internal to rules/: the import of one CSV into one table, record by record
// in batches (see Store::import_csv).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/csv.h"
#include "rules/csv_tables.h"
#include "rules/model.h"

namespace sql {
class Connection;
class PreparedStatement;
}  // namespace sql

namespace tandem::rules::internal {

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

  // `cols`: the header's columns, in its order.
  Importer(sql::Connection& c, const NumberPlan& plan, const std::string& table, const TableSpec& spec,
           std::vector<const ColumnSpec*> cols);
  ~Importer();

  // False with `failure` ("line N[, column C]: why") at the first bad record.
  bool run(CsvReader& reader, size_t& rows, std::string& failure);

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
  void read_defaults();
  void read_id_allocation();
  // Checks and converts one record (references are looked up per batch).
  ImportRow prepare(const std::vector<std::string>& rec, size_t line);
  // One field into its bind, the row's dates or a reference to look up.
  void convert(ImportRow& row, size_t i, const std::string& field);
  // Stored normalised: the caller pattern, and numbers in action targets.
  void normalise(ImportRow& row, const std::vector<std::string>& rec);
  // The batch's references, one query per referencing column; a missing one
  // is the row's error unless an earlier column already has one.
  void resolve_refs(std::vector<ImportRow>& batch);
  // The batch as one INSERT (and one for its dates); if the DB refuses it,
  // its rows one by one, to name the line.
  bool flush(const std::vector<ImportRow>& batch, std::string& failure);
  // Each row an INSERT of its own, then its dates.
  bool insert_each(const std::vector<ImportRow>& batch, std::string& failure);
  void insert_rows(const std::vector<ImportRow>& batch, size_t from, size_t n);
  // The dates of rows [from, from + n), whose first auto id is `first`.
  bool add_dates(const std::vector<ImportRow>& batch, size_t from, size_t n, uint64_t first,
                 std::string& failure);
  void insert_dates(const std::vector<PendingDate>& dates, size_t from, size_t n);
  uint64_t last_insert_id();

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

}  // namespace tandem::rules::internal
