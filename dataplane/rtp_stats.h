// RTP reception statistics per RFC 3550: sequence tracking (appendix A.1),
// cumulative loss (A.3) and interarrival jitter (A.8), kept in 40 bytes so that
// a leg's per-packet state fits one cache line (LegCounters, leg.h).
#pragma once

#include <cstdint>

namespace tandem::dp {

struct RtpStats {
  uint16_t max_seq;
  uint16_t cycles;        // sequence wraps (A.1 keeps them shifted by 16)
  uint16_t ssrc_changes;
  uint16_t bad_seq;       // valid when kBadSeqValid is set in `state`
  uint32_t base;          // extended sequence that counts as the first expected
  uint32_t received;      // packets counted by A.1 (after probation)
  uint32_t transit;       // arrival - RTP timestamp of the last packet, in clock units
  uint32_t jitter;        // A.8 estimate scaled by 16
  uint32_t jitter_max;    // largest jitter seen, clock units
  uint32_t jitter_sum;    // sum of per-packet jitter in clock units, for the mean
  uint32_t ssrc;
  uint8_t probation;      // packets still to see in sequence before a source is valid
  uint8_t state;          // kRtp* bits below
  uint8_t clock_khz;      // RTP clock of the stream (8 for G.711, 48 for Opus...)
  uint8_t reserved;
};
static_assert(sizeof(RtpStats) == 40);

inline constexpr uint8_t kRtpStarted = 1;
inline constexpr uint8_t kRtpBadSeqValid = 2;
inline constexpr uint8_t kRtpHaveTransit = 4;
inline constexpr uint8_t kRtpCarry = 8;

// Updates `s` with one RTP packet. `arrival` is the arrival time in the stream's
// clock units (see arrival_units()). Returns false when A.1 does not count the
// packet (probation, or a jump that still awaits confirmation).
bool rtp_stats_update(RtpStats& s, uint32_t ssrc, uint16_t seq, uint32_t rtp_ts, uint32_t arrival);

inline uint32_t arrival_units(uint64_t now_us, uint8_t clock_khz) {
  return static_cast<uint32_t>(now_us * clock_khz / 1000);
}

struct RtpSummary {
  uint64_t expected;
  uint64_t received;
  int64_t lost;           // may be negative with duplicates (A.3)
  uint32_t jitter;        // current, clock units
  uint32_t jitter_max;    // clock units
  uint32_t jitter_mean;   // clock units
  uint32_t ssrc;
  uint16_t ssrc_changes;
  uint32_t extended_max;  // extended highest sequence number
};

RtpSummary rtp_stats_summary(const RtpStats& s);

}  // namespace tandem::dp
