// Internal to rules/: the text of the Rules DB's column values, as the DB
// sends them to the load and as a CSV import gives them: TIME, DATE, DATETIME
// and DECIMAL(12,6), and rules' date ranges. Pure.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/model.h"

namespace tandem::rules::internal {

// All of `s`, in base 10; false if empty or anything is left over.
template <typename T>
bool parse_num(std::string_view s, T& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// "HH:MM:SS" (TIME, 00:00:00..24:00:00) -> seconds.
bool parse_time(std::string_view s, uint32_t& out);
// "YYYY-MM-DD": the format only (a DATE column holds real dates; an import's
// impossible date is the DB's to refuse).
bool parse_date(std::string_view s, Date& out);
// "YYYY-MM-DD HH:MM:SS" in UTC (the session's time_zone is +00:00).
bool parse_datetime(std::string_view s, UtcSeconds& out);
// "12.345600" (DECIMAL(12,6)) -> millionths.
bool parse_micros(std::string_view s, int64_t& out);
// Date -> "YYYY-MM-DD".
std::string date_text(const Date& d);
// "2026-12-24..2026-12-26;..." -> ranges, appended to `out`.
bool parse_date_ranges(std::string_view s, std::vector<DateRange>& out);

}  // namespace tandem::rules::internal
