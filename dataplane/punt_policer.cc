#include "dataplane/punt_policer.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>

#include "dataplane/leg.h"

namespace tandem::dp {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint8_t kProtoIcmp = 1;

uint16_t ether_type(const uint8_t* frame, uint16_t l3_offset) {
  return static_cast<uint16_t>(frame[l3_offset - 2] << 8 | frame[l3_offset - 1]);
}

// A share of a budget for one of `workers`, never below one packet.
TokenRate share(uint64_t hz, uint32_t rate, uint32_t burst, unsigned workers) {
  if (rate == 0) return {};
  return TokenRate::of(hz, std::max(rate / workers, 1u), std::max(burst / workers, 1u));
}

}  // namespace

PuntKey punt_key(const uint8_t* frame, uint32_t len, uint16_t l3_offset) {
  if (l3_offset < 14 || len < l3_offset) return {};
  const uint16_t type = ether_type(frame, l3_offset);
  if (type == kEtherTypeArp) return {PuntClass::arp, 0};
  if (type != kEtherTypeIpv4 || len < l3_offset + 20u) return {};
  const uint8_t* ip = frame + l3_offset;
  uint32_t source;
  std::memcpy(&source, ip + 12, sizeof source);
  return {ip[9] == kProtoIcmp ? PuntClass::icmp : PuntClass::source, source};
}

PuntPolicer::PuntPolicer(const PuntLimits& limits, uint64_t hz, unsigned workers, uint64_t seed)
    : source_rate_(TokenRate::of(hz, limits.source_rate, limits.source_burst)),
      global_rate_(share(hz, limits.global_rate, limits.global_burst, workers)),
      arp_icmp_rate_(share(hz, limits.arp_icmp_rate, limits.arp_icmp_burst, workers)),
      hz_(hz),
      multiplier_(seed | 1),
      coarse_shift_(static_cast<unsigned>(std::bit_width(std::max<uint64_t>(hz / 1000, 1)) - 1)) {
  if (source_rate_.unlimited()) return;
  const uint32_t sets = std::max(limits.sources / kWays, 1u);
  set_shift_ = 64 - static_cast<unsigned>(std::countr_zero(std::bit_floor(sets)));
  keys_.assign(size_t{std::bit_floor(sets)} * kWays, 0);
  sources_.assign(keys_.size(), Source{});
}

// Multiply-shift: the set is the top bits of the address times an odd random
// multiplier, a universal hash, so that addresses sharing a set cannot be
// chosen without knowing it.
PuntPolicer::Source* PuntPolicer::set_of(uint32_t ip, uint32_t*& keys) {
  const size_t set = set_shift_ >= 64 ? 0 : static_cast<size_t>((uint64_t{ip} * multiplier_) >> set_shift_);
  keys = &keys_[set * kWays];
  return &sources_[set * kWays];
}

PuntPolicer::Source& PuntPolicer::find_or_take(uint32_t ip) {
  uint32_t* keys;
  Source* set = set_of(ip, keys);
  for (unsigned i = 0; i < kWays; ++i) {
    if (keys[i] == ip && set[i].last_seen != 0) return set[i];
  }
  unsigned oldest = 0;
  for (unsigned i = 1; i < kWays; ++i) {
    if (set[i].last_seen < set[oldest].last_seen) oldest = i;
  }
  if (set[oldest].last_seen != 0) counter_add(evictions_, uint64_t{1});
  Source& s = set[oldest];
  counter_set(keys[oldest], ip);
  s.full_at = 0;
  counter_set(s.dropped, uint64_t{0});
  counter_set(s.passed, 0u);
  counter_set(s.last_drop, 0u);
  return s;
}

std::optional<DropReason> PuntPolicer::admit(const PuntKey& key, uint64_t now) {
  if (key.cls != PuntClass::source) {
    if (take_token(key.cls == PuntClass::arp ? arp_full_at_ : icmp_full_at_, arp_icmp_rate_, now)) return std::nullopt;
    return DropReason::punt_policed_arp_icmp;
  }
  if (keys_.empty()) {
    if (take_token(global_full_at_, global_rate_, now)) return std::nullopt;
    return DropReason::punt_policed_global;
  }
  Source& s = find_or_take(key.source);
  counter_set(s.last_seen, now);
  std::optional<DropReason> verdict;
  if (!take_token(s.full_at, source_rate_, now)) {
    verdict = DropReason::punt_policed_source;
  } else if (!take_token(global_full_at_, global_rate_, now)) {
    verdict = DropReason::punt_policed_global;
  }
  if (verdict) {
    counter_add(s.dropped, uint64_t{1});
    counter_set(s.last_drop, static_cast<uint32_t>(now >> coarse_shift_));
  } else {
    counter_add(s.passed, 1u);
  }
  return verdict;
}

void PuntPolicer::offenders(uint64_t now, std::vector<proto::PuntOffender>& out) const {
  const auto coarse_now = static_cast<uint32_t>(now >> coarse_shift_);
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& s = sources_[i];
    const uint64_t dropped = counter_read(s.dropped);
    if (!dropped || !counter_read(s.last_seen)) continue;
    const uint64_t since = uint64_t{static_cast<uint32_t>(coarse_now - counter_read(s.last_drop))} << coarse_shift_;
    const uint64_t ms = std::min<uint64_t>(since / (hz_ / 1000 ? hz_ / 1000 : 1), UINT32_MAX);
    out.push_back({counter_read(keys_[i]), static_cast<uint32_t>(ms), dropped, counter_read(s.passed)});
  }
}

uint32_t PuntPolicer::sources() const {
  uint32_t n = 0;
  for (const Source& s : sources_) n += counter_read(s.last_seen) != 0;
  return n;
}

uint64_t PuntPolicer::evictions() const { return counter_read(evictions_); }

PuntTableUse table_use(std::span<const PuntPolicer* const> policers) {
  PuntTableUse use;
  for (const PuntPolicer* p : policers) {
    use.sources += p->sources();
    use.capacity += p->capacity();
    use.evictions += p->evictions();
  }
  return use;
}

std::vector<proto::PuntOffender> top_offenders(std::span<const PuntPolicer* const> policers, uint64_t now,
                                               size_t max) {
  std::vector<proto::PuntOffender> all;
  for (const PuntPolicer* p : policers) p->offenders(now, all);
  std::map<uint32_t, proto::PuntOffender> by_source;
  for (const proto::PuntOffender& o : all) {
    auto [it, fresh] = by_source.try_emplace(o.ip, o);
    if (fresh) continue;
    it->second.dropped += o.dropped;
    it->second.passed += o.passed;
    it->second.last_drop_ms = std::min(it->second.last_drop_ms, o.last_drop_ms);
  }
  std::vector<proto::PuntOffender> top;
  for (const auto& [ip, o] : by_source) top.push_back(o);
  const size_t n = std::min(max, top.size());
  std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(n), top.end(),
                    [](const auto& a, const auto& b) { return a.dropped != b.dropped ? a.dropped > b.dropped : a.ip < b.ip; });
  top.resize(n);
  return top;
}

}  // namespace tandem::dp
