// The compiled index of a Snapshot (snapshot.h), laid out for few cache
// misses on the call path: built by Snapshot::build (snapshot_build.cc,
// build_inbound.cc, build_outbound.cc), read by route_inbound.cc and
// route_outbound.cc.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <vector>

#include "rules/huge_table.h"
#include "rules/model.h"
#include "rules/slot_table.h"
#include "rules/snapshot.h"
#include "rules/time_zone.h"

namespace tandem::rules {

// Snapshot::Index is private to Snapshot: the helpers of the build and of the
// lookups in their own files take it as this, its base.
struct CompiledIndex {
  // One DID: everything route_inbound needs before the rules, in one slot of
  // an open-addressing table (linear probing, load <= 1/2).
  struct NumberSlot {
    uint64_t key;          // digits_key of the E.164 number; 0: empty
    uint32_t number;       // into data_.numbers
    uint32_t customer;     // into data_.customers
    uint32_t rules;        // its first rule in `rules`
    uint16_t rule_count;
    uint16_t zone;         // into zones
  };
  static_assert(sizeof(NumberSlot) == 24);

  // What route_inbound reads of a rule; a number's rules are consecutive.
  // The Rule itself is not read on the call path.
  struct CompiledRule {
    uint64_t pattern;      // exact, prefix: the pattern's digits as a number
    uint32_t rule;         // into data_.rules
    uint32_t from_s;       // window, if `window`
    uint32_t to_s;
    uint32_t dates;        // into `dates`
    uint16_t date_count;
    CallerMatch match;
    DayMask days;
    uint8_t pattern_len;   // its digits
    bool window;
  };
  static_assert(sizeof(CompiledRule) == 32);

  struct DaySpan {
    int32_t from;          // local days since 1970-01-01, inclusive
    int32_t to;
  };

  // A rate prefix: its rates are entries [begin, begin + count) of `rates`.
  struct PrefixSlot {
    uint64_t key;          // digits_key of the prefix; 0: empty
    uint32_t begin;
    uint32_t count;
  };
  struct RateEntry {       // grouped by prefix, then by provider and validity
    int64_t cost;          // cost_micros
    int64_t from;          // unix seconds, [from, to)
    int64_t to;
    uint32_t rate;         // into data_.rates
    uint16_t provider;     // into data_.providers
    uint16_t rank;         // the provider's place by (preference, id)
  };
  static_assert(sizeof(RateEntry) == 32);

  SlotTable<NumberSlot> numbers;
  Table<CompiledRule> rules;
  std::vector<DaySpan> dates;
  std::vector<Zone> zones;
  absl::flat_hash_map<Id, uint32_t> customers, menus, providers;
  SlotTable<PrefixSlot> prefixes;
  Table<RateEntry> rates;
  uint32_t prefix_lengths = 0;   // bit n: some prefix has n digits
  uint8_t max_prefix_len = 0;
};

struct Snapshot::Index : CompiledIndex {};

}  // namespace tandem::rules
