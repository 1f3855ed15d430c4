#include "tools/rtp_peer/stream_stats.h"

#include <algorithm>
#include <cmath>

namespace tandem::rtp_peer {

void ReceiveStats::add(uint32_t ssrc, uint16_t seq, uint32_t rtp_ts, uint32_t clock_rate, int64_t arrival_us) {
  auto it = std::find_if(streams_.begin(), streams_.end(), [&](const StreamStats& s) { return s.ssrc == ssrc; });
  if (it == streams_.end()) {
    StreamStats& s = streams_.emplace_back();
    s.ssrc = ssrc;
    s.clock_rate = clock_rate;
    s.received = 1;
    s.ext_min = s.ext_max = seq;
    s.prev_arrival_us = arrival_us;
    s.prev_ts = rtp_ts;
    return;
  }
  StreamStats& s = *it;
  // A.1 without probation or restart: the nearest extension of `seq` to the
  // highest one seen, so wraps and reordering both land in the right place.
  const auto delta = static_cast<int16_t>(seq - static_cast<uint16_t>(s.ext_max));
  const int64_t ext = s.ext_max + delta;
  s.ext_max = std::max(s.ext_max, ext);
  s.ext_min = std::min(s.ext_min, ext);
  ++s.received;

  // A.8 with D taken from differences, so a timestamp wrap needs no care.
  const double d = static_cast<double>(arrival_us - s.prev_arrival_us) * s.clock_rate / 1e6 -
                   static_cast<int32_t>(rtp_ts - s.prev_ts);
  s.jitter += (std::fabs(d) - s.jitter) / 16.0;
  s.jitter_max = std::max(s.jitter_max, s.jitter);
  s.prev_arrival_us = arrival_us;
  s.prev_ts = rtp_ts;
}

uint64_t ReceiveStats::received() const {
  uint64_t n = 0;
  for (const auto& s : streams_) n += s.received;
  return n;
}

uint64_t ReceiveStats::expected() const {
  uint64_t n = 0;
  for (const auto& s : streams_) n += s.expected();
  return n;
}

int64_t ReceiveStats::lost() const { return static_cast<int64_t>(expected()) - static_cast<int64_t>(received()); }

double ReceiveStats::loss_pct() const {
  const uint64_t e = expected();
  return e == 0 ? 0.0 : 100.0 * static_cast<double>(lost()) / static_cast<double>(e);
}

double ReceiveStats::jitter_ms() const {
  double j = 0;
  for (const auto& s : streams_) j = std::max(j, s.jitter_ms());
  return j;
}

double ReceiveStats::jitter_max_ms() const {
  double j = 0;
  for (const auto& s : streams_) j = std::max(j, s.jitter_max_ms());
  return j;
}

}  // namespace tandem::rtp_peer
