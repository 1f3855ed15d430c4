// How late the media thread sent each frame against its absolute deadline: a
// fixed histogram (10 us buckets up to 20 ms, then one overflow bucket) written
// by the media thread alone and read by anyone, so that the figure costs a
// relaxed add per packet and no memory that grows with the call count.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace tandem::attendant {

class PacingHistogram {
 public:
  static constexpr int64_t kBucketNs = 10'000;
  static constexpr size_t kBuckets = 2'000;  // 20 ms of 10 us; later still lands in the last one

  void record(int64_t late_ns) {
    const size_t b = late_ns <= 0 ? 0 : static_cast<size_t>(late_ns / kBucketNs);
    buckets_[b < kBuckets ? b : kBuckets].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // The upper edge, in microseconds, of the bucket holding the q-quantile (0 < q <= 1); 0 when empty.
  uint64_t quantile_us(double q) const {
    const uint64_t n = count();
    if (n == 0) return 0;
    const auto want = static_cast<uint64_t>(q * static_cast<double>(n) + 0.5);
    uint64_t seen = 0;
    for (size_t b = 0; b <= kBuckets; ++b) {
      seen += buckets_[b].load(std::memory_order_relaxed);
      if (seen >= want && seen > 0) return (b + 1) * kBucketNs / 1000;
    }
    return (kBuckets + 1) * kBucketNs / 1000;
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
};

}  // namespace tandem::attendant
