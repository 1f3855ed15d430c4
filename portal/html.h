// HTML the portal's pages share: escaping of everything that came from a user
// or the DB, links with query strings, and the frame around every page. No
// JavaScript anywhere: every page works as plain HTML.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::portal {

// Text or an attribute value (quoted with "): & < > " ' escaped.
std::string escape(std::string_view text);
// A query string value: everything but unreserved characters (RFC 3986) as %XX.
std::string url_encode(std::string_view text);
// PATH?k=v&k=v with the empty values left out; escaped for an href.
std::string link(std::string_view path, const std::vector<std::pair<std::string, std::string>>& query);

// Who is looking, for the frame's header; empty login: nobody (the login page).
struct Viewer {
  std::string login;
  std::string customer;   // whose figures the page shows ("" for an operator's every customer)
  bool op = false;        // an operator account
  std::string csrf;       // the logout form's token
};

// A whole page: title, the header (links, who, logout) and `body`.
std::string page(std::string_view title, const Viewer& viewer, std::string_view body);
// An error page (403, 404, 503...): `message` is text, escaped here.
std::string error_page(int status, std::string_view message, const Viewer& viewer);

}  // namespace tandem::portal
