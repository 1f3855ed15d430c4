#include "tools/tandemctl/rules_commands.h"

#include "tools/tandemctl/call_commands.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rules/csv.h"
#include "rules/explain.h"
#include "rules/schema.h"
#include "rules/snapshot.h"
#include "rules/store.h"
#include "tools/tandemctl/db_options.h"
#include "tools/tandemctl/menu_commands.h"

namespace tandem::ctl {

using namespace tandem::rules;

// Exit codes: 0 done, 1 the DB refused or is unreachable, 2 bad usage.

void add_db_options(CLI::App* cmd, RulesDbOptions& o) {
  tandem::ctl::add_db_options(cmd, o.conn, "", "Rules DB");
  cmd->add_option("--country-code", o.plan.country_code, "for national numbers")->capture_default_str();
  cmd->add_option("--national-prefix", o.plan.national_prefix, "trunk prefix")->capture_default_str();
  cmd->add_option("--international-prefix", o.plan.international_prefix, "")->capture_default_str();
}

std::shared_ptr<const Snapshot> load_snapshot(const GlobalOptions& g, Store& store, const NumberPlan& plan,
                                              int& exit_code) {
  RulesData d;
  std::string e;
  if (!store.load(d, e)) {
    fail(g, exit_code, e);
    return nullptr;
  }
  std::vector<std::string> errors;
  auto s = Snapshot::build(std::move(d), plan, errors);
  if (!s) {
    std::string all = "the Rules DB does not validate:";
    for (const auto& x : errors) all += "\n  " + x;
    fail(g, exit_code, all);
  }
  return s;
}

namespace {

// "2026-03-29 01:30[:SS]", "2026-03-29T01:30:00Z" (UTC), or "now".
bool parse_at(const std::string& text, UtcSeconds& out) {
  if (text.empty() || text == "now") {
    out = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    return true;
  }
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char sep = 0;
  const int n = std::sscanf(text.c_str(), "%d-%u-%u%c%u:%u:%u", &y, &mo, &d, &sep, &h, &mi, &s);
  if (n < 6 || (sep != ' ' && sep != 'T') || h > 23 || mi > 59 || s > 59) return false;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{mo}, std::chrono::day{d}};
  if (!ymd.ok()) return false;
  out = std::chrono::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
        std::chrono::seconds{s};
  return true;
}

nlohmann::json action_json(const Action& a, const Customer* c) {
  nlohmann::json j{{"kind", std::string(name(a.kind))}, {"text", describe(a)}};
  switch (a.kind) {
    case ActionKind::voicemail:
      if (c) j["vm_sip"] = c->vm_sip;
      break;
    case ActionKind::forward:
      j["number"] = a.number;
      break;
    case ActionKind::ring:
      j["targets"] = nlohmann::json::array();
      for (const auto& t : a.ring) j["targets"].push_back({{"target", t.target}, {"timeout_s", t.timeout_s}});
      break;
    case ActionKind::menu:
      j["menu_id"] = a.menu_id;
      break;
    case ActionKind::reject:
      j["sip_code"] = a.sip_code;
      break;
    case ActionKind::extension:
      j["extension"] = a.number;
      if (c) j["vm_sip"] = c->vm_sip;
      break;
    case ActionKind::repeat:
    case ActionKind::hangup:
      break;
  }
  return j;
}

nlohmann::json to_json(const InboundDecision& d) {
  nlohmann::json j{{"called", d.called}};
  switch (d.status) {
    case InboundStatus::bad_number:
      j["status"] = "bad_number";
      j["error"] = d.error;
      return j;
    case InboundStatus::unknown_number:
      j["status"] = "unknown_number";
      j["error"] = d.error;
      return j;
    case InboundStatus::routed:
      j["status"] = "routed";
      break;
  }
  j["caller"] = d.caller_anonymous ? "anonymous" : d.caller;
  j["customer"] = {{"id", d.customer->id}, {"name", d.customer->name}, {"time_zone", d.customer->time_zone}};
  j["local_time"] = format(d.local);
  j["skipped"] = nlohmann::json::array();
  for (const auto& m : d.skipped) {
    j["skipped"].push_back({{"rule", m.rule->id}, {"priority", m.rule->priority},
                            {"conditions", describe(*m.rule)}, {"reason", std::string(name(m.reason))}});
  }
  j["rule"] = d.rule ? nlohmann::json{{"id", d.rule->id}, {"priority", d.rule->priority},
                                      {"conditions", describe(*d.rule)},
                                      {"description", d.rule->description}}
                     : nlohmann::json(nullptr);
  j["action"] = action_json(*d.action, d.customer);
  return j;
}

nlohmann::json to_json(const MenuPath& p, const Customer& c) {
  nlohmann::json j{{"steps", nlohmann::json::array()}};
  for (const auto& st : p.steps) {
    nlohmann::json x{{"menu", st.menu->id}, {"entry", st.entry}, {"outcome", std::string(name(st.outcome))}};
    if (st.option) x["option"] = st.option->digits;
    if (st.retry) x["retry"] = st.retry;
    if (st.action) x["action"] = action_json(*st.action, &c);
    if (!st.ignored.empty()) x["ignored"] = st.ignored;
    j["steps"].push_back(std::move(x));
  }
  j["action"] = p.action ? action_json(*p.action, &c) : nlohmann::json(nullptr);
  j["waiting_in_menu"] = p.waiting ? nlohmann::json(p.waiting->id) : nlohmann::json(nullptr);
  j["unused_entries"] = p.unused;
  return j;
}

// "2,201#,timeout" -> its entries.
std::vector<std::string> split_entries(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (!s.empty() && start <= s.size()) {
    const size_t comma = std::min(s.find(',', start), s.size());
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

nlohmann::json to_json(const OutboundDecision& d) {
  if (!d.ok) return {{"status", "bad_number"}, {"error", d.error}};
  nlohmann::json j{{"status", "ok"}, {"dialled", d.dialled}, {"providers", nlohmann::json::array()},
                   {"skipped", nlohmann::json::array()}};
  for (const auto& c : d.providers) {
    j["providers"].push_back({{"provider", c.provider->name}, {"sip_address", c.provider->sip_address},
                              {"prefix", c.rate->prefix}, {"cost_micros_per_min", c.rate->cost_micros},
                              {"increment_s", c.rate->increment_s}, {"preference", c.provider->preference}});
  }
  for (const auto& k : d.skipped) {
    j["skipped"].push_back({{"provider", k.provider->name}, {"prefix", k.rate->prefix},
                            {"reason", std::string(name(k.reason))}});
  }
  return j;
}

}  // namespace

void print_table(const std::string& csv, bool json) {
  std::vector<std::vector<std::string>> rec;
  std::vector<size_t> lines;
  std::string e;
  if (!parse_csv(csv, rec, lines, e) || rec.empty()) return;
  if (json) {
    nlohmann::json all = nlohmann::json::array();
    for (size_t r = 1; r < rec.size(); ++r) {
      nlohmann::json o = nlohmann::json::object();
      for (size_t i = 0; i < rec[0].size() && i < rec[r].size(); ++i) o[rec[0][i]] = rec[r][i];
      all.push_back(o);
    }
    std::cout << all.dump(2) << "\n";
    return;
  }
  std::vector<size_t> width(rec[0].size(), 0);
  for (const auto& r : rec) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rec) {
    std::string line;
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      line += r[i] + (i + 1 < r.size() ? std::string(width[i] - r[i].size() + 2, ' ') : "");
    }
    std::cout << line << "\n";
  }
  std::cout << rec.size() - 1 << " rows\n";
}

bool parse_fields(const std::vector<std::string>& fields, std::vector<std::pair<std::string, std::string>>& out,
                  std::string& error) {
  for (const auto& f : fields) {
    const auto eq = f.find('=');
    if (eq == std::string::npos || eq == 0) {
      error = "\"" + f + "\": expected COLUMN=VALUE";
      return false;
    }
    out.emplace_back(f.substr(0, eq), f.substr(eq + 1));
  }
  return true;
}

namespace {

std::string table_list() {
  std::string s;
  for (const auto& t : table_names()) s += (s.empty() ? "" : ", ") + t;
  return s;
}

// The TABLE argument of list, export, import, add and delete.
void add_table_argument(CLI::App* cmd, std::string& table) {
  cmd->add_option("TABLE", table, table_list())->required()->check(CLI::IsMember(table_names()));
}

// FILE's contents, or stdin's for "-".
bool read_input(const std::string& file, std::string& out) {
  std::stringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream f(file);
    if (!f) return false;
    ss << f.rdbuf();
  }
  out = ss.str();
  return true;
}

// COLUMN=VALUE fields -> the CSV import_csv takes: a header row and one row.
bool fields_to_csv(const std::vector<std::string>& fields, std::string& csv, std::string& error) {
  std::string header, row;
  auto quote = [](const std::string& v) {
    std::string q = "\"";
    for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!parse_fields(fields, pairs, error)) return false;
  for (const auto& [column, value] : pairs) {
    header += (header.empty() ? "" : ",") + column;
    row += (row.empty() ? "" : ",") + quote(value);
  }
  csv = header + "\n" + row + "\n";
  return true;
}

// What `rules status` shows.
struct RulesStatus {
  int schema = 0;
  uint64_t version = 0;
  uint32_t inc = 0, off = 0;
  size_t customers = 0, numbers = 0, rules = 0, menus = 0, providers = 0, rates = 0;
  bool valid = false;
  std::vector<std::string> errors;
};

bool read_status(Store& store, const NumberPlan& plan, RulesStatus& s, std::string& e) {
  if (!store.schema_version(s.schema, e) || !store.config_version(s.version, e) ||
      !store.id_spacing(s.inc, s.off, e)) {
    return false;
  }
  RulesData d;
  if (!store.load(d, e)) return false;
  s.customers = d.customers.size();
  s.numbers = d.numbers.size();
  s.rules = d.rules.size();
  s.menus = d.menus.size();
  s.providers = d.providers.size();
  s.rates = d.rates.size();
  s.valid = Snapshot::build(d, plan, s.errors) != nullptr;
  return true;
}

void print_status(const RulesStatus& s, bool json) {
  if (json) {
    std::cout << nlohmann::json{{"schema_version", s.schema},
                                {"latest_schema_version", rules::schema().latest_version()},
                                {"config_version", s.version},
                                {"auto_increment_increment", s.inc},
                                {"auto_increment_offset", s.off},
                                {"customers", s.customers}, {"numbers", s.numbers},
                                {"rules", s.rules}, {"menus", s.menus},
                                {"providers", s.providers}, {"rates", s.rates},
                                {"valid", s.valid}, {"errors", s.errors}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << "schema version " << s.schema << " (this build: " << rules::schema().latest_version()
            << "), config version " << s.version << "\n"
            << "ids: auto_increment_increment " << s.inc << ", offset " << s.off
            << (s.inc < 2 ? "  (WARNING: single-server setting; both DCs would make the same ids)" : "")
            << "\n"
            << s.customers << " customers, " << s.numbers << " numbers, " << s.rules << " rules, "
            << s.menus << " menus, " << s.providers << " providers, " << s.rates << " rates\n"
            << (s.valid ? "valid\n" : "DOES NOT VALIDATE:\n");
  for (const auto& x : s.errors) std::cout << "  " << x << "\n";
}

void add_rules_reload(CLI::App* rules, GlobalOptions& g, int& exit_code) {
  rules->add_subcommand("reload", "make tandem-control load the Rules DB now, not at its next poll")
      ->callback([&g, &exit_code] {
        std::string e;
        auto r = control_request(g.control_socket, {{"cmd", "rules-reload"}}, e);
        if (!r) return (void)fail(g, exit_code, "reload: " + e);
        print_object(g, *r);
      });
}

void add_rules_migrate(CLI::App* rules, const RulesDbOptions& db, GlobalOptions& g, int& exit_code) {
  rules->add_subcommand("migrate", "create the database and apply the schema migrations it lacks")
      ->callback([&db, &g, &exit_code] {
        Store store(db.config(), db.plan);
        db::MigrateResult m;
        std::string e;
        if (!store.migrate(m, e)) return (void)fail(g, exit_code, e);
        std::cout << "schema version " << m.from << " -> " << m.to << "\n";
      });
}

void add_rules_status(CLI::App* rules, const RulesDbOptions& db, GlobalOptions& g, int& exit_code) {
  rules->add_subcommand("status", "schema and config versions, id spacing, rows, validity")
      ->callback([&db, &g, &exit_code] {
        Store store(db.config(), db.plan);
        RulesStatus s;
        std::string e;
        if (!read_status(store, db.plan, s, e)) return (void)fail(g, exit_code, e);
        print_status(s, g.json);
        if (!s.valid) exit_code = kRefused;
      });
}

void add_rules_check(CLI::App* rules, const RulesDbOptions& db, GlobalOptions& g, int& exit_code) {
  rules->add_subcommand("check", "load and validate the Rules DB as the control plane would")
      ->callback([&db, &g, &exit_code] {
        Store store(db.config(), db.plan);
        if (auto s = load_snapshot(g, store, db.plan, exit_code)) {
          std::cout << "version " << s->version() << " is valid\n";
        }
      });
}

// `list` and `export`: one table read out, as a table or as CSV.
void add_rules_list_export(CLI::App* rules, const RulesDbOptions& db, GlobalOptions& g, int& exit_code) {
  auto* list = rules->add_subcommand("list", "list a table's rows (--json: objects)");
  static std::string list_table;
  add_table_argument(list, list_table);
  list->callback([&db, &g, &exit_code] {
    Store store(db.config(), db.plan);
    std::string csv, e;
    if (!store.export_csv(list_table, csv, e)) return (void)fail(g, exit_code, e);
    print_table(csv, g.json);
  });

  auto* exp = rules->add_subcommand("export", "a table as CSV, as import takes it back");
  static std::string export_table;
  add_table_argument(exp, export_table);
  exp->callback([&db, &g, &exit_code] {
    Store store(db.config(), db.plan);
    std::string csv, e;
    if (!store.export_csv(export_table, csv, e)) return (void)fail(g, exit_code, e);
    std::cout << csv;
  });
}

void add_rules_import(CLI::App* rules, const RulesDbOptions& db, GlobalOptions& g, int& exit_code) {
  auto* imp = rules->add_subcommand(
      "import", "load a CSV file into a table: all rows or none (a bad row names its line and column)");
  static std::string import_table, import_file;
  add_table_argument(imp, import_table);
  imp->add_option("FILE", import_file, "CSV with a header row of column names (- for stdin)")->required();
  imp->callback([&db, &g, &exit_code] {
    std::string csv;
    if (!read_input(import_file, csv)) return (void)fail(g, exit_code, "cannot read " + import_file, kUsage);
    Store store(db.config(), db.plan);
    size_t rows = 0;
    std::string e;
    if (!store.import_csv(import_table, csv, rows, e)) {
      return (void)fail(g, exit_code, import_file + ": " + e);
    }
    std::cout << rows << " rows imported into " << import_table << "\n";
  });
}

void add_rules_add(CLI::App* rules, const RulesDbOptions& db, GlobalOptions& g, int& exit_code) {
  auto* add = rules->add_subcommand("add", "add one row: tandemctl rules add rules number=+4930... action=reject target=486");
  static std::string add_table;
  static std::vector<std::string> add_fields;
  add_table_argument(add, add_table);
  add->add_option("COLUMN=VALUE", add_fields, "the row's columns (see export for their names)")->required();
  add->callback([&db, &g, &exit_code] {
    std::string csv, e;
    if (!fields_to_csv(add_fields, csv, e)) return (void)fail(g, exit_code, e, kUsage);
    Store store(db.config(), db.plan);
    size_t rows = 0;
    if (!store.import_csv(add_table, csv, rows, e)) return (void)fail(g, exit_code, e);
    std::cout << "added to " << add_table << "\n";
  });
}

void add_rules_delete(CLI::App* rules, const RulesDbOptions& db, GlobalOptions& g, int& exit_code) {
  auto* del = rules->add_subcommand("delete", "delete a row by id (what hangs on it goes too)");
  static std::string delete_table;
  static uint64_t delete_id = 0;
  add_table_argument(del, delete_table);
  del->add_option("ID", delete_id, "row id")->required();
  del->callback([&db, &g, &exit_code] {
    Store store(db.config(), db.plan);
    bool found = false;
    std::string e;
    if (!store.remove(delete_table, delete_id, found, e)) return (void)fail(g, exit_code, e);
    if (!found) return (void)fail(g, exit_code, delete_table + " has no id " + std::to_string(delete_id));
    std::cout << "deleted " << delete_table << " " << delete_id << "\n";
  });
}

// `tandemctl route`: a top-level command with its own DB flags.
void add_route_command(CLI::App& app, GlobalOptions& g, int& exit_code) {
  static RulesDbOptions rdb;
  auto* route = app.add_subcommand(
      "route", "what the rules do with a call, and why: tandemctl route CALLED --from CALLER [--at TIME]");
  add_db_options(route, rdb);
  static std::string route_number, route_from, route_at, route_digits;
  static bool route_outbound = false;
  route->add_option("NUMBER", route_number, "called number (or, with --outbound, dialled number)")->required();
  route->add_option("--from", route_from, "caller ID (empty or 'anonymous': withheld)");
  route->add_option("--at", route_at, "UTC time: \"YYYY-MM-DD HH:MM[:SS]\" or ...T...Z (default now)");
  route->add_option("--digits", route_digits,
                    "a menu's caller: entries in turn, e.g. 2,201#,timeout (201 alone: ended by the inter-digit timeout)");
  route->add_flag("--outbound", route_outbound, "least-cost routing of a dialled number");
  route->callback([&g, &exit_code] {
    UtcSeconds at;
    if (!parse_at(route_at, at)) {
      return (void)fail(g, exit_code, "--at " + route_at + ": expected \"YYYY-MM-DD HH:MM[:SS]\" (UTC)", kUsage);
    }
    Store store(rdb.config(), rdb.plan);
    auto s = load_snapshot(g, store, rdb.plan, exit_code);
    if (!s) return;
    if (route_outbound) {
      const OutboundDecision d = s->route_outbound(route_number, at);
      std::cout << (g.json ? to_json(d).dump(2) + "\n" : explain(d));
      if (!d.ok) exit_code = kUsage;
      return;
    }
    const InboundDecision d = s->route_inbound(route_number, route_from, at);
    const bool in_menu = d.status == InboundStatus::routed && d.action->kind == ActionKind::menu;
    if (!route_digits.empty() && !in_menu) {
      return (void)fail(g, exit_code, "--digits: this call reaches no menu", kUsage);
    }
    MenuPath path;
    if (in_menu) path = follow_menus(*s, d.action->menu_id, split_entries(route_digits));
    if (!path.error.empty()) return (void)fail(g, exit_code, "--digits: " + path.error, kUsage);
    if (g.json) {
      nlohmann::json j = to_json(d);
      if (in_menu) j["menu_path"] = to_json(path, *d.customer);
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << explain(d) << (in_menu ? explain(path, *d.customer) : "");
    }
    if (d.status == InboundStatus::bad_number) exit_code = kUsage;
    if (d.status == InboundStatus::unknown_number) exit_code = kRefused;
  });
}

}  // namespace

void add_rules_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  static RulesDbOptions db;
  CLI::App* rules = app.add_subcommand("rules", "the Rules DB: customers, numbers, rules, menus, providers, rates");
  rules->require_subcommand(1);
  rules->fallthrough();
  add_db_options(rules, db);
  add_rules_reload(rules, g, exit_code);
  add_rules_migrate(rules, db, g, exit_code);
  add_rules_status(rules, db, g, exit_code);
  add_rules_check(rules, db, g, exit_code);
  add_rules_list_export(rules, db, g, exit_code);
  add_rules_import(rules, db, g, exit_code);
  add_rules_add(rules, db, g, exit_code);
  add_rules_delete(rules, db, g, exit_code);
  add_menu_commands(rules, db, g, exit_code);
  add_route_command(app, g, exit_code);
}

}  // namespace tandem::ctl
