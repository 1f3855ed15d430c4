// Store::load_menu and Store::save_menu: one menu and its options, for
// `tandemctl rules menus`. A save goes through the CSV import's checks (the
// prompt file, the keys, the actions, the customer by name) as one menus row
// and one menu_options row per option, so that every way into the tables
// checks the same things.
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <charconv>
#include <set>

#include "rules/csv.h"
#include "rules/csv_tables.h"
#include "rules/store.h"
#include "rules/table_readers.h"

namespace tandem::rules {

namespace {

// The importer names CSV lines; a menu saved from fields has none: "line N"
// becomes what that line was.
std::string relabel(const std::string& failure, const std::vector<std::string>& labels) {
  if (!failure.starts_with("line ")) return failure;
  size_t line = 0;
  const char* digits = failure.data() + 5;
  const auto [end, ec] = std::from_chars(digits, failure.data() + failure.size(), line);
  if (ec != std::errc() || line < 2 || line - 2 >= labels.size()) return failure;
  return labels[line - 2] + std::string(end, failure.data() + failure.size());
}

// One CSV record of `values`.
std::string record(const std::vector<std::string>& values) {
  std::string r;
  for (const auto& v : values) r += (r.empty() ? "" : ",") + csv_field(v);
  return r + "\n";
}

// "KEYS=ACTION[:TARGET]" -> {keys, action, target}; false with why.
bool split_option(const std::string& o, std::vector<std::string>& out, std::string& why) {
  const size_t eq = o.find('=');
  if (eq == std::string::npos || eq == 0) {
    why = "option \"" + o + "\": expected KEYS=ACTION[:TARGET]";
    return false;
  }
  const size_t colon = o.find(':', eq);
  out = {o.substr(0, eq), o.substr(eq + 1, colon == std::string::npos ? std::string::npos : colon - eq - 1),
         colon == std::string::npos ? "" : o.substr(colon + 1)};
  return true;
}

// The menu's own columns (those the CSV names as they are in the table).
std::vector<std::string> menu_columns() {
  const internal::TableSpec& spec = *internal::find_spec("menus");
  std::vector<std::string> cols;
  for (const auto& c : spec.columns) {
    if (!internal::is_virtual(spec, c) && std::string_view(c.name) != "id") cols.push_back(c.name);
  }
  return cols;
}

}  // namespace

bool Store::load_menu(Id id, Menu& out, bool& found, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!connect(true, error)) return false;
  try {
    std::vector<Menu> menus;
    std::string bad;
    internal::read_menus(*conn_, plan_, menus, bad, id);
    if (!bad.empty()) {
      error = bad;
      return false;
    }
    found = !menus.empty();
    if (found) out = std::move(menus[0]);
    return true;
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: menu " + std::to_string(id) + ": " + db::error_text(ex);
    disconnect();
    return false;
  }
}

bool Store::save_menu(const MenuChange& change, Id& id, std::string& error) {
  std::lock_guard lock(mutex_);
  std::set<std::string> given;
  std::vector<std::string> header, values;
  for (const auto& [col, value] : change.fields) {
    if (col == "id") {
      error = "id: not set by hand (the DB gives it, apart per DC)";
      return false;
    }
    given.insert(col);
    header.push_back(col);
    values.push_back(value);
  }
  std::vector<std::vector<std::string>> options;
  for (const auto& o : change.options.value_or(std::vector<std::string>{})) {
    if (!split_option(o, options.emplace_back(), error)) return false;
  }
  const auto save = [&]() -> std::string {
    id = change.id;
    if (id != 0) {
      // The menu as it is, under the fields given; then out and in again with its id.
      const std::vector<std::string> cols = menu_columns();
      std::string select;
      for (const auto& c : cols) select += (select.empty() ? "" : ", ") + c;
      std::unique_ptr<sql::PreparedStatement> st(
          conn_->prepareStatement("SELECT " + select + " FROM menus WHERE id = ? FOR UPDATE"));
      st->setUInt64(1, id);
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
      if (!rs->next()) return "no menu " + std::to_string(id);
      for (size_t i = 0; i < cols.size(); ++i) {
        const bool by_name = cols[i] == "customer_id" && given.contains("customer");
        if (given.contains(cols[i]) || by_name) continue;
        header.push_back(cols[i]);
        values.push_back(rs->getString(static_cast<unsigned>(i + 1)));
      }
      header.push_back("id");
      values.push_back(std::to_string(id));
      if (!change.options) {
        std::unique_ptr<sql::PreparedStatement> os(
            conn_->prepareStatement("SELECT digits, action, target FROM menu_options WHERE menu_id = ?"));
        os->setUInt64(1, id);
        std::unique_ptr<sql::ResultSet> ors(os->executeQuery());
        while (ors->next()) options.push_back({ors->getString(1), ors->getString(2), ors->getString(3)});
      }
      std::unique_ptr<sql::PreparedStatement> del(conn_->prepareStatement("DELETE FROM menus WHERE id = ?"));
      del->setUInt64(1, id);
      del->executeUpdate();
    }
    size_t rows = 0;
    std::string csv;
    for (const auto& h : header) csv += (csv.empty() ? "" : ",") + h;
    std::string failure = import_rows("menus", csv + "\n" + record(values), rows);
    if (!failure.empty()) return relabel(failure, {"the menu"});
    if (id == 0) {
      auto last = db::query(*conn_, "SELECT LAST_INSERT_ID()");
      id = last->next() ? last->getUInt64(1) : 0;
    }
    if (options.empty()) return {};
    std::string ocsv = "menu_id,digits,action,target\n";
    std::vector<std::string> labels;
    for (auto& o : options) {
      ocsv += record({std::to_string(id), o[0], o[1], o[2]});
      labels.push_back("option " + o[0]);
    }
    return relabel(import_rows("menu_options", ocsv, rows), labels);
  };
  std::string failure;
  if (!validated_change("save menu", save, failure, error)) return false;
  if (!failure.empty()) error = failure + " (not saved)";
  return failure.empty();
}

}  // namespace tandem::rules
