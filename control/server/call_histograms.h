// Distributions of ended calls for /metrics, from each call's final record:
// setup time (INVITE to answer) of answered calls, and per leg the RTP loss
// ratio and the largest jitter of calls that carried media. Owned and read on
// the SIP thread.
#pragma once

#include <array>

#include "cdr/record.h"
#include "metrics/exposition.h"

namespace tandem::control {

class CallHistograms {
 public:
  void observe(const cdr::Record& r);
  void add_to(metrics::Exposition& e) const;

 private:
  metrics::Histogram setup_s_{{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30}};
  std::array<metrics::Histogram, 2> loss_ratio_{metrics::Histogram({0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25}),
                                                metrics::Histogram({0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25})};
  std::array<metrics::Histogram, 2> jitter_s_{metrics::Histogram({0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25}),
                                              metrics::Histogram({0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25})};
};

}  // namespace tandem::control
