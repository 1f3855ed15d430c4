#include "dataplane/relay.h"

#include <arpa/inet.h>

#include <cstring>

namespace tandem::dp {
namespace {

constexpr uint16_t kRtpHeader = 12;
constexpr uint16_t kRtcpHeader = 8;

uint16_t port_plus_one(uint16_t port_net) { return htons(static_cast<uint16_t>(ntohs(port_net) + 1)); }

// A remote control gave (or one latched before) bounds who may (re)latch the
// leg: its address, and with kLegLockPort its port.
bool may_latch(uint8_t flags, const Remote& r, const ParsedPacket& p, bool rtcp_on_odd_port) {
  if (!r.known() || !(flags & kLegLockAddress)) return true;
  if (r.ip != p.src_ip) return false;
  return !(flags & kLegLockPort) || p.src_port == (rtcp_on_odd_port ? r.rtcp_port : r.rtp_port);
}

// Strict-source latching. Returns false when the packet must be dropped as
// coming from the wrong place.
bool check_source(LegPath& in, const ParsedPacket& p, bool rtcp_on_odd_port) {
  const uint8_t flags = in.flags.load(std::memory_order_acquire);
  const uint8_t latched_bit = rtcp_on_odd_port ? kLegLatchedRtcp : kLegLatchedRtp;
  Remote r = Remote::unpack(in.remote.load(std::memory_order_acquire));
  const uint16_t expected_port = rtcp_on_odd_port ? r.rtcp_port : r.rtp_port;
  const bool matches = r.ip == p.src_ip && expected_port == p.src_port;

  if (flags & latched_bit) {
    if (matches) return true;
    if (flags & kLegStrict) return false;
  } else if (!(flags & kLegLearn)) {
    // Control forbade learning: only the address it gave may send, and until
    // it gives one, nobody (strict) or anybody (not strict).
    return matches || !(flags & kLegStrict);
  } else if ((flags & (kLegLatchedRtp | kLegLatchedRtcp)) && r.ip != p.src_ip && (flags & kLegStrict)) {
    // The other flow of this leg latched already: RTP and RTCP share a host.
    return false;
  }
  if (!may_latch(flags, r, p, rtcp_on_odd_port)) return false;
  // Latch (first packet) or re-latch (non-strict).
  if (rtcp_on_odd_port) {
    r.rtcp_port = p.src_port;
  } else if (!(flags & kLegLatchedRtcp)) {
    // Until RTCP shows where it comes from, keep what signalling said of it
    // (rtcp-mux, or an a=rtcp port) while RTP comes from the address it gave;
    // otherwise guess the next port, as RFC 3550 suggests.
    const bool mux = r.known() && r.rtcp_port == r.rtp_port;
    const bool as_signalled = r.known() && r.ip == p.src_ip && r.rtp_port == p.src_port;
    if (mux) {
      r.rtcp_port = p.src_port;
    } else if (!as_signalled) {
      r.rtcp_port = port_plus_one(p.src_port);
    }
  }
  if (!rtcp_on_odd_port) r.rtp_port = p.src_port;
  r.ip = p.src_ip;
  in.remote.store(r.pack(), std::memory_order_release);
  in.flags.fetch_or(latched_bit, std::memory_order_acq_rel);
  return true;
}

uint32_t load_be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return ntohl(v);
}

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

}  // namespace

bool is_martian(uint32_t src_net, uint32_t own_net) {
  const uint32_t first_octet = ntohl(src_net) >> 24;
  // 0/8 "this network", 127/8 loopback, 224/4 multicast, 240/4 class E and
  // 255.255.255.255: none is ever a unicast peer (RFC 1812 5.3.7).
  return first_octet == 0 || first_octet == 127 || first_octet >= 224 || src_net == own_net;
}

bool rtp_header_ok(const uint8_t* p, uint16_t len) {
  if (len < kRtpHeader || (p[0] >> 6) != 2) return false;
  uint32_t header = kRtpHeader + 4u * (p[0] & 0x0f);  // CSRC list
  if (p[0] & 0x10) {                                   // X: extension header and its words
    if (len < header + 4) return false;
    header += 4 + 4u * load_be16(p + header + 2);
  }
  if (header > len) return false;
  if (!(p[0] & 0x20)) return true;
  const uint8_t padding = p[len - 1];  // P: the last octet counts itself and the padding before it
  return padding != 0 && padding <= len - header;
}

bool rtcp_header_ok(const uint8_t* p, uint16_t len) {
  if (len < kRtcpHeader || (p[0] >> 6) != 2) return false;
  // The first packet of a compound must lie within it; SRTCP's trailer
  // (index and tag) follows the compound, so the lengths need not add up.
  return 4u * (uint32_t{load_be16(p + 2)} + 1) <= len;
}

RelayResult relay_packet(Session& s, unsigned leg, const ParsedPacket& p, const uint8_t* payload,
                         const RelayClock& clock) {
  LegPath& in = s.paths[leg];
  const LegPath& out = s.paths[leg ^ 1];
  LegCounters& c = s.counters[leg];
  RelayResult res{};
  const uint16_t local_port = ntohs(p.dst_port);
  const bool odd_port = local_port & 1;
  const bool rtcp = is_rtcp(local_port, payload, p.payload_len);

  if (!(rtcp ? rtcp_header_ok(payload, p.payload_len) : rtp_header_ok(payload, p.payload_len))) {
    counter_add(in.drop_bad_rtp, 1u);
    res.reason = rtcp ? DropReason::bad_rtcp : DropReason::bad_rtp;
    return res;
  }
  if (is_martian(p.src_ip, in.local_ip)) {
    counter_add(in.drop_source, 1u);
    res.reason = DropReason::martian_source;
    return res;
  }
  if (!check_source(in, p, odd_port)) {
    counter_add(in.drop_source, 1u);
    res.reason = DropReason::source_mismatch;
    return res;
  }

  if (counter_read(c.last_rx_ms) != clock.now_ms) counter_set(c.last_rx_ms, clock.now_ms);
  if (rtcp) {
    counter_add(c.rtcp_packets, 1u);
  } else {
    const uint16_t seq = static_cast<uint16_t>((payload[2] << 8) | payload[3]);
    rtp_stats_update(c.rtp, load_be32(payload + 8), seq, load_be32(payload + 4),
                     arrival_units(clock.now_us, c.rtp.clock_khz));
  }

  if (out.flags.load(std::memory_order_relaxed) & kLegNode) {
    counter_add(c.packets, uint64_t{1});
    counter_add(c.bytes, uint64_t{p.payload_len});
    res.forward = res.to_node = true;
    return res;
  }
  // Each flow by its own address: RTCP may latch before RTP (with several
  // workers its packets can overtake the first RTP), and may go back at once.
  const Remote dst = Remote::unpack(out.remote.load(std::memory_order_acquire));
  const uint16_t dst_port = odd_port ? dst.rtcp_port : dst.rtp_port;
  if (dst.ip == 0 || dst_port == 0) {
    res.reason = DropReason::no_destination;
    return res;
  }
  counter_add(c.packets, uint64_t{1});
  counter_add(c.bytes, uint64_t{p.payload_len});
  res.forward = true;
  res.out.src_ip = out.local_ip;
  res.out.dst_ip = dst.ip;
  res.out.src_port = odd_port ? port_plus_one(out.local_port) : out.local_port;
  res.out.dst_port = dst_port;
  res.out.port = out.port;
  return res;
}

}  // namespace tandem::dp
