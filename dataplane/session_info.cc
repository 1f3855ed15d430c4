#include "dataplane/session_info.h"

#include <arpa/inet.h>

namespace tandem::dp {
namespace {

uint32_t units_to_us(uint32_t units, uint8_t khz) {
  return khz ? static_cast<uint32_t>(uint64_t{units} * 1000 / khz) : 0;
}

}  // namespace

void read_leg_info(const Session& session, unsigned leg_index, uint32_t now_ms, proto::LegInfo& out) {
  const LegPath& leg = session.paths[leg_index];
  const LegCounters& c = session.counters[leg_index];
  const Remote r = Remote::unpack(leg.remote.load(std::memory_order_acquire));
  out.local_ip = leg.local_ip;
  out.local_port = ntohs(leg.local_port);
  out.remote_ip = r.ip;
  out.remote_port = ntohs(r.rtp_port);
  out.remote_rtcp_port = ntohs(r.rtcp_port);
  out.port = leg.port;
  out.flags = leg.flags.load(std::memory_order_relaxed);
  out.worker = static_cast<uint8_t>((leg.rx_link.load(std::memory_order_relaxed) & kOwnerMask) >> kOwnerShift);
  out.packets = counter_read(c.packets);
  out.bytes = counter_read(c.bytes);
  out.rtcp_packets = counter_read(c.rtcp_packets);
  out.drop_source = counter_read(leg.drop_source);
  out.drop_bad_rtp = counter_read(leg.drop_bad_rtp);
  const auto idle = static_cast<int32_t>(now_ms - counter_read(c.last_rx_ms));
  out.idle_ms = idle > 0 ? static_cast<uint32_t>(idle) : 0;  // the worker may be ahead of `now_ms`

  // The worker updates the RTP fields together; a copy taken mid-update is off
  // by at most the packet in flight, which a report can live with.
  RtpStats s;
  s.max_seq = counter_read(c.rtp.max_seq);
  s.cycles = counter_read(c.rtp.cycles);
  s.ssrc_changes = counter_read(c.rtp.ssrc_changes);
  s.bad_seq = counter_read(c.rtp.bad_seq);
  s.base = counter_read(c.rtp.base);
  s.received = counter_read(c.rtp.received);
  s.transit = counter_read(c.rtp.transit);
  s.jitter = counter_read(c.rtp.jitter);
  s.jitter_max = counter_read(c.rtp.jitter_max);
  s.jitter_sum = counter_read(c.rtp.jitter_sum);
  s.ssrc = counter_read(c.rtp.ssrc);
  s.probation = counter_read(c.rtp.probation);
  s.state = counter_read(c.rtp.state);
  s.clock_khz = counter_read(c.rtp.clock_khz);
  const RtpSummary sum = rtp_stats_summary(s);
  out.rtp_expected = sum.expected;
  out.rtp_received = sum.received;
  out.rtp_lost = sum.lost;
  out.jitter_us = units_to_us(sum.jitter, s.clock_khz);
  out.jitter_max_us = units_to_us(sum.jitter_max, s.clock_khz);
  out.jitter_mean_us = units_to_us(sum.jitter_mean, s.clock_khz);
  out.ssrc = sum.ssrc;
  out.ssrc_changes = sum.ssrc_changes;
  out.clock_khz = s.clock_khz;
}

}  // namespace tandem::dp
