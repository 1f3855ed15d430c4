#include "rules/column_text.h"

#include <chrono>
#include <cstdio>

namespace tandem::rules::internal {

bool parse_time(std::string_view s, uint32_t& out) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
  uint32_t h = 0, m = 0, sec = 0;
  if (!parse_num(s.substr(0, 2), h) || !parse_num(s.substr(3, 2), m) ||
      !parse_num(s.substr(6, 2), sec) || m > 59 || sec > 59) {
    return false;
  }
  out = h * 3600 + m * 60 + sec;
  return out <= 24 * 3600;
}

bool parse_date(std::string_view s, Date& out) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int32_t y = 0;
  unsigned m = 0, d = 0;
  if (!parse_num(s.substr(0, 4), y) || !parse_num(s.substr(5, 2), m) ||
      !parse_num(s.substr(8, 2), d)) {
    return false;
  }
  out = Date{y, static_cast<uint8_t>(m), static_cast<uint8_t>(d)};
  return true;
}

bool parse_datetime(std::string_view s, UtcSeconds& out) {
  Date d;
  uint32_t tod = 0;
  if (s.size() < 19 || s[10] != ' ' || !parse_date(s.substr(0, 10), d) ||
      !parse_time(s.substr(11, 8), tod)) {
    return false;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{d.year}, std::chrono::month{d.month},
                                        std::chrono::day{d.day}};
  if (!ymd.ok()) return false;
  out = std::chrono::sys_days{ymd} + std::chrono::seconds{tod};
  return true;
}

bool parse_micros(std::string_view s, int64_t& out) {
  bool neg = false;
  if (!s.empty() && s[0] == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  const auto dot = s.find('.');
  int64_t whole = 0, frac = 0;
  if (!parse_num(s.substr(0, dot), whole)) return false;
  if (dot != std::string_view::npos) {
    std::string f(s.substr(dot + 1));
    if (f.size() > 6) return false;
    f.resize(6, '0');
    if (!parse_num(std::string_view(f), frac)) return false;
  }
  out = (whole * 1000000 + frac) * (neg ? -1 : 1);
  return true;
}

std::string date_text(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

bool parse_date_ranges(std::string_view s, std::vector<DateRange>& out) {
  size_t start = 0;
  while (start < s.size()) {
    auto semi = s.find(';', start);
    if (semi == std::string_view::npos) semi = s.size();
    const std::string_view item = s.substr(start, semi - start);
    const auto dots = item.find("..");
    DateRange r;
    if (dots == std::string_view::npos || !parse_date(item.substr(0, dots), r.from) ||
        !parse_date(item.substr(dots + 2), r.to)) {
      return false;
    }
    out.push_back(r);
    start = semi + 1;
  }
  return true;
}

}  // namespace tandem::rules::internal
