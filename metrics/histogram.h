// A Prometheus histogram kept by the thread that owns what it measures (no
// atomics: the call server observes and builds its /metrics on its SIP thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tandem::metrics {

class Histogram {
 public:
  // Upper bounds, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

  void observe(double v) {
    size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    ++counts_[i];
    sum_ += v;
  }

  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket, not cumulative; the last is above every bound.
  const std::vector<uint64_t>& counts() const { return counts_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
};

}  // namespace tandem::metrics
