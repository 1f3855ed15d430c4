// Relay latencies in whole microseconds, one bucket each up to kMaxUs (the
// rest in the last): exact percentiles at that resolution for any number of
// packets, in constant memory. Pure.
#pragma once

#include <cstdint>
#include <vector>

namespace tandem::bench {

class LatencyHistogram {
 public:
  static constexpr uint32_t kMaxUs = 100'000;

  void add(uint64_t ns) {
    const uint64_t us = ns / 1000;
    ++buckets_[us < kMaxUs ? us : kMaxUs];
    ++count_;
    if (us > max_us_) max_us_ = us;
  }
  uint64_t count() const { return count_; }
  uint64_t max_us() const { return max_us_; }

  // The smallest latency that q of the packets did not exceed (q in 0..1).
  uint64_t percentile_us(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (uint32_t us = 0; us <= kMaxUs; ++us) {
      seen += buckets_[us];
      if (seen >= rank) return us;
    }
    return kMaxUs;
  }

 private:
  std::vector<uint64_t> buckets_ = std::vector<uint64_t>(kMaxUs + 1);
  uint64_t count_ = 0;
  uint64_t max_us_ = 0;
};

}  // namespace tandem::bench
