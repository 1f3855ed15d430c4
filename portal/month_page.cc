// The month: a customer's calls, answered, minutes, billable minutes and cost
// per direction with their total (the same figures as `tandemctl cdr report`:
// both come from cdr::usage), and a chart of calls and minutes per day. An
// operator without a customer picked sees the report of every customer.
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <fmt/format.h>
#include <httplib.h>

#include <chrono>

#include "cdr/query.h"
#include "db/connection.h"
#include "portal/server.h"
#include "portal/svg_chart.h"

namespace tandem::portal {

namespace {

struct Month {
  int year = 0;
  int month = 0;
  std::string text() const { return fmt::format("{:04}-{:02}", year, month); }
  Month next() const { return month == 12 ? Month{year + 1, 1} : Month{year, month + 1}; }
  Month previous() const { return month == 1 ? Month{year - 1, 12} : Month{year, month - 1}; }
  unsigned days() const {
    const std::chrono::year_month_day_last last{std::chrono::year{year},
                                                std::chrono::month_day_last{std::chrono::month{
                                                    static_cast<unsigned>(month)}}};
    return static_cast<unsigned>(last.day());
  }
};

Month this_month() {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month()))};
}

std::string cell(const std::string& s) { return "<td class=\"n\">" + escape(s) + "</td>"; }

// `head`: the first cell's HTML (the key, or a link).
std::string usage_row(const std::string& head, const cdr::UsageRow& r, bool with_talk) {
  std::string out = "<tr><th>" + head + "</th>" + cell(std::to_string(r.calls)) +
                    cell(std::to_string(r.answered));
  if (with_talk) out += cell(cdr::format_minutes((r.talk_ms + 500) / 1000));
  return out + cell(cdr::format_minutes(r.billable_s)) + cell(cdr::format_money(r.cost_micros)) + "</tr>";
}

// Every day of the month, those without calls as zero bars.
std::string charts(const Month& m, const std::vector<cdr::UsageRow>& days) {
  std::vector<Bar> calls, minutes;
  size_t next = 0;
  for (unsigned d = 1; d <= m.days(); ++d) {
    const std::string key = fmt::format("{}-{:02}", m.text(), d);
    cdr::UsageRow r{key};
    if (next < days.size() && days[next].key == key) r = days[next++];
    calls.push_back({std::to_string(d), static_cast<double>(r.calls), std::to_string(r.calls) + " calls"});
    minutes.push_back({std::to_string(d), static_cast<double>(r.billable_s) / 60.0,
                       cdr::format_minutes(r.billable_s) + " billable minutes"});
  }
  return "<div class=\"charts\">" + bar_chart("Calls per day", calls) + " " +
         bar_chart("Billable minutes per day", minutes) + "</div>";
}

}  // namespace

void Portal::month(const httplib::Request& req, httplib::Response& res, bool as_csv) {
  auto ctx = authenticate(req, res);
  if (!ctx) return;
  Month m = this_month();
  if (req.has_param("month") && !cdr::parse_month(req.get_param_value("month"), m.year, m.month)) {
    return error(res, 400, "month: YYYY-MM", ctx->viewer);
  }
  const bool every_customer = ctx->customer.empty();
  std::string why;
  auto db = cdr_db_.take(why);
  std::vector<cdr::UsageRow> rows, days;
  if (!db || !cdr::usage(**db, m.year, m.month, every_customer ? cdr::UsageGroup::customer : cdr::UsageGroup::direction,
                         ctx->customer, rows, why) ||
      (!every_customer && !cdr::usage(**db, m.year, m.month, cdr::UsageGroup::day, ctx->customer, days, why))) {
    if (db) db->drop();
    return unavailable(res, why, ctx->viewer);
  }
  if (as_csv) {
    const std::string name = every_customer ? "usage-" + m.text() + ".csv" : "usage-" + m.text() + "-customer.csv";
    if (every_customer) return csv(res, name, cdr::usage_csv(rows));   // what `tandemctl cdr report --csv` prints
    auto with_total = rows;
    with_total.push_back(cdr::usage_total(rows, "total"));
    return csv(res, name, cdr::usage_csv(with_total, "direction"));
  }
  const std::vector<std::pair<std::string, std::string>> who = {{"customer", ctx->account.op ? ctx->customer : ""}};
  auto with = [&who](std::vector<std::pair<std::string, std::string>> q) {
    q.insert(q.end(), who.begin(), who.end());
    return q;
  };
  std::string body = "<p><a href=\"" + link("/month", with({{"month", m.previous().text()}})) +
                     "\">&larr; " + m.previous().text() + "</a> <strong>" + m.text() + " (UTC)</strong> <a href=\"" +
                     link("/month", with({{"month", m.next().text()}})) + "\">" + m.next().text() + " &rarr;</a></p>";
  body += "<table id=\"usage\"><tr><th>" + std::string(every_customer ? "customer" : "direction") +
          "</th><th>calls</th><th>answered</th>" + (every_customer ? "" : "<th>minutes</th>") +
          "<th>billable minutes</th><th>cost</th></tr>";
  for (const auto& r : rows) {
    const std::string head = every_customer ? "<a href=\"" + link("/month", {{"month", m.text()}, {"customer", r.key}}) +
                                                  "\">" + escape(r.key) + "</a>"
                                            : escape(r.key);
    body += usage_row(head, r, !every_customer);
  }
  body += usage_row("total", cdr::usage_total(rows, "total"), !every_customer) + "</table>";
  body += "<p>Minutes: from answer to hang-up; billable minutes: as charged, per call rounded up to the second.</p>";
  if (!every_customer) body += charts(m, days);
  body += "<p><a href=\"" + link("/month.csv", with({{"month", m.text()}})) + "\">Download CSV</a> &middot; <a href=\"" +
          link("/calls", with({{"from", m.text() + "-01"}, {"to", fmt::format("{}-{:02}", m.text(), m.days())}})) +
          "\">This month's calls</a></p>";
  html(res, 200, page(every_customer ? "Every customer's month" : "Month of " + ctx->customer, ctx->viewer, body));
}

void Portal::customers(const httplib::Request& req, httplib::Response& res) {
  auto ctx = authenticate(req, res);
  if (!ctx) return;
  // Only operators pick customers; to a customer the page does not exist.
  if (!ctx->account.op) return error(res, 404, "No such page.", ctx->viewer);
  std::string why;
  auto db = rules_db_.take(why);
  if (!db) return unavailable(res, why, ctx->viewer);
  std::string body = "<ul>";
  try {
    auto rs = db::query(**db, "SELECT name FROM customers ORDER BY name");
    while (rs->next()) {
      const std::string name = rs->getString(1);
      body += "<li><a href=\"" + link("/month", {{"customer", name}}) + "\">" + escape(name) + "</a></li>";
    }
  } catch (const sql::SQLException& e) {
    db->drop();
    return unavailable(res, db::error_text(e), ctx->viewer);
  }
  body += "</ul><p><a href=\"/month\">Every customer's month</a></p>";
  html(res, 200, page("Customers", ctx->viewer, body));
}

}  // namespace tandem::portal
