#include "tools/tandemctl/cdr_commands.h"

#include "tools/tandemctl/call_commands.h"

#include <cppconn/connection.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cdr/mysql_sink.h"
#include "cdr/query.h"
#include "db/connection.h"
#include "tools/tandemctl/db_options.h"

namespace tandem::ctl {
namespace {

std::unique_ptr<sql::Connection> connect(const GlobalOptions& g, const DbOptions& o, int& exit_code) {
  std::string e;
  auto c = db::connect(o.config<cdr::DbConfig>(), true, e);
  if (!c) fail(g, exit_code, e);
  return c;
}

std::string money(int64_t micros) {
  const char* sign = micros < 0 ? "-" : "";
  const uint64_t m = micros < 0 ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  return fmt::format("{}{}.{:06}", sign, m / 1000000, m % 1000000);
}

std::string seconds_ms(int64_t ms) {
  const char* sign = ms < 0 ? "-" : "";
  const uint64_t m = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  return fmt::format("{}{}.{:03}", sign, m / 1000, m % 1000);
}

// Display width of UTF-8 text: one column per code point.
size_t width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<uint8_t>(c) & 0xc0) != 0x80; }));
}

nlohmann::json to_json(const cdr::Record& r) {
  nlohmann::json legs = nlohmann::json::array();
  for (const auto& l : r.legs) {
    legs.push_back({{"packets", l.packets}, {"bytes", l.bytes}, {"lost", l.lost},
                    {"jitter_max_us", l.jitter_max_us}, {"jitter_mean_us", l.jitter_mean_us}});
  }
  return {{"id", cdr::RecordId::format(r.id)},
          {"id_number", r.id},
          {"call_id", r.call_id},
          {"direction", std::string(name(r.direction))},
          {"caller", r.caller},
          {"called", r.called},
          {"customer", r.customer},
          {"target", r.target},
          {"menu_path", r.menu_path},
          {"provider", r.provider},
          {"cost", money(r.cost_micros)},
          {"dc", r.dc},
          {"server", r.server},
          {"start", cdr::format_utc_ms(r.start_ms)},
          {"answer", r.answer_ms ? nlohmann::json(cdr::format_utc_ms(r.answer_ms)) : nlohmann::json(nullptr)},
          {"end", cdr::format_utc_ms(r.end_ms)},
          {"duration_ms", r.duration_ms},
          {"billable_s", r.billable_s},
          {"disposition", std::string(name(r.disposition))},
          {"sip_code", r.sip_code},
          {"hangup_side", std::string(name(r.hangup_side))},
          {"hangup_reason", r.hangup_reason},
          {"legs", legs}};
}

// One line per record, oldest first, aligned, then a count.
std::string record_table(const std::vector<cdr::Record>& records) {
  std::vector<std::vector<std::string>> cells{{"id", "start (UTC)", "dir", "caller", "called", "customer",
                                               "disposition", "code", "duration", "billable"}};
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    const auto& r = *it;
    cells.push_back({cdr::RecordId::format(r.id), cdr::format_utc_ms(r.start_ms),
                     r.direction == cdr::Direction::inbound ? "in" : "out", r.caller, r.called, r.customer,
                     std::string(name(r.disposition)), std::to_string(r.sip_code), seconds_ms(r.duration_ms),
                     std::to_string(r.billable_s)});
  }
  const size_t columns = cells[0].size();
  std::vector<size_t> w(columns, 0);
  for (const auto& row : cells) {
    for (size_t c = 0; c < columns; ++c) w[c] = std::max(w[c], width(row[c]));
  }
  std::string out;
  for (const auto& row : cells) {
    std::string line;
    for (size_t c = 0; c < columns; ++c) {
      const std::string pad(w[c] - width(row[c]), ' ');
      line += c >= 7 ? pad + row[c] : row[c] + pad;   // text left, numbers right
      if (c + 1 < columns) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out += std::to_string(records.size()) + (records.size() == 1 ? " record\n" : " records\n");
  return out;
}

// Every field, one per line.
std::string record_detail(const cdr::Record& r) {
  std::string out;
  auto field = [&out](const char* key, const std::string& value) {
    out += fmt::format("{:<14}{}\n", key, value);
  };
  field("id", cdr::RecordId::format(r.id) + " (" + std::to_string(r.id) + ")");
  field("call-id", r.call_id);
  field("direction", std::string(name(r.direction)));
  field("caller", r.caller);
  field("called", r.called);
  field("customer", r.customer);
  field("target", r.target.empty() ? "-" : r.target);
  if (!r.menu_path.empty()) field("menus", r.menu_path);
  field("provider", r.provider.empty() ? "-" : r.provider);
  field("cost", money(r.cost_micros));
  field("dc/server", r.dc + "/" + r.server);
  field("start", cdr::format_utc_ms(r.start_ms) + " UTC");
  field("answer", r.answer_ms ? cdr::format_utc_ms(r.answer_ms) + " UTC" : "-");
  field("end", cdr::format_utc_ms(r.end_ms) + " UTC");
  field("duration", seconds_ms(r.duration_ms) + " s");
  field("billable", std::to_string(r.billable_s) + " s");
  field("disposition", std::string(name(r.disposition)) + " (" + std::to_string(r.sip_code) + ")");
  field("hangup", std::string(name(r.hangup_side)) + (r.hangup_reason.empty() ? "" : ": " + r.hangup_reason));
  const char* leg_names[] = {"caller leg", "callee leg"};
  for (size_t i = 0; i < 2; ++i) {
    const auto& l = r.legs[i];
    // RFC 3550's loss is negative when a sender repeated packets: duplicates.
    const std::string loss = l.lost < 0 ? fmt::format("{} duplicates", -l.lost) : fmt::format("{} lost", l.lost);
    field(leg_names[i], fmt::format("{} packets, {} bytes, {}, jitter max {} us, mean {} us", l.packets, l.bytes,
                                    loss, l.jitter_max_us, l.jitter_mean_us));
  }
  return out;
}

void print_records(const GlobalOptions& g, const std::vector<cdr::Record>& records) {
  if (g.json) {
    nlohmann::json all = nlohmann::json::array();
    for (auto it = records.rbegin(); it != records.rend(); ++it) all.push_back(to_json(*it));
    std::cout << all.dump(2) << "\n";
  } else {
    std::cout << record_table(records);
  }
}

void run_query(const GlobalOptions& g, const DbOptions& db, const cdr::QueryFilter& f, int& exit_code) {
  auto c = connect(g, db, exit_code);
  if (!c) return;
  std::vector<cdr::Record> records;
  std::string e;
  if (!cdr::query_records(*c, f, records, e)) return fail(g, exit_code, e);
  print_records(g, records);
}

// --from/--to of `cdr query`: empty leaves `out` unset.
bool parse_time_option(const GlobalOptions& g, const char* flag, const std::string& text, std::optional<int64_t>& out,
                       int& exit_code) {
  if (text.empty()) return true;
  int64_t ms = 0;
  if (!cdr::parse_utc_time(text, ms)) {
    fail(g, exit_code, std::string(flag) + " " + text + ": expected YYYY-MM-DD[ HH:MM[:SS]] (UTC)", kUsage);
    return false;
  }
  out = ms;
  return true;
}

void print_usage(const GlobalOptions& g, const std::vector<cdr::UsageRow>& rows, bool csv) {
  if (csv) {
    std::cout << cdr::usage_csv(rows);
  } else if (g.json) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : rows) {
      all.push_back({{"customer", r.key}, {"calls", r.calls}, {"answered", r.answered},
                     {"billable_s", r.billable_s}, {"cost", money(r.cost_micros)}});
    }
    std::cout << all.dump(2) << "\n";
  } else {
    std::cout << cdr::usage_table(rows);
  }
}

void add_cdr_stats(CLI::App* cdr, GlobalOptions& g, int& exit_code) {
  cdr->add_subcommand("stats", "tandem-control's CDR writer: queued, spooled, written, retried, rejected, spool bytes")
      ->callback([&g, &exit_code] {
        std::string e;
        auto r = control_request(g.control_socket, {{"cmd", "cdr-stats"}}, e);
        if (!r) return fail(g, exit_code, e);
        print_object(g, *r);
      });
}

void add_cdr_tail(CLI::App* cdr, const DbOptions& db, GlobalOptions& g, int& exit_code) {
  static uint32_t tail_count = 20;
  auto* tail = cdr->add_subcommand("tail", "the newest records, oldest of them first");
  tail->add_option("-n,--count", tail_count, "how many")->capture_default_str()->check(CLI::Range(1u, 100000u));
  tail->callback([&db, &g, &exit_code] {
    cdr::QueryFilter f;
    f.limit = tail_count;
    run_query(g, db, f, exit_code);
  });
}

void add_cdr_show(CLI::App* cdr, const DbOptions& db, GlobalOptions& g, int& exit_code) {
  static std::string show_id;
  auto* show = cdr->add_subcommand("show", "every field of one record");
  show->add_option("ID", show_id, "record id: DC-NODE-SEQ as listed, or its number")->required();
  show->callback([&db, &g, &exit_code] {
    uint64_t id = 0;
    if (!cdr::RecordId::parse(show_id, id)) {
      return fail(g, exit_code, "\"" + show_id + "\": expected DC-NODE-SEQ or a number", kUsage);
    }
    auto c = connect(g, db, exit_code);
    if (!c) return;
    std::optional<cdr::Record> r;
    std::string e;
    if (!cdr::find_record(*c, id, r, e)) return fail(g, exit_code, e);
    if (!r) return fail(g, exit_code, "no record " + cdr::RecordId::format(id));
    std::cout << (g.json ? to_json(*r).dump(2) + "\n" : record_detail(*r));
  });
}

void add_cdr_query(CLI::App* cdr, const DbOptions& db, GlobalOptions& g, int& exit_code) {
  static std::string query_from, query_to, query_number, query_customer;
  static uint32_t query_limit = 100;
  auto* query = cdr->add_subcommand(
      "query", "records by start time, number and customer (the newest --limit, oldest of them first)");
  query->add_option("--from", query_from, "started at or after: YYYY-MM-DD[ HH:MM[:SS]] (UTC)");
  query->add_option("--to", query_to, "started before: YYYY-MM-DD[ HH:MM[:SS]] (UTC)");
  query->add_option("--number", query_number, "caller or called number, exactly as recorded");
  query->add_option("--customer", query_customer, "customer name, exactly");
  query->add_option("--limit", query_limit, "at most this many")->capture_default_str()->check(
      CLI::Range(1u, 1000000u));
  query->callback([&db, &g, &exit_code] {
    cdr::QueryFilter f;
    if (!parse_time_option(g, "--from", query_from, f.from_ms, exit_code) ||
        !parse_time_option(g, "--to", query_to, f.to_ms, exit_code)) {
      return;
    }
    f.number = query_number;
    f.customer = query_customer;
    f.limit = query_limit;
    run_query(g, db, f, exit_code);
  });
}

void add_cdr_report(CLI::App* cdr, const DbOptions& db, GlobalOptions& g, int& exit_code) {
  static std::string report_month;
  static bool report_csv = false;
  auto* report = cdr->add_subcommand("report", "call usage per customer in a UTC month: calls, minutes, cost");
  report->add_option("--month", report_month, "YYYY-MM")->required();
  report->add_flag("--csv", report_csv, "CSV (RFC 4180) instead of a table");
  report->callback([&db, &g, &exit_code] {
    int year = 0, month = 0;
    if (!cdr::parse_month(report_month, year, month)) {
      return fail(g, exit_code, "--month " + report_month + ": expected YYYY-MM", kUsage);
    }
    auto c = connect(g, db, exit_code);
    if (!c) return;
    std::vector<cdr::UsageRow> rows;
    std::string e;
    if (!cdr::usage_report(*c, year, month, rows, e)) return fail(g, exit_code, e);
    print_usage(g, rows, report_csv);
  });
}

}  // namespace

void add_cdr_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  static DbOptions db = cdr_db_options();
  CLI::App* cdr = app.add_subcommand("cdr", "call detail records in the CDR DB: tail, show, query, report");
  cdr->require_subcommand(1);
  cdr->fallthrough();
  add_db_options(cdr, db, "", "CDR DB");
  add_cdr_stats(cdr, g, exit_code);
  add_cdr_tail(cdr, db, g, exit_code);
  add_cdr_show(cdr, db, g, exit_code);
  add_cdr_query(cdr, db, g, exit_code);
  add_cdr_report(cdr, db, g, exit_code);
}

}  // namespace tandem::ctl
