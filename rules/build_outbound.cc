// Snapshot::build's part for least-cost routing: the rates, checked, grouped
// by prefix into the prefix table, each prefix's rates with their cost and
// their provider's rank inline.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rules/compiled_index.h"
#include "rules/model.h"
#include "rules/number.h"
#include "rules/snapshot_builder.h"

namespace tandem::rules {

namespace {

// Providers in their order among equal costs.
std::vector<uint16_t> provider_ranks(const std::vector<Provider>& providers) {
  std::vector<uint32_t> by_preference(providers.size());
  for (uint32_t i = 0; i < by_preference.size(); ++i) by_preference[i] = i;
  std::sort(by_preference.begin(), by_preference.end(), [&](uint32_t a, uint32_t b) {
    const Provider& x = providers[a];
    const Provider& y = providers[b];
    return x.preference != y.preference ? x.preference < y.preference : x.id < y.id;
  });
  std::vector<uint16_t> rank(providers.size());
  for (uint32_t i = 0; i < by_preference.size(); ++i) rank[by_preference[i]] = static_cast<uint16_t>(i);
  return rank;
}

struct Keyed {
  uint64_t key;
  CompiledIndex::RateEntry entry;
};

// The valid rates with their prefix's key, in the order of the DB.
std::vector<Keyed> keyed_rates(Builder& b, const std::vector<uint16_t>& rank) {
  const RulesData& d = b.d;
  CompiledIndex& ix = b.ix;
  Errors& err = b.err;
  std::vector<Keyed> entries;
  entries.reserve(d.rates.size());
  for (uint32_t i = 0; i < d.rates.size(); ++i) {
    const Rate& r = d.rates[i];
    auto who = [&] { return "rate " + std::to_string(r.id) + " (prefix " + r.prefix + ")"; };
    auto p = ix.providers.find(r.provider_id);
    if (p == ix.providers.end()) {
      err.add(who() + ": provider " + std::to_string(r.provider_id) + " does not exist");
      continue;
    }
    uint64_t key = 0;
    if (r.prefix.empty() || r.prefix[0] == '+' || !digits_key(r.prefix, key)) {
      err.add(who() + ": the prefix must be 1-15 digits, without '+'");
      continue;
    }
    if (r.cost_micros < 0) err.add(who() + ": negative cost");
    if (r.increment_s == 0) err.add(who() + ": billing increment 0");
    CompiledIndex::RateEntry re{r.cost_micros, INT64_MIN, INT64_MAX, i, static_cast<uint16_t>(p->second),
                                rank.empty() ? uint16_t{0} : rank[p->second]};
    if (r.valid_from) re.from = r.valid_from->time_since_epoch().count();
    if (r.valid_to) re.to = r.valid_to->time_since_epoch().count();
    if (re.from >= re.to) {
      err.add(who() + ": valid_to is not after valid_from");
      continue;
    }
    ix.max_prefix_len = std::max(ix.max_prefix_len, static_cast<uint8_t>(r.prefix.size()));
    ix.prefix_lengths |= 1u << r.prefix.size();
    entries.push_back({key, re});
  }
  return entries;
}

// `entries` sorted, each prefix's into `rates` and a slot of `prefixes`.
void fill_prefix_table(Builder& b, std::vector<Keyed>& entries) {
  const RulesData& d = b.d;
  CompiledIndex& ix = b.ix;
  std::sort(entries.begin(), entries.end(), [](const Keyed& x, const Keyed& y) {
    if (x.key != y.key) return x.key < y.key;
    if (x.entry.provider != y.entry.provider) return x.entry.provider < y.entry.provider;
    return x.entry.from < y.entry.from;
  });
  size_t prefix_count = 0;
  for (size_t i = 0; i < entries.size(); ++i) prefix_count += i == 0 || entries[i].key != entries[i - 1].key;
  ix.prefixes.reset(prefix_count);
  ix.rates.reset(entries.size());
  for (uint32_t i = 0; i < entries.size();) {
    const uint64_t key = entries[i].key;
    uint32_t j = i;
    while (j < entries.size() && entries[j].key == key) {
      const CompiledIndex::RateEntry& re = entries[j].entry;
      if (j > i && re.provider == entries[j - 1].entry.provider && re.from < entries[j - 1].entry.to) {
        b.err.add("rates " + std::to_string(d.rates[entries[j - 1].entry.rate].id) + " and " +
                  std::to_string(d.rates[re.rate].id) + ": provider " + d.providers[re.provider].name +
                  " has two rates for prefix " + d.rates[re.rate].prefix + " valid at the same time");
      }
      ix.rates[j] = re;
      ++j;
    }
    ix.prefixes[ix.prefixes.place(key)] = CompiledIndex::PrefixSlot{key, i, j - i};
    i = j;
  }
}

}  // namespace

void build_outbound(Builder& b) {
  const std::vector<uint16_t> rank = provider_ranks(b.d.providers);
  // Rates, grouped by prefix; one provider's validity periods of a prefix may not overlap.
  std::vector<Keyed> entries = keyed_rates(b, rank);
  fill_prefix_table(b, entries);
}

}  // namespace tandem::rules
