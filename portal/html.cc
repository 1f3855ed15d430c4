#include "portal/html.h"

#include <cstdio>

namespace tandem::portal {

namespace {

// Inline: the portal fetches nothing from elsewhere, and its
// Content-Security-Policy allows no other source.
constexpr std::string_view kStyle = R"css(
body{font-family:sans-serif;margin:0;color:#222}
header{background:#234;color:#fff;padding:.5em 1em;display:flex;gap:1.5em;align-items:center}
header a{color:#fff}
header form{margin-left:auto}
main{padding:1em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.2em .6em}
td.n{text-align:right;font-variant-numeric:tabular-nums}
form.filter{display:flex;flex-wrap:wrap;gap:.5em;align-items:end;margin:.5em 0}
form.filter label{display:flex;flex-direction:column;font-size:.85em}
.error{color:#a00}
)css";

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

std::string link(std::string_view path, const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out(path);
  char sep = '?';
  for (const auto& [k, v] : query) {
    if (v.empty()) continue;
    out += sep + url_encode(k) + "=" + url_encode(v);
    sep = '&';
  }
  return escape(out);
}

std::string page(std::string_view title, const Viewer& viewer, std::string_view body) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>";
  out += escape(title);
  out += " - Tandem</title><style>";
  out += kStyle;
  out += "</style></head><body><header><strong>Tandem</strong>";
  if (!viewer.login.empty()) {
    const std::vector<std::pair<std::string, std::string>> who = {{"customer", viewer.op ? viewer.customer : ""}};
    out += "<a href=\"" + link("/month", who) + "\">Month</a>";
    out += "<a href=\"" + link("/calls", who) + "\">Calls</a>";
    if (viewer.op) out += "<a href=\"/customers\">Customers</a>";
    out += "<span>" + escape(viewer.login) +
           (viewer.op ? " (operator" + (viewer.customer.empty() ? std::string() : ": " + escape(viewer.customer)) + ")"
                      : " (" + escape(viewer.customer) + ")") +
           "</span>";
    out += "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"" +
           escape(viewer.csrf) + "\"><button type=\"submit\">Log out</button></form>";
  }
  out += "</header><main><h1>";
  out += escape(title);
  out += "</h1>\n";
  out += body;
  out += "</main></body></html>\n";
  return out;
}

std::string error_page(int status, std::string_view message, const Viewer& viewer) {
  const char* title = status == 403   ? "Forbidden"
                      : status == 404 ? "Not found"
                      : status == 429 ? "Too many attempts"
                      : status == 503 ? "Unavailable"
                                      : "Error";
  return page(title, viewer, "<p class=\"error\">" + escape(message) + "</p>");
}

}  // namespace tandem::portal
