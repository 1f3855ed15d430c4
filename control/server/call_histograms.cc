#include "control/server/call_histograms.h"

#include <algorithm>

namespace tandem::control {

namespace {
constexpr const char* kLegs[2] = {"caller", "callee"};
}  // namespace

void CallHistograms::observe(const cdr::Record& r) {
  if (r.disposition != cdr::Disposition::answered) return;
  setup_s_.observe(static_cast<double>(r.answer_ms - r.start_ms) / 1000.0);
  for (size_t leg = 0; leg < 2; ++leg) {
    const cdr::LegQuality& q = r.legs[leg];
    if (q.packets == 0) continue;
    // RFC 3550's cumulative loss may be negative (duplicates): no loss, for a ratio.
    const double lost = static_cast<double>(std::max<int64_t>(q.lost, 0));
    loss_ratio_[leg].observe(lost / (lost + static_cast<double>(q.packets)));
    jitter_s_[leg].observe(q.jitter_max_us / 1e6);
  }
}

void CallHistograms::add_to(metrics::Exposition& e) const {
  e.family("tandem_control_call_setup_seconds", "histogram", "answered calls: from the INVITE to the answer");
  e.histogram(setup_s_);
  e.family("tandem_control_call_rtp_loss_ratio", "histogram",
           "ended calls with media, per leg: packets lost / expected, over the call (the relay's RFC 3550 count)");
  for (size_t leg = 0; leg < 2; ++leg) e.histogram(loss_ratio_[leg], {{"leg", kLegs[leg]}});
  e.family("tandem_control_call_rtp_jitter_max_seconds", "histogram",
           "ended calls with media, per leg: the largest interarrival jitter of the call");
  for (size_t leg = 0; leg < 2; ++leg) e.histogram(jitter_s_[leg], {{"leg", kLegs[leg]}});
}

}  // namespace tandem::control
