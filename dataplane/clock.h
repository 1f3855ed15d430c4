// The dataplane's clock: TSC-based, shared by workers and housekeeping, started
// at process start so that 32-bit millisecond stamps last 49 days between wraps.
#pragma once

#include <rte_cycles.h>

#include <cstdint>

namespace tandem::dp {

class Clock {
 public:
  // The TSC frequency is known once EAL has initialised.
  void start() {
    start_ = rte_rdtsc();
    hz_ = rte_get_tsc_hz();
  }
  // Split so that the product cannot overflow (d * 10^6 would after two hours at 2.6 GHz).
  uint64_t now_us() const {
    const uint64_t d = rte_rdtsc() - start_;
    return d / hz_ * 1000000 + d % hz_ * 1000000 / hz_;
  }
  uint32_t now_ms() const { return static_cast<uint32_t>(now_us() / 1000); }
  uint64_t hz() const { return hz_; }

 private:
  uint64_t start_ = 0;
  uint64_t hz_ = 1;
};

}  // namespace tandem::dp
