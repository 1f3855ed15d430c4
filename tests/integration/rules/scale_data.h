// The Rules DB at the scale of issue 3's benchmarks, generated: DIDs with 3
// rules each (anonymous callers rejected, office hours forwarded, holidays to
// the VM), 10,000 customers in 4 time zones, providers and distinct
// (provider, prefix) rates of 2-8 digits spread over all providers.
// bench/rules_bench.cc routes through it; tests/integration/rules/
// rules_load_bench.cc imports it into MariaDB (as CSV) and loads it back.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "rules/model.h"

namespace tandem::rules::testing {

struct ScaleSpec {
  size_t dids = 1000000;
  size_t rates = 500000;
  size_t providers = 20;
  size_t customers = 10000;
  uint64_t seed = 42;
};

inline std::string scale_did(size_t i) { return "+4930" + std::to_string(10000000 + i); }

inline RulesData scale_data(const ScaleSpec& spec) {
  std::mt19937_64 rng(spec.seed);
  RulesData d;
  d.version = 1;
  static constexpr const char* kZones[] = {"Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"};
  d.customers.reserve(spec.customers);
  for (Id c = 1; c <= spec.customers; ++c) {
    d.customers.push_back(Customer{c, "customer" + std::to_string(c), kZones[c % 4],
                                   "sip:pbx@vm.example.net", {}});
  }
  d.numbers.reserve(spec.dids);
  d.rules.reserve(spec.dids * 3);
  Id rid = 1;
  for (size_t i = 0; i < spec.dids; ++i) {
    const Id n = i + 1;
    d.numbers.push_back(Number{n, scale_did(i), 1 + i % spec.customers});
    Rule anon;
    anon.id = rid++;
    anon.number_id = n;
    anon.priority = 1;
    anon.caller_match = CallerMatch::anonymous;
    anon.action.kind = ActionKind::reject;
    anon.action.sip_code = 433;
    Rule office;
    office.id = rid++;
    office.number_id = n;
    office.priority = 2;
    office.days = 0x1f;
    office.window = TimeWindow{8 * 3600, 18 * 3600};
    office.action.kind = ActionKind::forward;
    office.action.number = "+491701234567";
    Rule holidays;
    holidays.id = rid++;
    holidays.number_id = n;
    holidays.priority = 3;
    holidays.dates = {DateRange{{2026, 12, 24}, {2026, 12, 26}}};
    d.rules.push_back(std::move(anon));
    d.rules.push_back(std::move(office));
    d.rules.push_back(std::move(holidays));
  }
  for (Id p = 1; p <= spec.providers; ++p) {
    d.providers.push_back(Provider{p, "provider" + std::to_string(p), "sip:gw" + std::to_string(p) + ".example.net",
                                   0, true, static_cast<int32_t>(p)});
  }
  // Distinct (provider, prefix) pairs, 2-8 digits, drawn at random; shuffled
  // before the cut so that every provider keeps its share.
  std::vector<std::pair<Id, std::string>> keys;
  keys.reserve(spec.rates * 2);
  while (keys.size() < spec.rates * 2) {
    std::string prefix = std::to_string(1 + rng() % 9);
    const size_t len = 2 + rng() % 7;
    while (prefix.size() < len) prefix += static_cast<char>('0' + rng() % 10);
    keys.emplace_back(1 + rng() % spec.providers, std::move(prefix));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::shuffle(keys.begin(), keys.end(), rng);
  keys.resize(std::min(keys.size(), spec.rates));
  d.rates.reserve(keys.size());
  Id id = 1;
  for (auto& [p, prefix] : keys) {
    Rate r;
    r.id = id++;
    r.provider_id = p;
    r.prefix = std::move(prefix);
    r.cost_micros = static_cast<int64_t>(rng() % 200000);
    d.rates.push_back(std::move(r));
  }
  return d;
}

}  // namespace tandem::rules::testing
