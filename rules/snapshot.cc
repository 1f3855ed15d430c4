#include "rules/snapshot.h"

#include <absl/container/flat_hash_map.h>
#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <set>

namespace tandem::rules {

namespace {

#define TANDEM_RULES_NAME(n) #n,
constexpr std::array kMissNames{TANDEM_RULES_MISS_REASONS(TANDEM_RULES_NAME)};
constexpr std::array kSkipNames{TANDEM_RULES_PROVIDER_SKIPS(TANDEM_RULES_NAME)};
#undef TANDEM_RULES_NAME

constexpr size_t kMaxErrors = 50;
constexpr uint32_t kSecondsPerDay = 24 * 3600;

class Errors {
 public:
  explicit Errors(std::vector<std::string>& out) : out_(out) {}
  ~Errors() {
    if (dropped_) out_.push_back("... and " + std::to_string(dropped_) + " more");
  }
  Errors(const Errors&) = delete;
  Errors& operator=(const Errors&) = delete;
  void add(std::string e) {
    if (out_.size() < kMaxErrors) {
      out_.push_back(std::move(e));
    } else {
      ++dropped_;
    }
  }
  bool any() const { return !out_.empty() || dropped_; }

 private:
  std::vector<std::string>& out_;
  size_t dropped_ = 0;
};

bool valid_date(const Date& d) {
  if (d.month < 1 || d.month > 12 || d.day < 1) return false;
  const absl::CivilDay c(d.year, d.month, d.day);
  return c.year() == d.year && c.month() == d.month && c.day() == d.day;
}

bool valid_sip(std::string_view s) {
  return (s.substr(0, 4) == "sip:" && s.size() > 4) || (s.substr(0, 5) == "sips:" && s.size() > 5);
}

Date to_date(const absl::CivilDay& d) {
  return Date{static_cast<int32_t>(d.year()), static_cast<uint8_t>(d.month()),
              static_cast<uint8_t>(d.day())};
}

std::string format_date(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

}  // namespace

std::string_view name(MissReason r) { return kMissNames.at(static_cast<size_t>(r)); }
std::string_view name(ProviderSkip s) { return kSkipNames.at(static_cast<size_t>(s)); }

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

struct Snapshot::Index {
  struct NumberEntry {
    uint32_t number = 0;      // into data_.numbers
    uint32_t customer = 0;    // into data_.customers
    uint32_t rules_begin = 0;  // into rules (sorted by number, priority, id)
    uint32_t rules_end = 0;
  };
  struct RateEntry {
    uint32_t provider = 0;    // into data_.providers
    uint32_t rate = 0;        // into data_.rates
    int64_t from = INT64_MIN;  // unix seconds
    int64_t to = INT64_MAX;
  };
  struct RateRange {
    uint32_t begin = 0;
    uint32_t end = 0;
  };

  // What route_inbound reads of a rule, packed so that a number's rules sit
  // in one or two cache lines; the Rule itself is only read for caller
  // patterns and dates.
  struct CompiledRule {
    const Rule* rule = nullptr;
    uint32_t from_s = 0;
    uint32_t to_s = 0;
    CallerMatch match = CallerMatch::any;
    DayMask days = kAllDays;
    bool window = false;
    bool dates = false;
  };

  absl::flat_hash_map<uint64_t, NumberEntry> numbers;        // by digits_key(e164)
  std::vector<CompiledRule> rules;
  std::vector<absl::TimeZone> zones;                         // per customer
  absl::flat_hash_map<Id, uint32_t> customers, menus, providers;
  absl::flat_hash_map<uint64_t, RateRange> rate_prefixes;    // by digits_key(prefix)
  std::vector<RateEntry> rates;                              // grouped by prefix
  uint8_t max_prefix_len = 0;
};

Snapshot::Snapshot(RulesData data, NumberPlan plan)
    : data_(std::move(data)), plan_(std::move(plan)), index_(std::make_unique<Index>()) {}

Snapshot::~Snapshot() = default;

std::shared_ptr<const Snapshot> Snapshot::build(RulesData data, const NumberPlan& plan,
                                                std::vector<std::string>& errors) {
  errors.clear();
  std::shared_ptr<Snapshot> s(new Snapshot(std::move(data), plan));
  {
    Errors err(errors);
    std::string e;
    if (!validate_plan(plan, e)) err.add(e);
    RulesData& d = s->data_;
    Index& ix = *s->index_;

    // Customers and their zones.
    ix.zones.resize(d.customers.size());
    for (uint32_t i = 0; i < d.customers.size(); ++i) {
      const Customer& c = d.customers[i];
      const std::string who = "customer " + std::to_string(c.id) + " (" + c.name + ")";
      if (!ix.customers.emplace(c.id, i).second) err.add(who + ": duplicate id");
      if (c.name.empty()) err.add(who + ": no name");
      if (c.time_zone.empty() || !absl::LoadTimeZone(c.time_zone, &ix.zones[i])) {
        err.add(who + ": unknown time zone \"" + c.time_zone + "\"");
      }
      if (!valid_sip(c.vm_sip)) err.add(who + ": VM address \"" + c.vm_sip + "\" is not a sip: URI");
    }
    for (uint32_t i = 0; i < d.menus.size(); ++i) {
      if (!ix.menus.emplace(d.menus[i].id, i).second) {
        err.add("menu " + std::to_string(d.menus[i].id) + ": duplicate id");
      }
    }
    for (uint32_t i = 0; i < d.providers.size(); ++i) {
      const Provider& p = d.providers[i];
      const std::string who = "provider " + std::to_string(p.id) + " (" + p.name + ")";
      if (!ix.providers.emplace(p.id, i).second) err.add(who + ": duplicate id");
      if (p.name.empty()) err.add(who + ": no name");
      if (!valid_sip(p.sip_address)) {
        err.add(who + ": address \"" + p.sip_address + "\" is not a sip: URI");
      }
    }

    // An action's references: menus of the same customer, numbers normalised.
    auto check_action = [&](Action& a, Id customer_id, const std::string& who) {
      switch (a.kind) {
        case ActionKind::voicemail:
          break;
        case ActionKind::forward: {
          std::string n;
          if (normalize_number(a.number, plan, n, e)) {
            a.number = n;
          } else {
            err.add(who + ": forward: " + e);
          }
          break;
        }
        case ActionKind::ring:
          if (a.ring.empty()) err.add(who + ": ring with no target");
          for (auto& t : a.ring) {
            if (t.timeout_s == 0) err.add(who + ": ring target " + t.target + " with no timeout");
            if (valid_sip(t.target)) continue;
            std::string n;
            if (normalize_number(t.target, plan, n, e)) {
              t.target = n;
            } else {
              err.add(who + ": ring target: " + e);
            }
          }
          break;
        case ActionKind::menu: {
          auto m = ix.menus.find(a.menu_id);
          if (m == ix.menus.end()) {
            err.add(who + ": menu " + std::to_string(a.menu_id) + " does not exist");
          } else if (d.menus[m->second].customer_id != customer_id) {
            err.add(who + ": menu " + std::to_string(a.menu_id) + " belongs to another customer");
          }
          break;
        }
        case ActionKind::reject:
          if (a.sip_code < 400 || a.sip_code > 699) {
            err.add(who + ": reject code " + std::to_string(a.sip_code) + " is not 400-699");
          }
          break;
      }
    };

    for (auto& c : d.customers) {
      check_action(c.default_action, c.id, "customer " + std::to_string(c.id) + " default action");
    }
    for (auto& m : d.menus) {
      const std::string who = "menu " + std::to_string(m.id);
      if (!ix.customers.contains(m.customer_id)) {
        err.add(who + ": customer " + std::to_string(m.customer_id) + " does not exist");
      }
      if (m.timeout_s == 0) err.add(who + ": timeout 0");
      std::set<char> digits;
      for (auto& o : m.options) {
        const std::string who_o = who + " digit " + std::string(1, o.digit);
        const bool ok = (o.digit >= '0' && o.digit <= '9') || o.digit == '*' || o.digit == '#';
        if (!ok) err.add(who + ": option digit '" + std::string(1, o.digit) + "' is not 0-9, * or #");
        if (!digits.insert(o.digit).second) err.add(who_o + ": duplicate");
        check_action(o.action, m.customer_id, who_o);
      }
      check_action(m.timeout_action, m.customer_id, who + " timeout action");
      check_action(m.invalid_action, m.customer_id, who + " invalid action");
    }

    // Numbers.
    absl::flat_hash_map<Id, uint64_t> number_keys;  // number id -> key
    for (uint32_t i = 0; i < d.numbers.size(); ++i) {
      Number& n = d.numbers[i];
      const std::string who = "number " + std::to_string(n.id) + " (" + n.e164 + ")";
      auto c = ix.customers.find(n.customer_id);
      if (c == ix.customers.end()) {
        err.add(who + ": customer " + std::to_string(n.customer_id) + " does not exist");
        continue;
      }
      std::string norm;
      uint64_t key = 0;
      if (!normalize_number(n.e164, plan, norm, e) || !digits_key(norm, key)) {
        err.add(who + ": " + e);
        continue;
      }
      n.e164 = norm;
      if (!ix.numbers.emplace(key, Index::NumberEntry{i, c->second, 0, 0}).second) {
        err.add(who + ": the number is listed twice");
        continue;
      }
      if (!number_keys.emplace(n.id, key).second) err.add(who + ": duplicate id");
    }

    // Rules, sorted by (number, priority, id).
    std::vector<Rule*> sorted;
    sorted.reserve(d.rules.size());
    for (auto& r : d.rules) {
      const std::string who = "rule " + std::to_string(r.id);
      auto nk = number_keys.find(r.number_id);
      if (nk == number_keys.end()) {
        err.add(who + ": number " + std::to_string(r.number_id) + " does not exist");
        continue;
      }
      const Index::NumberEntry& ne = ix.numbers.at(nk->second);
      switch (r.caller_match) {
        case CallerMatch::any:
        case CallerMatch::anonymous:
          if (!r.caller_pattern.empty()) {
            err.add(who + ": caller match " + std::string(name(r.caller_match)) +
                    " takes no pattern, got \"" + r.caller_pattern + "\"");
          }
          break;
        case CallerMatch::exact:
        case CallerMatch::prefix: {
          std::string norm;
          const bool ok = r.caller_match == CallerMatch::exact
                              ? normalize_number(r.caller_pattern, plan, norm, e)
                              : normalize_prefix(r.caller_pattern, plan, norm, e);
          if (ok) {
            r.caller_pattern = norm;
          } else {
            err.add(who + ": caller pattern: " + e);
          }
          break;
        }
      }
      if ((r.days & kAllDays) == 0 || (r.days & ~kAllDays) != 0) err.add(who + ": no day of week");
      if (r.window) {
        if (r.window->from_s >= kSecondsPerDay || r.window->to_s > kSecondsPerDay) {
          err.add(who + ": time window outside 00:00-24:00");
        } else if (r.window->from_s == r.window->to_s) {
          err.add(who + ": empty time window (omit the window for the whole day)");
        }
      }
      for (const auto& dr : r.dates) {
        if (!valid_date(dr.from) || !valid_date(dr.to)) {
          err.add(who + ": invalid date in range " + format_date(dr.from) + ".." + format_date(dr.to));
        } else if (dr.to < dr.from) {
          err.add(who + ": date range " + format_date(dr.from) + ".." + format_date(dr.to) +
                  " ends before it starts");
        }
      }
      check_action(r.action, d.customers[ne.customer].id, who);
      sorted.push_back(&r);
    }
    std::sort(sorted.begin(), sorted.end(), [&](const Rule* a, const Rule* b) {
      const uint64_t ka = number_keys.at(a->number_id), kb = number_keys.at(b->number_id);
      if (ka != kb) return ka < kb;
      if (a->priority != b->priority) return a->priority < b->priority;
      return a->id < b->id;
    });
    ix.rules.reserve(sorted.size());
    for (const Rule* r : sorted) {
      Index::CompiledRule c;
      c.rule = r;
      c.match = r->caller_match;
      c.days = r->days;
      c.window = r->window.has_value();
      if (r->window) {
        c.from_s = r->window->from_s;
        c.to_s = r->window->to_s;
      }
      c.dates = !r->dates.empty();
      ix.rules.push_back(c);
    }
    for (uint32_t i = 0; i < ix.rules.size();) {
      const uint64_t key = number_keys.at(ix.rules[i].rule->number_id);
      uint32_t j = i;
      while (j < ix.rules.size() && number_keys.at(ix.rules[j].rule->number_id) == key) ++j;
      Index::NumberEntry& ne = ix.numbers.at(key);
      ne.rules_begin = i;
      ne.rules_end = j;
      i = j;
    }

    // Rates, grouped by prefix; one provider's validity periods of a prefix may not overlap.
    std::vector<Index::RateEntry> entries;
    std::vector<uint64_t> keys(d.rates.size());
    for (uint32_t i = 0; i < d.rates.size(); ++i) {
      const Rate& r = d.rates[i];
      const std::string who = "rate " + std::to_string(r.id) + " (prefix " + r.prefix + ")";
      auto p = ix.providers.find(r.provider_id);
      if (p == ix.providers.end()) {
        err.add(who + ": provider " + std::to_string(r.provider_id) + " does not exist");
        continue;
      }
      if (r.prefix.empty() || r.prefix[0] == '+' || !digits_key(r.prefix, keys[i])) {
        err.add(who + ": the prefix must be 1-15 digits, without '+'");
        continue;
      }
      if (r.cost_micros < 0) err.add(who + ": negative cost");
      if (r.increment_s == 0) err.add(who + ": billing increment 0");
      Index::RateEntry re{p->second, i, INT64_MIN, INT64_MAX};
      if (r.valid_from) re.from = r.valid_from->time_since_epoch().count();
      if (r.valid_to) re.to = r.valid_to->time_since_epoch().count();
      if (re.from >= re.to) {
        err.add(who + ": valid_to is not after valid_from");
        continue;
      }
      ix.max_prefix_len = std::max(ix.max_prefix_len, static_cast<uint8_t>(r.prefix.size()));
      entries.push_back(re);
    }
    std::sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
      if (keys[a.rate] != keys[b.rate]) return keys[a.rate] < keys[b.rate];
      if (a.provider != b.provider) return a.provider < b.provider;
      return a.from < b.from;
    });
    for (uint32_t i = 0; i < entries.size();) {
      const uint64_t key = keys[entries[i].rate];
      uint32_t j = i;
      while (j < entries.size() && keys[entries[j].rate] == key) {
        if (j > i && entries[j].provider == entries[j - 1].provider &&
            entries[j].from < entries[j - 1].to) {
          err.add("rates " + std::to_string(d.rates[entries[j - 1].rate].id) + " and " +
                  std::to_string(d.rates[entries[j].rate].id) + ": provider " +
                  d.providers[entries[j].provider].name + " has two rates for prefix " +
                  d.rates[entries[j].rate].prefix + " valid at the same time");
        }
        ++j;
      }
      ix.rate_prefixes.emplace(key, Index::RateRange{i, j});
      i = j;
    }
    ix.rates = std::move(entries);
    if (err.any()) return nullptr;
  }
  if (!errors.empty()) return nullptr;
  return s;
}

namespace {

// "+DIGITS" already in E.164 (what the SIP layer usually passes): no need to normalise.
bool plain_e164(std::string_view s) {
  if (s.size() < 7 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool to_e164(std::string_view in, const NumberPlan& plan, std::string& out, std::string& error) {
  if (plain_e164(in)) {
    out.assign(in);
    return true;
  }
  return normalize_number(in, plan, out, error);
}

}  // namespace

InboundDecision Snapshot::route_inbound(std::string_view called, std::string_view caller,
                                        UtcSeconds utc) const {
  InboundDecision out;
  uint64_t key = 0;
  if (!to_e164(called, plan_, out.called, out.error) || !digits_key(out.called, key)) {
    out.status = InboundStatus::bad_number;
    return out;
  }
  auto it = index_->numbers.find(key);
  if (it == index_->numbers.end()) {
    out.status = InboundStatus::unknown_number;
    out.error = "number " + out.called + " is not one of ours";
    return out;
  }
  const Index::NumberEntry& ne = it->second;
  out.status = InboundStatus::routed;
  out.number = &data_.numbers[ne.number];
  out.customer = &data_.customers[ne.customer];

  out.caller_anonymous = is_anonymous_caller(caller);
  if (!out.caller_anonymous) {
    std::string unused;
    out.caller_valid = to_e164(caller, plan_, out.caller, unused);
    if (!out.caller_valid) out.caller = std::string(caller);
  }

  const absl::TimeZone::CivilInfo ci =
      index_->zones[ne.customer].At(absl::FromUnixSeconds(utc.time_since_epoch().count()));
  const absl::CivilDay today(ci.cs);
  const absl::CivilDay yesterday = today - 1;
  out.local.date = to_date(today);
  out.local.weekday = static_cast<uint8_t>(absl::GetWeekday(today));
  out.local.second_of_day = static_cast<uint32_t>(ci.cs.hour() * 3600 + ci.cs.minute() * 60 +
                                                  ci.cs.second());
  out.local.utc_offset_s = ci.offset;
  out.local.zone_abbr = ci.zone_abbr ? ci.zone_abbr : "";
  const uint32_t tod = out.local.second_of_day;

  for (uint32_t i = ne.rules_begin; i < ne.rules_end; ++i) {
    const Index::CompiledRule& c = index_->rules[i];
    auto miss = [&](MissReason why) { out.skipped.push_back({c.rule, why}); };
    switch (c.match) {
      case CallerMatch::any:
        break;
      case CallerMatch::anonymous:
        if (!out.caller_anonymous) {
          miss(MissReason::caller_not_anonymous);
          continue;
        }
        break;
      case CallerMatch::exact:
      case CallerMatch::prefix: {
        if (out.caller_anonymous) {
          miss(MissReason::caller_anonymous);
          continue;
        }
        const std::string& pattern = c.rule->caller_pattern;
        if (!out.caller_valid ||
            (c.match == CallerMatch::exact
                 ? out.caller != pattern
                 : out.caller.compare(0, pattern.size(), pattern) != 0)) {
          miss(MissReason::caller_differs);
          continue;
        }
        break;
      }
    }
    // The day the window (if any) started on.
    absl::CivilDay day = today;
    if (c.window) {
      if (c.from_s < c.to_s) {
        if (tod < c.from_s || tod >= c.to_s) {
          miss(MissReason::outside_time_window);
          continue;
        }
      } else if (tod < c.to_s) {
        day = yesterday;
      } else if (tod < c.from_s) {
        miss(MissReason::outside_time_window);
        continue;
      }
    }
    const auto weekday = static_cast<unsigned>(absl::GetWeekday(day));
    if (!(c.days & (1u << weekday))) {
      miss(MissReason::day_of_week);
      continue;
    }
    if (c.dates) {
      const Date dd = day == today ? out.local.date : to_date(day);
      const auto& dates = c.rule->dates;
      const bool in = std::any_of(dates.begin(), dates.end(), [&](const DateRange& dr) {
        return !(dd < dr.from) && !(dr.to < dd);
      });
      if (!in) {
        miss(MissReason::outside_dates);
        continue;
      }
    }
    out.rule = c.rule;
    out.action = &c.rule->action;
    return out;
  }
  out.action = &out.customer->default_action;
  return out;
}

OutboundDecision Snapshot::route_outbound(std::string_view dialled, UtcSeconds utc,
                                          const ProviderLoad* load) const {
  OutboundDecision out;
  if (!to_e164(dialled, plan_, out.dialled, out.error)) return out;
  out.ok = true;
  const int64_t t = utc.time_since_epoch().count();
  const std::string_view digits = std::string_view(out.dialled).substr(1);
  // Providers already decided (their longest valid prefix was found): on the
  // stack for up to 256 providers.
  std::array<uint8_t, 256> seen_small{};
  std::vector<uint8_t> seen_large;
  uint8_t* seen = seen_small.data();
  if (data_.providers.size() > seen_small.size()) {
    seen_large.assign(data_.providers.size(), 0);
    seen = seen_large.data();
  }
  out.providers.reserve(data_.providers.size());  // one allocation, not one per doubling
  const size_t longest = std::min<size_t>(digits.size(), index_->max_prefix_len);
  for (size_t len = longest; len >= 1; --len) {
    uint64_t key = 0;
    if (!digits_key(digits.substr(0, len), key)) continue;
    auto it = index_->rate_prefixes.find(key);
    if (it == index_->rate_prefixes.end()) continue;
    for (uint32_t i = it->second.begin; i < it->second.end; ++i) {
      const Index::RateEntry& re = index_->rates[i];
      if (seen[re.provider] || t < re.from || t >= re.to) continue;
      seen[re.provider] = 1;
      const Provider& p = data_.providers[re.provider];
      const Rate* rate = &data_.rates[re.rate];
      if (!p.enabled) {
        out.skipped.push_back({&p, rate, ProviderSkip::disabled});
      } else if (p.max_calls != 0 && load && load->active_calls(p.id) >= p.max_calls) {
        out.skipped.push_back({&p, rate, ProviderSkip::at_capacity});
      } else {
        out.providers.push_back({&p, rate});
      }
    }
  }
  std::sort(out.providers.begin(), out.providers.end(),
            [](const OutboundChoice& a, const OutboundChoice& b) {
              if (a.rate->cost_micros != b.rate->cost_micros) {
                return a.rate->cost_micros < b.rate->cost_micros;
              }
              if (a.provider->preference != b.provider->preference) {
                return a.provider->preference < b.provider->preference;
              }
              return a.provider->id < b.provider->id;
            });
  return out;
}

const Customer* Snapshot::customer(Id id) const {
  auto it = index_->customers.find(id);
  return it == index_->customers.end() ? nullptr : &data_.customers[it->second];
}

const Menu* Snapshot::menu(Id id) const {
  auto it = index_->menus.find(id);
  return it == index_->menus.end() ? nullptr : &data_.menus[it->second];
}

const Provider* Snapshot::provider(Id id) const {
  auto it = index_->providers.find(id);
  return it == index_->providers.end() ? nullptr : &data_.providers[it->second];
}

const Number* Snapshot::number(std::string_view e164) const {
  uint64_t key = 0;
  if (!digits_key(e164, key)) return nullptr;
  auto it = index_->numbers.find(key);
  return it == index_->numbers.end() ? nullptr : &data_.numbers[it->second.number];
}

}  // namespace tandem::rules
