#include "rules/table_readers.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <utility>

#include "rules/row_reader.h"

namespace tandem::rules::internal {

namespace {

void read_customers(sql::Connection& c, const NumberPlan& plan, std::vector<Customer>& out, std::string& bad) {
  static constexpr Column cols[] = {{"id", "id"},         {"name", "name"},
                                    {"time_zone", "time_zone"}, {"vm_sip", "vm_sip"},
                                    {"default_action", "default_action"}, {"default_target", "default_target"}};
  Rows rows(c, select(cols, "FROM customers ORDER BY id"));
  while (rows.next()) {
    Row r(rows.rs(), "customers", cols, bad);
    Customer x;
    x.id = r.id();
    x.name = r.str(2);
    x.time_zone = r.str(3);
    x.vm_sip = r.str(4);
    x.default_action = r.action(5, 6, plan);
    out.push_back(std::move(x));
  }
}

void read_numbers(sql::Connection& c, std::vector<Number>& out) {
  Rows rows(c, "SELECT id, e164, customer_id FROM numbers ORDER BY id");
  sql::ResultSet& rs = rows.rs();
  while (rows.next()) out.push_back(Number{rs.getUInt64(1), rs.getString(2), rs.getUInt64(3)});
}

void read_rule_dates(sql::Connection& c, std::vector<RuleDate>& out, std::string& bad) {
  static constexpr Column cols[] = {{"id", "id"}, {"rule_id", "rule_id"}, {"date_from", "date_from"},
                                    {"date_to", "date_to"}};
  Rows rows(c, select(cols, "FROM rule_dates ORDER BY id"));
  while (rows.next()) {
    Row r(rows.rs(), "rule_dates", cols, bad);
    RuleDate x{r.u64(2), r.id(), {}};
    if (!parse_date(r.str(3), x.range.from)) r.fail(3, "not a date");
    if (!parse_date(r.str(4), x.range.to)) r.fail(4, "not a date");
    out.push_back(x);
  }
}

void read_providers(sql::Connection& c, std::vector<Provider>& out) {
  Rows rows(c, "SELECT id, name, sip_address, max_calls, enabled, preference FROM providers ORDER BY id");
  sql::ResultSet& rs = rows.rs();
  while (rows.next()) {
    Provider p;
    p.id = rs.getUInt64(1);
    p.name = rs.getString(2);
    p.sip_address = rs.getString(3);
    p.max_calls = rs.getUInt(4);
    p.enabled = rs.getBoolean(5);
    p.preference = rs.getInt(6);
    out.push_back(std::move(p));
  }
}

void read_rates(sql::Connection& c, std::vector<Rate>& out, std::string& bad) {
  static constexpr Column cols[] = {{"id", "id"},
                                    {"provider_id", "provider_id"},
                                    {"prefix", "prefix"},
                                    {"cost_per_min", "cost_per_min"},
                                    {"billing_increment_s", "billing_increment_s"},
                                    {"valid_from", "valid_from"},
                                    {"valid_to", "valid_to"}};
  Rows rows(c, select(cols, "FROM rates ORDER BY id"));
  sql::ResultSet& rs = rows.rs();
  while (rows.next()) {
    Row r(rs, "rates", cols, bad);
    Rate x;
    x.id = r.id();
    x.provider_id = r.u64(2);
    x.prefix = r.str(3);
    const std::string cost = r.str(4);
    if (!parse_micros(cost, x.cost_micros)) r.fail(4, "\"" + cost + "\"");
    x.increment_s = rs.getUInt(5);
    for (auto [col, dst] : {std::pair{6u, &x.valid_from}, {7u, &x.valid_to}}) {
      if (r.null(col)) continue;
      UtcSeconds t;
      const std::string v = r.str(col);
      if (parse_datetime(v, t)) {
        *dst = t;
      } else {
        r.fail(col, "\"" + v + "\" is not a date and time");
      }
    }
    out.push_back(std::move(x));
  }
}

}  // namespace

// `only`: one menu and its options, else all.
void read_menus(sql::Connection& c, const NumberPlan& plan, std::vector<Menu>& out, std::string& bad,
                std::optional<Id> only) {
  static constexpr Column cols[] = {{"id", "id"},
                                    {"customer_id", "customer_id"},
                                    {"name", "name"},
                                    {"prompt", "prompt"},
                                    {"timeout_s", "timeout_s"},
                                    {"timeout_action", "timeout_action"},
                                    {"timeout_target", "timeout_target"},
                                    {"invalid_action", "invalid_action"},
                                    {"invalid_target", "invalid_target"},
                                    {"inter_digit_timeout_s", "inter_digit_timeout_s"},
                                    {"retries", "retries"}};
  const std::string one = only ? std::to_string(*only) : "";
  absl::flat_hash_map<Id, size_t> index;
  {
    Rows rows(c, select(cols, ("FROM menus " + (only ? "WHERE id = " + one : "") + " ORDER BY id").c_str()));
    while (rows.next()) {
      Row r(rows.rs(), "menus", cols, bad);
      Menu m;
      m.id = r.id();
      m.customer_id = r.u64(2);
      m.name = r.str(3);
      m.prompt = r.str(4);
      m.timeout_s = r.num<uint16_t>(5);
      m.timeout_action = r.action(6, 7, plan);
      m.invalid_action = r.action(8, 9, plan);
      m.inter_digit_timeout_s = r.num<uint16_t>(10);
      m.retries = r.num<uint8_t>(11);
      index[m.id] = out.size();
      out.push_back(std::move(m));
    }
  }
  static constexpr Column option_cols[] = {
      {"id", "id"}, {"menu_id", "menu_id"}, {"digits", "digits"}, {"action", "action"}, {"target", "target"}};
  Rows rows(c, select(option_cols,
                      ("FROM menu_options " + (only ? "WHERE menu_id = " + one : "") + " ORDER BY menu_id, digits")
                          .c_str()));
  while (rows.next()) {
    Row r(rows.rs(), "menu_options", option_cols, bad);
    MenuOption o;
    o.digits = r.str(3);
    o.action = r.action(4, 5, plan);
    auto it = index.find(r.u64(2));
    if (it == index.end()) {
      r.fail(2, "no such menu");
    } else {
      out[it->second].options.push_back(std::move(o));
    }
  }
}

std::string version_rows(sql::Connection& c, uint64_t& sum) {
  Rows rows(c, "SELECT server_id, version FROM config_version ORDER BY server_id");
  std::string out;
  sum = 0;
  while (rows.next()) {
    const uint64_t v = rows.rs().getUInt64(2);
    out += std::to_string(rows.rs().getUInt64(1)) + ":" + std::to_string(v) + " ";
    sum += v;
  }
  return out;
}

// `days + 0`: the SET as its bit mask, bit 0 = 'mon' ... bit 6 = 'sun' (the
// SET's order in schema.sql), which is DayMask.
void read_rules(sql::Connection& c, const NumberPlan& plan, std::vector<Rule>& out, std::string& bad,
                const std::string& where) {
  static constexpr Column cols[] = {
      {"id", "id"},           {"number_id", "number_id"}, {"priority", "priority"},
      {"caller_match", "caller_match"}, {"caller_pattern", "caller_pattern"}, {"days + 0", "days"},
      {"time_from", "time_from"}, {"time_to", "time_to"}, {"action", "action"},
      {"target", "target"},   {"description", "description"}};
  Rows rows(c, select(cols, ("FROM rules " + where + " ORDER BY id").c_str()));
  sql::ResultSet& rs = rows.rs();
  while (rows.next()) {
    Row r(rs, "rules", cols, bad);
    Rule x;
    x.id = r.id();
    x.number_id = r.u64(2);
    x.priority = rs.getInt(3);
    const std::string cm = r.str(4);
    if (auto m = parse_caller_match(cm)) {
      x.caller_match = *m;
    } else {
      r.fail(4, "unknown \"" + cm + "\"");
    }
    x.caller_pattern = r.str(5);
    x.days = static_cast<DayMask>(rs.getUInt(6) & kAllDays);
    const bool from_null = r.null(7), to_null = r.null(8);
    if (!from_null && !to_null) {
      TimeWindow w;
      const std::string from = r.str(7), to = r.str(8);
      if (!parse_time(from, w.from_s)) r.fail(7, "\"" + from + "\" is not 00:00:00-24:00:00");
      if (!parse_time(to, w.to_s)) r.fail(8, "\"" + to + "\" is not 00:00:00-24:00:00");
      x.window = w;
    } else if (!from_null || !to_null) {
      r.fail(7, "time_from and time_to must both be set or both NULL");
    }
    x.action = r.action(9, 10, plan);
    x.description = r.str(11);
    out.push_back(std::move(x));
  }
}

void attach_dates(std::vector<Rule>& rules, std::vector<RuleDate>& dates, std::string& bad) {
  std::stable_sort(dates.begin(), dates.end(),
                   [](const RuleDate& a, const RuleDate& b) { return a.rule_id < b.rule_id; });
  size_t r = 0;
  for (const RuleDate& x : dates) {
    while (r < rules.size() && rules[r].id < x.rule_id) ++r;
    if (r == rules.size() || rules[r].id != x.rule_id) {
      if (bad.empty()) bad = "rule_dates id " + std::to_string(x.id) + " column rule_id: no such rule";
      continue;
    }
    rules[r].dates.push_back(x.range);
  }
}

std::string Part::first_bad() const {
  for (const std::string* b : {&customers, &rules, &rule_dates, &menus, &rates}) {
    if (!b->empty()) return *b;
  }
  return {};
}

void read_tables(sql::Connection& c, const NumberPlan& plan, bool with_rules, RulesData& d, Part& p) {
  read_customers(c, plan, d.customers, p.customers);
  read_numbers(c, d.numbers);
  if (with_rules) read_rules(c, plan, d.rules, p.rules);
  read_rule_dates(c, p.dates, p.rule_dates);
  read_menus(c, plan, d.menus, p.menus);
  read_providers(c, d.providers);
  read_rates(c, d.rates, p.rates);
}

}  // namespace tandem::rules::internal
