#include "portal/http_parts.h"

namespace tandem::portal {

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
  }
  return {};
}

std::string set_cookie(std::string_view name, std::string_view value, bool secure, int64_t max_age_s) {
  std::string out = std::string(name) + "=" + std::string(value) + "; Path=/; HttpOnly; SameSite=Strict";
  if (secure) out += "; Secure";
  if (max_age_s >= 0) out += "; Max-Age=" + std::to_string(max_age_s);
  return out;
}

}  // namespace tandem::portal
