#include "rules/csv_tables.h"

#include <string_view>

#include "rules/column_text.h"
#include "rules/menu.h"
#include "rules/model.h"
#include "rules/prompt_wav.h"
#include "rules/store.h"

namespace tandem::rules {

namespace internal {

namespace {

const std::vector<TableSpec>& table_specs() {
  static const std::vector<TableSpec> specs = {
      {"customers",
       {{"id", Type::integer}, {"name", Type::text}, {"time_zone", Type::text},
        {"vm_sip", Type::text}, {"default_action", Type::text}, {"default_target", Type::text}},
       {{"default_action", "default_target"}}},
      {"numbers",
       {{"id", Type::integer}, {"e164", Type::e164}, {"customer_id", Type::integer},
        {"customer", Type::ref, false, "customer_id", "customers", "name"}},
       {}},
      {"rules",
       {{"id", Type::integer}, {"number_id", Type::integer},
        {"number", Type::ref, false, "number_id", "numbers", "e164"}, {"priority", Type::integer},
        {"caller_match", Type::text}, {"caller_pattern", Type::text}, {"days", Type::days},
        {"time_from", Type::time, true}, {"time_to", Type::time, true}, {"action", Type::text},
        {"target", Type::text}, {"description", Type::text}, {"dates", Type::text}},
       {{"action", "target"}}},
      {"rule_dates",
       {{"id", Type::integer}, {"rule_id", Type::integer}, {"date_from", Type::text},
        {"date_to", Type::text}},
       {}},
      {"menus",
       {{"id", Type::integer}, {"customer_id", Type::integer},
        {"customer", Type::ref, false, "customer_id", "customers", "name"}, {"name", Type::text},
        {"prompt", Type::prompt}, {"timeout_s", Type::integer}, {"inter_digit_timeout_s", Type::integer},
        {"retries", Type::integer}, {"timeout_action", Type::text}, {"timeout_target", Type::text},
        {"invalid_action", Type::text}, {"invalid_target", Type::text}},
       {{"timeout_action", "timeout_target"}, {"invalid_action", "invalid_target"}}},
      {"menu_options",
       {{"id", Type::integer}, {"menu_id", Type::integer}, {"digits", Type::entry},
        {"action", Type::text}, {"target", Type::text}},
       {{"action", "target"}}},
      {"providers",
       {{"id", Type::integer}, {"name", Type::text}, {"sip_address", Type::text},
        {"max_calls", Type::integer}, {"enabled", Type::boolean}, {"preference", Type::integer}},
       {}},
      {"rates",
       {{"id", Type::integer}, {"provider_id", Type::integer},
        {"provider", Type::ref, false, "provider_id", "providers", "name"},
        {"prefix", Type::digits}, {"cost_per_min", Type::decimal},
        {"billing_increment_s", Type::integer}, {"valid_from", Type::datetime, true},
        {"valid_to", Type::datetime, true}},
       {}},
  };
  return specs;
}

}  // namespace

const TableSpec* find_spec(const std::string& table) {
  for (const auto& t : table_specs()) {
    if (table == t.name) return &t;
  }
  return nullptr;
}

bool is_virtual(const TableSpec& t, const ColumnSpec& c) {
  return c.type == Type::ref || (std::string_view(t.name) == "rules" && std::string_view(c.name) == "dates");
}

bool check_field(Type type, std::string& v, const NumberPlan& plan, std::string& why) {
  const auto refuse = [&](const char* what) {
    why = "\"" + v + "\" is not " + what;
    return false;
  };
  switch (type) {
    case Type::integer: {
      int64_t n = 0;
      return parse_num(std::string_view(v), n) || refuse("an integer");
    }
    case Type::boolean:
      if (v == "1" || v == "true" || v == "yes") {
        v = "1";
      } else if (v == "0" || v == "false" || v == "no") {
        v = "0";
      } else {
        return refuse("true/false");
      }
      break;
    case Type::e164: {
      std::string n;
      if (!normalize_number(v, plan, n, why)) return false;
      v = n;
      break;
    }
    case Type::time: {
      uint32_t t = 0;
      return parse_time(v, t) || refuse("HH:MM:SS (00:00:00-24:00:00)");
    }
    case Type::datetime: {
      UtcSeconds t;
      return parse_datetime(v, t) || refuse("YYYY-MM-DD HH:MM:SS (UTC)");
    }
    case Type::decimal: {
      int64_t m = 0;
      return (parse_micros(v, m) && m >= 0) || refuse("a cost (up to 6 decimals)");
    }
    case Type::days: {
      DayMask d = 0;
      return (parse_days(v, d) && d != 0) || refuse("a list of mon..sun");
    }
    case Type::digits: {
      uint64_t k = 0;
      return (v[0] != '+' && digits_key(v, k)) || refuse("1-15 digits");
    }
    case Type::prompt: {
      PromptInfo info;
      return check_prompt_file(v, info, why);
    }
    case Type::entry:
      return valid_entry(v, why);
    case Type::text:
    case Type::ref:
      break;
  }
  return true;
}

}  // namespace internal

const std::vector<std::string>& table_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& t : internal::table_specs()) n.push_back(t.name);
    return n;
  }();
  return names;
}

std::vector<std::string> csv_columns(const std::string& table) {
  std::vector<std::string> out;
  if (const internal::TableSpec* t = internal::find_spec(table)) {
    for (const auto& c : t->columns) out.push_back(c.name);
  }
  return out;
}

}  // namespace tandem::rules
