// A token bucket in TSC cycles, in its GCRA form (ITU-T I.371's virtual
// scheduling): one word of state, the time at which the bucket would be full
// again, so that admitting a packet is a compare and an add: no division, no
// floating point, nothing to refill on a timer.
#pragma once

#include <cstdint>

namespace tandem::dp {

struct TokenRate {
  uint64_t interval = 0;   // cycles per token; 0 = unlimited
  uint64_t tolerance = 0;  // (burst - 1) * interval: how far ahead of `now` the bucket may run

  // `per_second` tokens a second, `burst` of them back to back; a rate of 0 is unlimited.
  static TokenRate of(uint64_t hz, uint32_t per_second, uint32_t burst) {
    if (per_second == 0) return {};
    const uint64_t interval = hz / per_second ? hz / per_second : 1;
    return {interval, (burst ? burst - 1 : 0) * interval};
  }
  bool unlimited() const { return interval == 0; }
};

// `full_at` starts at 0: a new bucket holds its whole burst.
inline bool take_token(uint64_t& full_at, const TokenRate& rate, uint64_t now) {
  const uint64_t from = full_at > now ? full_at : now;
  if (from - now > rate.tolerance) return false;
  full_at = from + rate.interval;
  return true;
}

}  // namespace tandem::dp
