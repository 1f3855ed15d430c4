#include "rules/csv_import.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <map>
#include <string_view>

#include "db/connection.h"
#include "rules/column_text.h"

namespace tandem::rules::internal {

namespace {

using db::query;

std::string placeholders(size_t rows, size_t columns) {
  std::string one = "(";
  for (size_t i = 0; i < columns; ++i) one += i ? ",?" : "?";
  one += ")";
  std::string all;
  all.reserve(rows * (one.size() + 1));
  for (size_t i = 0; i < rows; ++i) all += (i ? "," : "") + one;
  return all;
}

// A column's default as information_schema gives it, as SQL: 'text' (quotes
// doubled inside) or a number.
std::string default_value(std::string v) {
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
    std::string u;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      if ((v[i] == '\'' || v[i] == '\\') && i + 2 < v.size()) ++i;
      u += v[i];
    }
    v = u;
  }
  return v;
}

// "line N, column NAME: why"; `col` (a header index) orders it against a
// reference's error (resolve_refs).
void set_error(ImportRow& row, size_t col, const char* name, const std::string& why) {
  row.error = "line " + std::to_string(row.line) + ", column " + name + ": " + why;
  row.error_col = col;
}

// The row's first error is the one it reports.
void fail(ImportRow& row, size_t col, const char* name, const std::string& why) {
  if (row.error.empty()) set_error(row, col, name, why);
}

// The first bad row of the batch, else the reader's error.
bool no_errors(const std::vector<ImportRow>& batch, const std::string& parse_error, std::string& failure) {
  for (const ImportRow& r : batch) {
    if (!r.error.empty()) {
      failure = r.error;
      return false;
    }
  }
  if (parse_error.empty()) return true;
  failure = parse_error;
  return false;
}

// `statement()`, the DB's refusal as "line N: why".
template <typename Statement>
bool at_line(size_t line, const Statement& statement, std::string& failure) {
  try {
    statement();
    return true;
  } catch (const sql::SQLException& ex) {
    failure = "line " + std::to_string(line) + ": " + ex.what();
    return false;
  }
}

// `insert(from, n)` of all n rows at once; if the DB refuses it, again one by
// one to name the line (`line_of(i)`) it refuses.
template <typename Insert, typename LineOf>
bool insert_naming_line(size_t n, const Insert& insert, const LineOf& line_of, std::string& failure) {
  try {
    insert(0, n);
    return true;
  } catch (const sql::SQLException& ex) {
    for (size_t i = 0; i < n; ++i) {
      if (!at_line(line_of(i), [&] { insert(i, 1); }, failure)) return false;
    }
    failure = "line " + std::to_string(line_of(0)) + ": " + ex.what();
    return false;
  }
}

}  // namespace

Importer::Importer(sql::Connection& c, const NumberPlan& plan, const std::string& table, const TableSpec& spec,
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

Importer::~Importer() = default;

bool Importer::run(CsvReader& reader, size_t& rows, std::string& failure) {
  read_defaults();
  if (dates_col_ != SIZE_MAX) read_id_allocation();
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
    if (!no_errors(batch, parse_error, failure) || !flush(batch, failure)) return false;
    rows += batch.size();
    batch.clear();
    more = more && !stop;
  }
  return true;
}

void Importer::read_defaults() {
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
    if (!nullable && !auto_increment && !rs->isNull(2)) d = default_value(rs->getString(2));
    by_name[rs->getString(1)] = d;
  }
  defaults_.clear();
  for (const auto& n : real_names_) {
    auto it = by_name.find(n);
    defaults_.push_back(it == by_name.end() ? std::nullopt : it->second);
  }
}

// Rules with dates and ids from AUTO_INCREMENT: the ids of a multi-row
// INSERT are LAST_INSERT_ID() + k * auto_increment_increment when InnoDB
// gives them in one go (innodb_autoinc_lock_mode 0 or 1, the default);
// otherwise such rules go in one by one.
void Importer::read_id_allocation() {
  auto rs = query(c_, "SELECT @@auto_increment_increment, @@innodb_autoinc_lock_mode");
  if (rs->next()) {
    id_increment_ = rs->getUInt64(1);
    consecutive_ids_ = rs->getInt(2) <= 1;
  }
}

ImportRow Importer::prepare(const std::vector<std::string>& rec, size_t line) {
  ImportRow row;
  row.line = line;
  if (rec.size() != cols_.size()) {
    row.error = "line " + std::to_string(line) + ": " + std::to_string(rec.size()) + " fields, the header has " +
                std::to_string(cols_.size());
    row.error_col = 0;
    row.row_error = true;
    return row;
  }
  row.binds.assign(real_names_.size(), std::nullopt);
  for (size_t i = 0; i < cols_.size(); ++i) convert(row, i, rec[i]);
  normalise(row, rec);
  return row;
}

void Importer::convert(ImportRow& row, size_t i, const std::string& field) {
  const ColumnSpec& c = *cols_[i];
  if (i == dates_col_) {
    if (!parse_date_ranges(field, row.dates)) fail(row, i, c.name, "\"" + field + "\" is not FROM..TO[;FROM..TO...]");
    return;
  }
  const size_t b = bind_of_col_[i];
  if (field.empty()) {
    row.binds[b] = defaults_[b];
    return;
  }
  if (b == id_bind_) row.id_given = true;
  std::string v = field, why;
  if (c.type == Type::ref) {
    std::string key = v;
    if (std::string_view(c.ref_table) == "numbers" && !normalize_number(v, plan_, key, why)) {
      fail(row, i, c.name, why);
    } else {
      row.refs.push_back({i, key, v});
    }
  } else if (!check_field(c.type, v, plan_, why)) {
    fail(row, i, c.name, why);
  }
  row.binds[b] = v;
}

void Importer::normalise(ImportRow& row, const std::vector<std::string>& rec) {
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
      fail(row, cols_.size(), a.target_name, e);  // after the columns' own checks
    } else if (a.target != SIZE_MAX && !target.empty()) {
      row.binds[bind_of_col_[a.target]] = format_target(act);
    }
  }
}

void Importer::resolve_refs(std::vector<ImportRow>& batch) {
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
          set_error(r, i, c.name, std::string("no ") + c.ref_table + " " + c.ref_key + " \"" + ref.text + "\"");
        }
      }
    }
  }
}

bool Importer::flush(const std::vector<ImportRow>& batch, std::string& failure) {
  if (batch.empty()) return true;
  bool dates = false, all_auto = true, any_auto = false;
  for (const ImportRow& r : batch) {
    dates = dates || !r.dates.empty();
    all_auto = all_auto && !r.id_given;
    any_auto = any_auto || !r.id_given;
  }
  if (dates && any_auto && (!consecutive_ids_ || !all_auto)) return insert_each(batch, failure);
  if (!insert_naming_line(
          batch.size(), [&](size_t at, size_t count) { insert_rows(batch, at, count); },
          [&](size_t i) { return batch[i].line; }, failure)) {
    return false;
  }
  return !dates || add_dates(batch, 0, batch.size(), any_auto ? last_insert_id() : 0, failure);
}

bool Importer::insert_each(const std::vector<ImportRow>& batch, std::string& failure) {
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!at_line(batch[i].line, [&] { insert_rows(batch, i, 1); }, failure)) return false;
    if (!add_dates(batch, i, 1, batch[i].id_given ? 0 : last_insert_id(), failure)) return false;
  }
  return true;
}

void Importer::insert_rows(const std::vector<ImportRow>& batch, size_t from, size_t n) {
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

bool Importer::add_dates(const std::vector<ImportRow>& batch, size_t from, size_t n, uint64_t first,
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
  return insert_naming_line(
      dates.size(), [&](size_t at, size_t count) { insert_dates(dates, at, count); },
      [&](size_t i) { return dates[i].line; }, failure);
}

void Importer::insert_dates(const std::vector<PendingDate>& dates, size_t from, size_t n) {
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

uint64_t Importer::last_insert_id() {
  auto rs = query(c_, "SELECT LAST_INSERT_ID()");
  return rs->next() ? rs->getUInt64(1) : 0;
}

}  // namespace tandem::rules::internal
