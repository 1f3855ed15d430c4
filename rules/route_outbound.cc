// Snapshot::route_outbound, least-cost routing: the prefix table probed for
// every prefix length of the number at once, then per provider the rate of
// its longest prefix valid at the time, by cost.
#include "rules/snapshot.h"

#include <absl/container/inlined_vector.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rules/compiled_index.h"
#include "rules/e164_digits.h"

namespace tandem::rules {

namespace {

using PrefixSlot = CompiledIndex::PrefixSlot;
using Found = std::array<const PrefixSlot*, 16>;

// The number's prefixes that have rates, longest first; how many.
size_t find_prefixes(const CompiledIndex& ix, uint64_t value, uint8_t len, Found& found) {
  // Every prefix length that has rates, longest first: all the slots are
  // fetched at once, then read.
  struct Probe {
    uint64_t key;
    size_t slot;
  };
  std::array<Probe, 16> probes;
  size_t probe_count = 0;
  const size_t longest = std::min<size_t>(len, ix.max_prefix_len);
  uint64_t head = value / kPow10[len - longest];
  for (size_t n = longest; n >= 1; --n, head /= 10) {
    if (!(ix.prefix_lengths & (1u << n))) continue;
    const uint64_t key = (uint64_t{n} << 56) | head;
    const size_t slot = ix.prefixes.home(key);
    __builtin_prefetch(&ix.prefixes[slot]);
    probes[probe_count++] = Probe{key, slot};
  }
  size_t found_count = 0;
  for (size_t i = 0; i < probe_count; ++i) {
    if (const PrefixSlot* p = ix.prefixes.find(probes[i].key, probes[i].slot)) {
      __builtin_prefetch(&ix.rates[p->begin]);
      found[found_count++] = p;
    }
  }
  return found_count;
}

struct Candidate {
  int64_t cost;
  uint32_t rank;
  uint32_t entry;
};
using Candidates = absl::InlinedVector<Candidate, 32>;

// The providers of the found prefixes that can take the call; the others
// into `skipped`.
void collect_candidates(const CompiledIndex& ix, const RulesData& data, const Found& found, size_t found_count,
                        int64_t t, const ProviderLoad* load, Candidates& candidates,
                        absl::InlinedVector<OutboundSkipped, 8>& skipped) {
  // Per provider its longest prefix valid at t (the first one met); on the
  // stack for up to 256 providers.
  std::array<uint64_t, 4> seen_small{};
  std::vector<uint64_t> seen_large;
  uint64_t* seen = seen_small.data();
  if (data.providers.size() > 256) {
    seen_large.assign((data.providers.size() + 63) / 64, 0);
    seen = seen_large.data();
  }
  for (size_t f = 0; f < found_count; ++f) {
    const uint32_t end = found[f]->begin + found[f]->count;
    for (uint32_t i = found[f]->begin; i < end; ++i) {
      const CompiledIndex::RateEntry& re = ix.rates[i];
      uint64_t& word = seen[re.provider / 64];
      const uint64_t bit = uint64_t{1} << (re.provider % 64);
      if ((word & bit) || t < re.from || t >= re.to) continue;
      word |= bit;
      const Provider& p = data.providers[re.provider];
      if (!p.enabled) {
        skipped.push_back({&p, &data.rates[re.rate], ProviderSkip::disabled});
      } else if (p.max_calls != 0 && load && load->active_calls(p.id) >= p.max_calls) {
        skipped.push_back({&p, &data.rates[re.rate], ProviderSkip::at_capacity});
      } else {
        candidates.push_back(Candidate{re.cost, re.rank, i});
      }
    }
  }
}

}  // namespace

OutboundDecision Snapshot::route_outbound(std::string_view dialled, UtcSeconds utc,
                                          const ProviderLoad* load) const {
  OutboundDecision out;
  if (!to_e164(dialled, plan_, out.dialled, out.error)) return out;
  out.ok = true;
  const Index& ix = *index_;
  if (ix.max_prefix_len == 0) return out;
  const int64_t t = utc.time_since_epoch().count();
  uint64_t value = 0;
  uint8_t len = 0;
  digits_value(out.dialled, value, len);

  Found found;
  const size_t found_count = find_prefixes(ix, value, len, found);
  Candidates candidates;
  collect_candidates(ix, data_, found, found_count, t, load, candidates, out.skipped);
  // By cost, then preference and id (the rank).
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.cost != b.cost ? a.cost < b.cost : a.rank < b.rank;
  });
  for (const Candidate& c : candidates) {
    const CompiledIndex::RateEntry& re = ix.rates[c.entry];
    out.providers.push_back({&data_.providers[re.provider], &data_.rates[re.rate]});
  }
  return out;
}

}  // namespace tandem::rules
