// New INVITEs per source address: a token bucket each, so that a flood from
// one provider is refused (503) while the others' calls go on. Pure: the
// caller gives the time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace tandem::control::sbc {

class RateLimit {
 public:
  // `per_second` tokens a second, at most `burst` saved; per_second 0: no limit.
  RateLimit(uint32_t per_second, uint32_t burst) : rate_(per_second), burst_(burst ? burst : per_second) {}

  // Whether `source` may send one more INVITE at `now_ms`; takes its token.
  bool allow(uint32_t source, int64_t now_ms);
  // Sources not heard from for a minute are forgotten (their bucket is full again anyway).
  void forget_idle(int64_t now_ms);
  size_t sources() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_ms = 0;
  };
  uint32_t rate_;
  uint32_t burst_;
  std::unordered_map<uint32_t, Bucket> buckets_;
};

}  // namespace tandem::control::sbc
