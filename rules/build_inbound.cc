// Snapshot::build's inbound part: the numbers, normalised, into the DID
// table, and each number's rules checked and compiled next to each other in
// priority order.
#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rules/compiled_index.h"
#include "rules/e164_digits.h"
#include "rules/model.h"
#include "rules/number.h"
#include "rules/snapshot_builder.h"
#include "rules/time_zone.h"

namespace tandem::rules {

namespace {

constexpr uint32_t kNone = UINT32_MAX;

// Each number's key (0: not valid) and customer.
void check_numbers(Builder& b, std::vector<uint64_t>& number_key, std::vector<uint32_t>& number_customer) {
  std::string e;
  for (uint32_t i = 0; i < b.d.numbers.size(); ++i) {
    Number& n = b.d.numbers[i];
    auto who = [&] { return "number " + std::to_string(n.id) + " (" + n.e164 + ")"; };
    auto c = b.ix.customers.find(n.customer_id);
    if (c == b.ix.customers.end()) {
      b.err.add(who() + ": customer " + std::to_string(n.customer_id) + " does not exist");
      continue;
    }
    if (!plain_e164(n.e164)) {
      std::string norm;
      if (!normalize_number(n.e164, b.plan, norm, e)) {
        b.err.add(who() + ": " + e);
        continue;
      }
      n.e164 = std::move(norm);
    }
    if (!digits_key(n.e164, number_key[i])) {
      b.err.add(who() + ": not a number");
      continue;
    }
    number_customer[i] = c->second;
  }
}

// The valid numbers into the DID table (a number listed twice loses its
// key); each number's slot, kNone if it has none.
std::vector<uint32_t> fill_did_table(Builder& b, std::vector<uint64_t>& number_key,
                                     const std::vector<uint32_t>& number_customer,
                                     const std::vector<uint16_t>& customer_zone) {
  CompiledIndex& ix = b.ix;
  const size_t count = b.d.numbers.size();
  std::vector<uint32_t> number_slot(count, kNone);
  ix.numbers.reset(count);
  constexpr size_t kAhead = 16;  // inserts land anywhere in the table: fetch them early
  for (uint32_t i = 0; i < count; ++i) {
    if (i + kAhead < count && number_key[i + kAhead]) {
      __builtin_prefetch(&ix.numbers[ix.numbers.home(number_key[i + kAhead])], 1);
    }
    const uint64_t key = number_key[i];
    if (!key) continue;
    const size_t slot = ix.numbers.place(key);
    if (ix.numbers[slot].key == key) {
      const Number& n = b.d.numbers[i];
      b.err.add("number " + std::to_string(n.id) + " (" + n.e164 + "): the number is listed twice");
      number_key[i] = 0;
      continue;
    }
    CompiledIndex::NumberSlot& ns = ix.numbers[slot];
    ns.key = key;
    ns.number = i;
    ns.customer = number_customer[i];
    ns.zone = customer_zone[number_customer[i]];
    number_slot[i] = static_cast<uint32_t>(slot);
  }
  return number_slot;
}

// A number by id. The DB gives numbers and rules by id, and a number's
// rules are usually next to each other: the previous rule's number or the
// one after it, else a binary search; a hash map if the ids are not in order.
class NumberById {
 public:
  // Reports duplicate ids.
  NumberById(const std::vector<Number>& numbers, const std::vector<uint64_t>& number_key, Errors& err)
      : numbers_(numbers),
        ids_sorted_(std::is_sorted(numbers.begin(), numbers.end(),
                                   [](const Number& a, const Number& b) { return a.id < b.id; })) {
    if (ids_sorted_) {
      for (uint32_t i = 1; i < numbers.size(); ++i) {
        if (numbers[i].id == numbers[i - 1].id) {
          err.add("number " + std::to_string(numbers[i].id) + " (" + numbers[i].e164 + "): duplicate id");
        }
      }
      return;
    }
    number_of_.reserve(numbers.size());
    for (uint32_t i = 0; i < numbers.size(); ++i) {
      if (!number_key[i]) continue;
      const Number& n = numbers[i];
      if (!number_of_.emplace(n.id, i).second) {
        err.add("number " + std::to_string(n.id) + " (" + n.e164 + "): duplicate id");
      }
    }
  }

  // Its index in the numbers, kNone if there is none.
  uint32_t find(Id id) {
    if (!ids_sorted_) {
      auto it = number_of_.find(id);
      return it == number_of_.end() ? kNone : it->second;
    }
    const size_t n = numbers_.size();
    if (last_ < n && numbers_[last_].id == id) return static_cast<uint32_t>(last_);
    if (last_ + 1 < n && numbers_[last_ + 1].id == id) return static_cast<uint32_t>(++last_);
    auto it = std::lower_bound(numbers_.begin(), numbers_.end(), id,
                               [](const Number& a, Id v) { return a.id < v; });
    if (it == numbers_.end() || it->id != id) return kNone;
    last_ = static_cast<size_t>(it - numbers_.begin());
    return static_cast<uint32_t>(last_);
  }

 private:
  const std::vector<Number>& numbers_;
  const bool ids_sorted_;
  absl::flat_hash_map<Id, uint32_t> number_of_;
  size_t last_ = 0;
};

std::string rule_subject(const Rule& r) { return "rule " + std::to_string(r.id); }

void check_caller_pattern(Builder& b, Rule& r) {
  switch (r.caller_match) {
    case CallerMatch::any:
    case CallerMatch::anonymous:
      if (!r.caller_pattern.empty()) {
        b.err.add(rule_subject(r) + ": caller match " + std::string(name(r.caller_match)) +
                  " takes no pattern, got \"" + r.caller_pattern + "\"");
      }
      break;
    case CallerMatch::exact:
    case CallerMatch::prefix: {
      std::string norm, e;
      const bool ok = r.caller_match == CallerMatch::exact
                          ? normalize_number(r.caller_pattern, b.plan, norm, e)
                          : normalize_prefix(r.caller_pattern, b.plan, norm, e);
      if (ok) {
        r.caller_pattern = norm;
      } else {
        b.err.add(rule_subject(r) + ": caller pattern: " + e);
      }
      break;
    }
  }
}

// A rule of an existing number; its caller pattern normalised.
void check_rule(Builder& b, Rule& r, Id customer_id) {
  Errors& err = b.err;
  auto who = [&] { return rule_subject(r); };
  check_caller_pattern(b, r);
  if ((r.days & kAllDays) == 0 || (r.days & ~kAllDays) != 0) err.add(who() + ": no day of week");
  if (r.window) {
    if (r.window->from_s >= kSecondsPerDay || r.window->to_s > kSecondsPerDay) {
      err.add(who() + ": time window outside 00:00-24:00");
    } else if (r.window->from_s == r.window->to_s) {
      err.add(who() + ": empty time window (omit the window for the whole day)");
    }
  }
  for (const auto& dr : r.dates) {
    if (!valid_date(dr.from) || !valid_date(dr.to)) {
      err.add(who() + ": invalid date in range " + format_date(dr.from) + ".." + format_date(dr.to));
    } else if (dr.to < dr.from) {
      err.add(who() + ": date range " + format_date(dr.from) + ".." + format_date(dr.to) +
              " ends before it starts");
    }
  }
  if (r.dates.size() > UINT16_MAX) err.add(who() + ": more than 65535 date ranges");
  b.check_action(r.action, customer_id, false, who);
}

// per_number[n]: number n's first rule in the order.
std::vector<uint32_t> rules_in_order(const RulesData& d, const std::vector<uint32_t>& rule_number,
                                     const std::vector<uint32_t>& per_number) {
  std::vector<uint32_t> order(per_number.back());
  {
    std::vector<uint32_t> next(per_number.begin(), per_number.end() - 1);
    for (uint32_t ri = 0; ri < d.rules.size(); ++ri) order[next[rule_number[ri]]++] = ri;
  }
  for (uint32_t ni = 0; ni < d.numbers.size(); ++ni) {
    const auto first = order.begin() + per_number[ni], last = order.begin() + per_number[ni + 1];
    std::sort(first, last, [&](uint32_t a, uint32_t b) {
      const Rule& x = d.rules[a];
      const Rule& y = d.rules[b];
      return x.priority != y.priority ? x.priority < y.priority : x.id < y.id;
    });
  }
  return order;
}

void compile_rule(const Rule& r, uint32_t rule, CompiledIndex::CompiledRule& c,
                  std::vector<CompiledIndex::DaySpan>& dates) {
  c.rule = rule;
  c.match = r.caller_match;
  c.days = r.days;
  c.window = r.window.has_value();
  if (r.window) {
    c.from_s = r.window->from_s;
    c.to_s = r.window->to_s;
  }
  if (r.caller_match == CallerMatch::exact || r.caller_match == CallerMatch::prefix) {
    digits_value(r.caller_pattern, c.pattern, c.pattern_len);
  }
  c.dates = static_cast<uint32_t>(dates.size());
  c.date_count = static_cast<uint16_t>(r.dates.size());
  for (const auto& dr : r.dates) {
    dates.push_back({days_from_civil(dr.from.year, dr.from.month, dr.from.day),
                     days_from_civil(dr.to.year, dr.to.month, dr.to.day)});
  }
}

void compile_rules(Builder& b, const std::vector<uint32_t>& rule_number, const std::vector<uint32_t>& per_number,
                   const std::vector<uint32_t>& number_slot) {
  const RulesData& d = b.d;
  CompiledIndex& ix = b.ix;
  const std::vector<uint32_t> order = rules_in_order(d, rule_number, per_number);
  ix.rules.reset(order.size());
  for (size_t i = 0; i < order.size(); ++i) compile_rule(d.rules[order[i]], order[i], ix.rules[i], ix.dates);

  for (uint32_t ni = 0; ni < d.numbers.size(); ++ni) {
    CompiledIndex::NumberSlot& slot = ix.numbers[number_slot[ni]];
    slot.rules = per_number[ni];
    slot.rule_count = static_cast<uint16_t>(per_number[ni + 1] - per_number[ni]);
  }
}

}  // namespace

void build_inbound(Builder& b, const std::vector<uint16_t>& customer_zone) {
  RulesData& d = b.d;
  Errors& err = b.err;

  // Numbers: normalised, into the DID table (the rules are added below).
  std::vector<uint64_t> number_key(d.numbers.size(), 0);      // 0: not valid
  std::vector<uint32_t> number_customer(d.numbers.size(), 0);
  check_numbers(b, number_key, number_customer);
  const std::vector<uint32_t> number_slot = fill_did_table(b, number_key, number_customer, customer_zone);
  NumberById numbers(d.numbers, number_key, err);

  // Rules: checked, then grouped by number (a counting sort) and each
  // number's sorted by (priority, id).
  std::vector<uint32_t> rule_number(d.rules.size(), kNone);
  std::vector<uint32_t> per_number(d.numbers.size() + 1, 0);
  for (uint32_t ri = 0; ri < d.rules.size(); ++ri) {
    Rule& r = d.rules[ri];
    const uint32_t ni = numbers.find(r.number_id);
    if (ni == kNone || number_key[ni] == 0) {
      err.add(rule_subject(r) + ": number " + std::to_string(r.number_id) + " does not exist");
      continue;
    }
    check_rule(b, r, d.customers[number_customer[ni]].id);
    rule_number[ri] = ni;
    ++per_number[ni + 1];
  }
  for (size_t i = 0; i < d.numbers.size(); ++i) {
    if (per_number[i + 1] > UINT16_MAX) {
      err.add("number " + std::to_string(d.numbers[i].id) + ": more than 65535 rules");
    }
    per_number[i + 1] += per_number[i];
  }
  // Compiled once everything above is valid; the rates are checked anyway.
  if (!err.any()) compile_rules(b, rule_number, per_number, number_slot);
}

}  // namespace tandem::rules
