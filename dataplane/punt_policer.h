// What the exception path lets through to the node's kernel, before the tap:
// a token bucket per source address, one for all sources together, and
// small ones for ARP and for ICMP (Kamailio's pike, but before the kernel and
// tandem-control see the flood).
//
// One policer per worker, written by that worker only: no atomics on its
// path but relaxed stores (plain moves on x86) of what housekeeping reads
// for the top offenders. The sources live in a fixed table, set-associative
// (8 ways, a set's addresses in half a cache line), hashed with a random
// multiplier so that a sender cannot pick addresses that share a set; when a
// set is full the source seen longest ago gives its bucket up (counted as an
// eviction). An idle bucket refills by itself (token_bucket.h), so an old
// entry costs nothing until it is taken over.
//
// Runs only for frames on their way to the kernel: media never comes here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dataplane/config.h"
#include "dataplane/token_bucket.h"
#include "dataplane_protocol/drop_reasons.h"
#include "dataplane_protocol/protocol.h"

namespace tandem::dp {

// Whose budget a frame for the kernel comes out of: ARP and ICMP each have one
// of their own (no source bucket), so that a ping flood cannot starve the
// neighbour resolution of media, nor a SIP flood either of them.
enum class PuntClass : uint8_t { source, arp, icmp };

struct PuntKey {
  PuntClass cls = PuntClass::source;
  uint32_t source = 0;  // IPv4 source, network order; 0 for frames that are not IPv4
};

// From the frame's link header on: `l3_offset` is where parse_frame() found
// the Ethernet payload (0: not parsed, the frame counts as not IPv4).
PuntKey punt_key(const uint8_t* frame, uint32_t len, uint16_t l3_offset);

class PuntPolicer {
 public:
  static constexpr unsigned kWays = 8;

  PuntPolicer() = default;  // lets everything through, keeps no sources
  // `workers` share the global, ARP and ICMP budgets; `seed` picks the hash.
  PuntPolicer(const PuntLimits& limits, uint64_t hz, unsigned workers, uint64_t seed);

  // nullopt: to the kernel; else why not. `now` in TSC cycles.
  std::optional<DropReason> admit(const PuntKey& key, uint64_t now);

  // What another thread reads (relaxed): the sources with drops, as they
  // stand, with the time since their last drop.
  void offenders(uint64_t now, std::vector<proto::PuntOffender>& out) const;
  uint32_t sources() const;    // buckets in use
  uint64_t evictions() const;  // buckets taken over, the set being full
  uint32_t capacity() const { return static_cast<uint32_t>(keys_.size()); }

 private:
  struct Source {
    uint64_t full_at;     // the bucket (token_bucket.h)
    uint64_t last_seen;   // TSC; 0 = free
    uint64_t dropped;
    uint32_t passed;
    uint32_t last_drop;   // TSC >> coarse_shift_, about a millisecond: wraps after weeks, enough to say "recent"
  };
  static_assert(sizeof(Source) == 32);

  Source& find_or_take(uint32_t ip);
  Source* set_of(uint32_t ip, uint32_t*& keys);

  TokenRate source_rate_{}, global_rate_{}, arp_icmp_rate_{};
  uint64_t global_full_at_ = 0;
  uint64_t arp_full_at_ = 0;
  uint64_t icmp_full_at_ = 0;
  uint64_t hz_ = 1;
  uint64_t multiplier_ = 1;
  unsigned set_shift_ = 64;
  unsigned coarse_shift_ = 0;
  uint64_t evictions_ = 0;
  std::vector<uint32_t> keys_;   // kWays per set: the sources' addresses
  std::vector<Source> sources_;  // in step with keys_
};

// The source tables of all `policers` together: buckets in use, their room, evictions.
struct PuntTableUse {
  uint64_t sources = 0;
  uint64_t capacity = 0;
  uint64_t evictions = 0;
};
PuntTableUse table_use(std::span<const PuntPolicer* const> policers);

// The sources with the most drops over all `policers` (a source that RSS
// spreads over several workers summed), at most `max`, most drops first.
std::vector<proto::PuntOffender> top_offenders(std::span<const PuntPolicer* const> policers, uint64_t now,
                                               size_t max);

}  // namespace tandem::dp
