// A call's local time in its customer's zone without cctz on the call path
// (snapshot.h says why not <chrono>'s tz database): each zone's UTC offsets
// as a table of periods, and integer civil-date arithmetic.
#pragma once

#include <absl/time/time.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rules/model.h"

namespace tandem::rules {

inline constexpr uint32_t kSecondsPerDay = 24 * 3600;

// Proleptic Gregorian calendar <-> days since 1970-01-01 (std::chrono's civil
// calendar): the local date of a call without a cctz civil-time conversion.
constexpr int32_t days_from_civil(int32_t y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return static_cast<int32_t>(sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count());
}

constexpr Date civil_from_days(int32_t z) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{z}}};
  return Date{static_cast<int32_t>(ymd.year()), static_cast<uint8_t>(static_cast<unsigned>(ymd.month())),
              static_cast<uint8_t>(static_cast<unsigned>(ymd.day()))};
}

// 0 Monday ... 6 Sunday; 1970-01-01 was a Thursday.
constexpr uint8_t weekday_of(int64_t days) { return static_cast<uint8_t>(((days % 7) + 10) % 7); }

constexpr int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2026, 1, 13) == 20466);
static_assert(civil_from_days(20466) == Date{2026, 1, 13});
static_assert(civil_from_days(-1) == Date{1969, 12, 31});
static_assert(weekday_of(20466) == 1);  // a Tuesday
static_assert(weekday_of(-1) == 2);

bool valid_date(const Date& d);
std::string format_date(const Date& d);  // "2026-01-13"

// One time zone: its UTC offsets from kZoneFrom to kZoneTo as periods.
inline constexpr int64_t kZoneFrom = 0;             // 1970-01-01
inline constexpr int64_t kZoneTo = 4102444800;      // 2100-01-01

struct Zone {
  absl::TimeZone tz;
  std::vector<int64_t> begins;      // each period's first UTC second, ascending; [0] = kZoneFrom
  std::vector<int32_t> offsets;     // its UTC offset
  std::vector<std::string> abbrs;   // its abbreviation ("CET")

  void load(const absl::TimeZone& zone);

  // UTC offset and abbreviation at `t` (unix seconds). Forced inline: GCC
  // inlines a function of its own file called once (route_inbound, where this
  // was), not one of a header this big.
  [[gnu::always_inline]] void at(int64_t t, int32_t& offset, std::string& abbr) const {
    if (t < kZoneFrom || t >= kZoneTo) {
      const absl::TimeZone::CivilInfo ci = tz.At(absl::FromUnixSeconds(t));
      offset = ci.offset;
      abbr = ci.zone_abbr ? ci.zone_abbr : "";
      return;
    }
    const size_t i = static_cast<size_t>(std::upper_bound(begins.begin(), begins.end(), t) - begins.begin()) - 1;
    offset = offsets[i];
    abbr = abbrs[i];
  }
};

}  // namespace tandem::rules
