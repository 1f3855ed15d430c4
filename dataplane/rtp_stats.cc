#include "dataplane/rtp_stats.h"

namespace tandem::dp {
namespace {

constexpr uint32_t kSeqMod = 1u << 16;
constexpr uint32_t kMaxDropout = 3000;
constexpr uint32_t kMaxMisorder = 100;
constexpr uint8_t kMinSequential = 2;

uint32_t extended_max(const RtpStats& s) { return (uint32_t{s.cycles} << 16) | s.max_seq; }

uint32_t expected_count(const RtpStats& s) { return extended_max(s) - s.base + 1; }

// While a new source is on probation `base` holds the count expected from the
// sources before it (kRtpCarry); otherwise the count follows from the sequence.
uint32_t carried_expected(const RtpStats& s) {
  if (s.state & kRtpCarry) return s.base;
  return s.received == 0 ? 0 : expected_count(s);
}

// A.1 init_seq, except that counts carry over a restart: the new sequence space
// is based so that `expected` continues from where the old one stopped and the
// CDR keeps the loss of the whole call.
void restart_sequence(RtpStats& s, uint16_t seq) {
  const uint32_t expected_so_far = carried_expected(s);
  s.max_seq = seq;
  s.cycles = 0;
  s.base = seq - expected_so_far;
  s.state &= static_cast<uint8_t>(~(kRtpBadSeqValid | kRtpCarry));
}

void new_source(RtpStats& s, uint32_t ssrc, uint16_t seq) {
  uint8_t carry = 0;
  if (s.state & kRtpStarted) {
    ++s.ssrc_changes;
    s.base = carried_expected(s);
    carry = kRtpCarry;
  }
  s.ssrc = ssrc;
  s.state = kRtpStarted | carry;
  s.probation = kMinSequential;
  // Probation counts from seq - 1 so that seq itself is "in sequence".
  s.max_seq = static_cast<uint16_t>(seq - 1);
}

// A.1 update_seq. Returns whether the packet is counted.
bool update_seq(RtpStats& s, uint16_t seq) {
  const uint16_t udelta = static_cast<uint16_t>(seq - s.max_seq);
  if (s.probation) {
    if (seq == static_cast<uint16_t>(s.max_seq + 1)) {
      --s.probation;
      s.max_seq = seq;
      if (s.probation == 0) {
        // The source is valid: the kMinSequential packets in a row that
        // proved it are counted, not only the last (A.1 counts just that one,
        // so a call record would miss a packet per stream).
        restart_sequence(s, seq);
        s.base -= kMinSequential - 1;
        s.received += kMinSequential;
        return true;
      }
    } else {
      s.probation = kMinSequential - 1;
      s.max_seq = seq;
    }
    return false;
  }
  if (udelta < kMaxDropout) {
    if (seq < s.max_seq) ++s.cycles;  // wrapped
    s.max_seq = seq;
  } else if (udelta <= kSeqMod - kMaxMisorder) {
    // A large jump: believe it only when the next packet follows it.
    if ((s.state & kRtpBadSeqValid) && seq == s.bad_seq) {
      restart_sequence(s, seq);
    } else {
      s.bad_seq = static_cast<uint16_t>(seq + 1);
      s.state |= kRtpBadSeqValid;
      return false;
    }
  }
  // else: duplicate or reordered packet, counted but max_seq stays.
  ++s.received;
  return true;
}

// A.8: J(i) = J(i-1) + (|D(i-1,i)| - J(i-1))/16, kept scaled by 16. The
// estimate carries over a change of SSRC (it describes the leg, not a source).
// The mean is over counted packets: each after the leg's first adds the
// estimate once (`samples`: two when a source's validation counts its
// probation packet too), so that it divides by received - 1 exactly.
void update_jitter(RtpStats& s, uint32_t rtp_ts, uint32_t arrival, uint32_t samples) {
  const uint32_t transit = arrival - rtp_ts;
  if (s.state & kRtpHaveTransit) {
    int32_t d = static_cast<int32_t>(transit - s.transit);
    if (d < 0) d = -d;
    s.jitter += static_cast<uint32_t>(d) - ((s.jitter + 8) >> 4);
    const uint32_t j = s.jitter >> 4;
    if (j > s.jitter_max) s.jitter_max = j;
  }
  const uint64_t sum = uint64_t{s.jitter_sum} + uint64_t{samples} * (s.jitter >> 4);
  s.jitter_sum = sum > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(sum);
  s.transit = transit;
  s.state |= kRtpHaveTransit;
}

}  // namespace

bool rtp_stats_update(RtpStats& s, uint32_t ssrc, uint16_t seq, uint32_t rtp_ts, uint32_t arrival) {
  if (!(s.state & kRtpStarted) || ssrc != s.ssrc) new_source(s, ssrc, seq);
  const uint32_t before = s.received;
  const bool counted = update_seq(s, seq);
  if (counted) update_jitter(s, rtp_ts, arrival, s.received - before - (before == 0 ? 1 : 0));
  return counted;
}

RtpSummary rtp_stats_summary(const RtpStats& s) {
  RtpSummary r{};
  r.received = s.received;
  r.expected = carried_expected(s);
  r.lost = static_cast<int64_t>(r.expected) - static_cast<int64_t>(r.received);
  r.jitter = s.jitter >> 4;
  r.jitter_max = s.jitter_max;
  r.jitter_mean = s.received > 1 ? static_cast<uint32_t>(s.jitter_sum / (s.received - 1)) : 0;
  r.ssrc = s.ssrc;
  r.ssrc_changes = s.ssrc_changes;
  r.extended_max = extended_max(s);
  return r;
}

}  // namespace tandem::dp
