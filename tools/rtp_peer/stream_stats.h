// What tandem-rtp-peer measured on the RTP it received, per SSRC: extended
// sequence numbers (RFC 3550 A.1), expected and lost (A.3) and interarrival
// jitter (A.8). Kept apart from dataplane/rtp_stats.h on purpose: this tool
// checks the relay, so it must not share the relay's arithmetic (nor its A.1
// probation, which leaves the first packets of a source uncounted).
#pragma once

#include <cstdint>
#include <vector>

namespace tandem::rtp_peer {

struct StreamStats {
  uint32_t ssrc = 0;
  uint32_t clock_rate = 8000;
  uint64_t received = 0;
  int64_t ext_min = 0;  // lowest and highest extended sequence number seen
  int64_t ext_max = 0;
  int64_t prev_arrival_us = 0;
  uint32_t prev_ts = 0;
  double jitter = 0;      // A.8 running estimate, clock units
  double jitter_max = 0;  // largest value the estimate reached, clock units

  // A.3: the count between the lowest and highest sequence received. Loss
  // before the first or after the last packet received cannot be seen here.
  uint64_t expected() const { return received == 0 ? 0 : static_cast<uint64_t>(ext_max - ext_min + 1); }
  double jitter_ms() const { return jitter * 1000.0 / clock_rate; }
  double jitter_max_ms() const { return jitter_max * 1000.0 / clock_rate; }
};

class ReceiveStats {
 public:
  // One packet, in arrival order; only differences of `arrival_us` are used.
  void add(uint32_t ssrc, uint16_t seq, uint32_t rtp_ts, uint32_t clock_rate, int64_t arrival_us);

  const std::vector<StreamStats>& streams() const { return streams_; }
  uint64_t received() const;
  uint64_t expected() const;
  int64_t lost() const;  // negative only if duplicates got through (A.3)
  double loss_pct() const;
  double jitter_ms() const;  // the worst stream's current estimate
  double jitter_max_ms() const;

 private:
  std::vector<StreamStats> streams_;  // in order of first appearance; a call has one or two
};

}  // namespace tandem::rtp_peer
