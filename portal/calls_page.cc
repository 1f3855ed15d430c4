// The calls: newest first, a page at a time, filtered (call_filter.h); their
// CSV; one call with both legs' media quality. A customer's filter always
// carries its own name, and a call of another customer is answered 404 like
// a call that does not exist.
#include <fmt/format.h>
#include <httplib.h>

#include "cdr/query.h"
#include "cdr/record.h"
#include "portal/call_filter.h"
#include "portal/server.h"

namespace tandem::portal {

namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

std::string seconds(int64_t ms) { return fmt::format("{}.{:03}", ms / 1000, ms % 1000); }

CallParams params_of(const httplib::Request& req) {
  return {req.get_param_value("from"),      req.get_param_value("to"),
          req.get_param_value("number"),    req.get_param_value("direction"),
          req.get_param_value("disposition"), req.get_param_value("page")};
}

Query query_of(const CallParams& p, const std::string& op_customer) {
  return {{"customer", op_customer}, {"from", p.from},           {"to", p.to},
          {"number", p.number},      {"direction", p.direction}, {"disposition", p.disposition}};
}

std::string select(const char* name, const std::string& chosen, const std::vector<std::string>& options) {
  std::string out = fmt::format("<label>{0}<select name=\"{0}\"><option value=\"\">any</option>", name);
  for (const auto& o : options) {
    out += "<option" + std::string(o == chosen ? " selected" : "") + ">" + escape(o) + "</option>";
  }
  return out + "</select></label>";
}

// Changes nothing, so it is a GET without a CSRF token: a token in the URL
// would leak through the history and the logs.
std::string filter_form(const CallParams& p, const std::string& op_customer) {
  std::vector<std::string> dispositions;
#define TANDEM_DISPOSITION_NAME(n) dispositions.push_back(#n);
  TANDEM_CDR_DISPOSITIONS(TANDEM_DISPOSITION_NAME)
#undef TANDEM_DISPOSITION_NAME
  std::string out = "<form class=\"filter\" method=\"get\" action=\"/calls\">";
  if (!op_customer.empty()) {
    out += "<input type=\"hidden\" name=\"customer\" value=\"" + escape(op_customer) + "\">";
  }
  out += "<label>from<input type=\"date\" name=\"from\" value=\"" + escape(p.from) + "\"></label>";
  out += "<label>to<input type=\"date\" name=\"to\" value=\"" + escape(p.to) + "\"></label>";
  out += "<label>number<input name=\"number\" value=\"" + escape(p.number) + "\" maxlength=\"64\"></label>";
  out += select("direction", p.direction, {"inbound", "outbound"});
  out += select("disposition", p.disposition, dispositions);
  return out + "<button type=\"submit\">Filter</button></form>";
}

std::string calls_csv(const std::vector<cdr::Record>& records) {
  std::string out =
      "id,start,answer,end,direction,caller,called,customer,disposition,sip_code,duration_s,billable_s,cost,"
      "a_packets,a_lost,a_jitter_max_us,a_jitter_mean_us,b_packets,b_lost,b_jitter_max_us,b_jitter_mean_us\r\n";
  for (const auto& r : records) {
    out += cdr::RecordId::format(r.id) + "," + cdr::format_utc_ms(r.start_ms) + "," +
           (r.answer_ms ? cdr::format_utc_ms(r.answer_ms) : "") + "," + cdr::format_utc_ms(r.end_ms) + "," +
           std::string(name(r.direction)) + "," + cdr::csv_field(r.caller) + "," + cdr::csv_field(r.called) + "," +
           cdr::csv_field(r.customer) + "," + std::string(name(r.disposition)) + "," + std::to_string(r.sip_code) +
           "," + seconds(r.duration_ms) + "," + std::to_string(r.billable_s) + "," + cdr::format_money(r.cost_micros);
    for (const auto& l : r.legs) {
      out += fmt::format(",{},{},{},{}", l.packets, l.lost, l.jitter_max_us, l.jitter_mean_us);
    }
    out += "\r\n";
  }
  return out;
}

std::string calls_table(const std::vector<cdr::Record>& records, size_t shown, const std::string& op_customer) {
  std::string out =
      "<table id=\"calls\"><tr><th>start (UTC)</th><th>direction</th><th>caller</th><th>called</th>"
      "<th>disposition</th><th>duration s</th><th>billable s</th><th>cost</th></tr>";
  for (size_t i = 0; i < shown; ++i) {
    const auto& r = records[i];
    const std::string id = cdr::RecordId::format(r.id);
    out += "<tr><td><a href=\"" + link("/calls/" + id, {{"customer", op_customer}}) + "\">" +
           escape(cdr::format_utc_ms(r.start_ms)) + "</a></td><td>" + std::string(name(r.direction)) + "</td><td>" +
           escape(r.caller) + "</td><td>" + escape(r.called) + "</td><td>" + std::string(name(r.disposition)) +
           " (" + std::to_string(r.sip_code) + ")</td><td class=\"n\">" + seconds(r.duration_ms) +
           "</td><td class=\"n\">" + std::to_string(r.billable_s) + "</td><td class=\"n\">" +
           cdr::format_money(r.cost_micros) + "</td></tr>";
  }
  return out + "</table>";
}

}  // namespace

void Portal::calls(const httplib::Request& req, httplib::Response& res, bool as_csv) {
  auto ctx = authenticate(req, res);
  if (!ctx) return;
  const CallParams p = params_of(req);
  cdr::QueryFilter f;
  uint32_t page_number = 1;
  std::string why;
  if (!parse_call_params(p, f, page_number, why)) return error(res, 400, why, ctx->viewer);
  f.customer = ctx->customer;
  if (as_csv) {
    f.limit = config_.csv_max_rows;
    f.offset = 0;
  }
  auto db = cdr_db_.take(why);
  std::vector<cdr::Record> records;
  if (!db || !cdr::query_records(**db, f, records, why)) {
    if (db) db->drop();
    return unavailable(res, why, ctx->viewer);
  }
  if (as_csv) return csv(res, "calls.csv", calls_csv(records));
  const std::string op_customer = ctx->account.op ? ctx->customer : "";
  const Query q = query_of(p, op_customer);
  const bool more = records.size() > kPageSize;
  std::string body = filter_form(p, op_customer);
  body += calls_table(records, std::min<size_t>(records.size(), kPageSize), op_customer);
  if (records.empty()) body += "<p>No calls.</p>";
  auto page_link = [&q](uint32_t n, const char* text) {
    Query with = q;
    with.emplace_back("page", std::to_string(n));
    return "<a href=\"" + link("/calls", with) + "\">" + text + "</a>";
  };
  body += "<p>Page " + std::to_string(page_number);
  if (page_number > 1) body += " &middot; " + page_link(page_number - 1, "newer");
  if (more) body += " &middot; " + page_link(page_number + 1, "older");
  body += " &middot; <a href=\"" + link("/calls.csv", q) + "\">Download CSV</a></p>";
  html(res, 200, page(ctx->customer.empty() ? "Calls" : "Calls of " + ctx->customer, ctx->viewer, body));
}

void Portal::call(const httplib::Request& req, httplib::Response& res) {
  auto ctx = authenticate(req, res);
  if (!ctx) return;
  uint64_t id = 0;
  if (!cdr::RecordId::parse(req.matches[1].str(), id)) return error(res, 404, "No such call.", ctx->viewer);
  std::string why;
  auto db = cdr_db_.take(why);
  std::optional<cdr::Record> r;
  if (!db || !cdr::find_record(**db, id, r, why)) {
    if (db) db->drop();
    return unavailable(res, why, ctx->viewer);
  }
  // Another customer's call and no call at all look the same.
  if (!r || (!ctx->customer.empty() && r->customer != ctx->customer)) {
    return error(res, 404, "No such call.", ctx->viewer);
  }
  std::string body = "<table id=\"call\">";
  auto row = [&body](const char* k, const std::string& v) {
    body += std::string("<tr><th>") + k + "</th><td>" + escape(v) + "</td></tr>";
  };
  row("id", cdr::RecordId::format(r->id));
  row("customer", r->customer);
  row("direction", std::string(name(r->direction)));
  row("caller", r->caller);
  row("called", r->called);
  row("start (UTC)", cdr::format_utc_ms(r->start_ms));
  row("answer (UTC)", r->answer_ms ? cdr::format_utc_ms(r->answer_ms) : "-");
  row("end (UTC)", cdr::format_utc_ms(r->end_ms));
  row("duration", seconds(r->duration_ms) + " s");
  row("billable", std::to_string(r->billable_s) + " s");
  row("cost", cdr::format_money(r->cost_micros));
  row("disposition", std::string(name(r->disposition)) + " (" + std::to_string(r->sip_code) + ")");
  row("hangup", std::string(name(r->hangup_side)) + (r->hangup_reason.empty() ? "" : ": " + r->hangup_reason));
  body += "</table><h2>Media quality</h2><table id=\"media\"><tr><th>leg</th><th>packets</th><th>bytes</th>"
          "<th>lost</th><th>jitter max (us)</th><th>jitter mean (us)</th></tr>";
  const char* legs[] = {"caller", "callee"};
  for (size_t i = 0; i < 2; ++i) {
    const auto& l = r->legs[i];
    body += fmt::format(
        "<tr><th>{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
        "<td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
        legs[i], l.packets, l.bytes, l.lost, l.jitter_max_us, l.jitter_mean_us);
  }
  body += "</table>";
  html(res, 200, page("Call " + cdr::RecordId::format(r->id), ctx->viewer, body));
}

}  // namespace tandem::portal
