#include "rules/time_zone.h"

#include <array>
#include <cstdio>

#include "rules/snapshot.h"

namespace tandem::rules {

void Zone::load(const absl::TimeZone& zone) {
  tz = zone;
  auto add = [&](absl::Time t) {
    const absl::TimeZone::CivilInfo ci = tz.At(t);
    begins.push_back(absl::ToUnixSeconds(t));
    offsets.push_back(ci.offset);
    abbrs.emplace_back(ci.zone_abbr ? ci.zone_abbr : "");
  };
  absl::Time t = absl::FromUnixSeconds(kZoneFrom);
  add(t);
  absl::TimeZone::CivilTransition tr;
  while (tz.NextTransition(t, &tr)) {
    const absl::Time next = tz.At(tr.to).trans;
    if (next <= t || absl::ToUnixSeconds(next) >= kZoneTo) break;
    t = next;
    add(t);
  }
}

bool valid_date(const Date& d) {
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.year < -1000000 || d.year > 1000000) return false;
  return civil_from_days(days_from_civil(d.year, d.month, d.day)) == d;
}

std::string format_date(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::string format(const LocalTime& t) {
  static constexpr std::array<const char*, 7> kDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  const int32_t off = t.utc_offset_s;
  const int32_t abs_off = off < 0 ? -off : off;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s %s %02u:%02u:%02u %s (%c%02d:%02d)",
                format_date(t.date).c_str(), kDays.at(t.weekday % 7), t.second_of_day / 3600,
                t.second_of_day / 60 % 60, t.second_of_day % 60, t.zone_abbr.c_str(),
                off < 0 ? '-' : '+', abs_off / 3600, abs_off / 60 % 60);
  return buf;
}

}  // namespace tandem::rules
