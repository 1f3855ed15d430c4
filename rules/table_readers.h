// Internal to rules/: the load's readers of the Rules DB's tables, each
// streaming its rows into the model (see Store::load).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rules/model.h"

namespace sql {
class Connection;
}  // namespace sql

namespace tandem::rules::internal {

// The config_version rows ("server:version ..."), which tell whether two
// transactions see the same rules (every change bumps a row), and their sum.
std::string version_rows(sql::Connection& c, uint64_t& sum);

// `where`: a part of the table ("WHERE id >= ..."), or all of it.
void read_rules(sql::Connection& c, const NumberPlan& plan, std::vector<Rule>& out, std::string& bad,
                const std::string& where = "");

// `only`: that menu and its options, else every menu.
void read_menus(sql::Connection& c, const NumberPlan& plan, std::vector<Menu>& out, std::string& bad,
                std::optional<Id> only = std::nullopt);

struct RuleDate {
  Id rule_id;
  Id id;
  DateRange range;
};

// Dates to their rules (both by id): a merge, not a lookup per date.
void attach_dates(std::vector<Rule>& rules, std::vector<RuleDate>& dates, std::string& bad);

// What one connection reads of a load; `bad` per table, reported in table order.
struct Part {
  std::string customers, rules, rule_dates, menus, rates;  // the first bad row of each
  std::vector<RuleDate> dates;
  std::string failure;                                     // a DB error: nothing is usable
  std::string first_bad() const;
};

// Everything but the rules (the largest table, read beside it), or everything.
void read_tables(sql::Connection& c, const NumberPlan& plan, bool with_rules, RulesData& d, Part& p);

}  // namespace tandem::rules::internal
