// Snapshot::route_inbound: the called number's DID slot, the caller and the
// local time, then its compiled rules in priority order.
#include "rules/snapshot.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/compiled_index.h"
#include "rules/e164_digits.h"
#include "rules/time_zone.h"

namespace tandem::rules {

bool is_anonymous_caller(std::string_view caller) {
  static constexpr std::array<std::string_view, 5> kNames{"anonymous", "unknown", "withheld",
                                                          "restricted", "private"};
  if (caller.empty()) return true;
  for (auto n : kNames) {
    if (n.size() != caller.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n.size() && same; ++i) {
      const char c = caller[i];
      same = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == n[i];
    }
    if (same) return true;
  }
  return false;
}

namespace {

using CompiledRule = CompiledIndex::CompiledRule;

// The caller as the rules compare it.
struct Caller {
  bool anonymous = false;
  bool valid = false;        // normalised (anonymous callers are not)
  uint64_t value = 0;        // its digits as a number
  uint8_t len = 0;
};

// `normalised`: the caller's E.164 form, the text as given if it has none.
Caller read_caller(std::string_view caller, const NumberPlan& plan, std::string& normalised) {
  Caller c;
  c.anonymous = is_anonymous_caller(caller);
  if (!c.anonymous) {
    std::string unused;
    c.valid = to_e164(caller, plan, normalised, unused);
    if (c.valid) {
      digits_value(normalised, c.value, c.len);
    } else {
      normalised = std::string(caller);
    }
  }
  return c;
}

// The call's local day as the rules compare it.
struct Day {
  int64_t today;             // local days since 1970-01-01
  uint32_t tod;              // second of the day
  uint8_t weekday;
  uint8_t weekday_before;
};

// The local time, and the day a window that wraps midnight started on.
Day local_day(const Zone& zone, UtcSeconds utc, LocalTime& local) {
  const int64_t t = utc.time_since_epoch().count();
  int32_t offset = 0;
  zone.at(t, offset, local.zone_abbr);
  const int64_t wall = t + offset;
  const int64_t today = floor_div(wall, kSecondsPerDay);
  const auto tod = static_cast<uint32_t>(wall - today * kSecondsPerDay);
  const uint8_t weekday = weekday_of(today);
  const uint8_t weekday_before = static_cast<uint8_t>((weekday + 6) % 7);
  local.date = civil_from_days(static_cast<int32_t>(today));
  local.weekday = weekday;
  local.second_of_day = tod;
  local.utc_offset_s = offset;
  return Day{today, tod, weekday, weekday_before};
}

std::optional<MissReason> caller_miss(const CompiledRule& c, const Caller& caller) {
  switch (c.match) {
    case CallerMatch::any:
      break;
    case CallerMatch::anonymous:
      if (!caller.anonymous) return MissReason::caller_not_anonymous;
      break;
    case CallerMatch::exact:
    case CallerMatch::prefix: {
      if (caller.anonymous) return MissReason::caller_anonymous;
      const bool match =
          caller.valid &&
          (c.match == CallerMatch::exact
               ? caller.len == c.pattern_len && caller.value == c.pattern
               : caller.len >= c.pattern_len && caller.value / kPow10[caller.len - c.pattern_len] == c.pattern);
      if (!match) return MissReason::caller_differs;
      break;
    }
  }
  return std::nullopt;
}

std::optional<MissReason> time_miss(const CompiledRule& c, const Day& day,
                                    const std::vector<CompiledIndex::DaySpan>& dates) {
  // The day the window (if any) started on.
  bool started_before = false;
  if (c.window) {
    if (c.from_s < c.to_s) {
      if (day.tod < c.from_s || day.tod >= c.to_s) return MissReason::outside_time_window;
    } else if (day.tod < c.to_s) {
      started_before = true;
    } else if (day.tod < c.from_s) {
      return MissReason::outside_time_window;
    }
  }
  if (!(c.days & (1u << (started_before ? day.weekday_before : day.weekday)))) return MissReason::day_of_week;
  if (c.date_count) {
    const auto d = static_cast<int32_t>(day.today - (started_before ? 1 : 0));
    const CompiledIndex::DaySpan* spans = &dates[c.dates];
    const bool in = std::any_of(spans, spans + c.date_count,
                                [&](const CompiledIndex::DaySpan& r) { return r.from <= d && d <= r.to; });
    if (!in) return MissReason::outside_dates;
  }
  return std::nullopt;
}

}  // namespace

InboundDecision Snapshot::route_inbound(std::string_view called, std::string_view caller,
                                        UtcSeconds utc) const {
  InboundDecision out;
  const Index& ix = *index_;
  uint64_t key = 0;
  if (!to_e164(called, plan_, out.called, out.error) || !digits_key(out.called, key)) {
    out.status = InboundStatus::bad_number;
    return out;
  }
  const size_t first = ix.numbers.home(key);
  __builtin_prefetch(&ix.numbers[first]);

  // The caller, while the DID's slot is on its way.
  const Caller who = read_caller(caller, plan_, out.caller);

  const CompiledIndex::NumberSlot* ns = ix.numbers.find(key, first);
  if (!ns) {
    out.caller.clear();
    out.status = InboundStatus::unknown_number;
    out.error = "number " + out.called + " is not one of ours";
    return out;
  }
  const CompiledRule* rule = ix.rules.data() + ns->rules;  // null + 0 with no rules at all
  const CompiledRule* const rules_end = rule + ns->rule_count;
  __builtin_prefetch(rule);
  __builtin_prefetch(reinterpret_cast<const char*>(rule) + 64);
  out.status = InboundStatus::routed;
  out.caller_anonymous = who.anonymous;
  out.caller_valid = who.valid;
  out.number = &data_.numbers[ns->number];
  out.customer = &data_.customers[ns->customer];

  const Day day = local_day(ix.zones[ns->zone], utc, out.local);
  for (; rule != rules_end; ++rule) {
    std::optional<MissReason> why = caller_miss(*rule, who);
    if (!why) why = time_miss(*rule, day, ix.dates);
    if (why) {
      out.skipped.push_back({&data_.rules[rule->rule], *why});
      continue;
    }
    out.rule = &data_.rules[rule->rule];
    out.action = &out.rule->action;
    return out;
  }
  out.action = &out.customer->default_action;
  return out;
}

}  // namespace tandem::rules
