#include "control/sbc/rate_limit.h"

#include <algorithm>
#include <iterator>

namespace tandem::control::sbc {

bool RateLimit::allow(uint32_t source, int64_t now_ms) {
  if (rate_ == 0) return true;
  auto [it, fresh] = buckets_.try_emplace(source, Bucket{static_cast<double>(burst_), now_ms});
  Bucket& b = it->second;
  if (!fresh) {
    const double elapsed_s = static_cast<double>(std::max<int64_t>(now_ms - b.at_ms, 0)) / 1000.0;
    b.tokens = std::min<double>(burst_, b.tokens + elapsed_s * rate_);
    b.at_ms = now_ms;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

void RateLimit::forget_idle(int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();)
    it = now_ms - it->second.at_ms > 60'000 ? buckets_.erase(it) : std::next(it);
}

}  // namespace tandem::control::sbc
