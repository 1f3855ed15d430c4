#include "bench/rtp_load_streams.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace tandem::bench::rtpload {
namespace {

constexpr uint32_t kMarkerBytes = 8;  // sender leg, packet number
constexpr int kSeenWindow = 64;

uint64_t local_key(uint32_t ip_net, uint16_t port) { return (uint64_t{ip_net} << 16) | port; }

void store16(uint8_t* p, uint16_t host) {
  const uint16_t v = htons(host);
  std::memcpy(p, &v, sizeof v);
}
void store32(uint8_t* p, uint32_t host) {
  const uint32_t v = htonl(host);
  std::memcpy(p, &v, sizeof v);
}
uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return ntohs(v);
}
uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return ntohl(v);
}

// The payload's filler differs per sender and packet, so that a payload cut,
// shifted or swapped between streams does not pass.
uint8_t filler(uint32_t sender, uint32_t k) { return static_cast<uint8_t>(sender * 31u + k * 7u + 1u); }

}  // namespace

Streams Streams::from_sessions(const std::vector<dp::proto::SessionInfo>& sessions, uint8_t port, Skipped& skipped) {
  Streams s;
  s.legs_.reserve(sessions.size() * 2);
  for (const auto& info : sessions) {
    bool usable = true;
    for (const auto& leg : info.legs) {
      if (leg.port != port) {
        ++skipped.other_port;
        usable = false;
      } else if (leg.remote_ip == 0 || leg.remote_port == 0) {
        ++skipped.remote_unknown;
        usable = false;
      }
    }
    if (!usable) continue;
    for (const auto& leg : info.legs) {
      const auto i = static_cast<uint32_t>(s.legs_.size());
      Stream st;
      st.local_ip = leg.local_ip;
      st.local_port = leg.local_port;
      st.remote_ip = leg.remote_ip;
      st.remote_port = leg.remote_port;
      // Distinct per leg, and seq numbers that wrap within a run for some legs.
      st.ssrc = 0x5a000000u ^ (i * 2654435761u);
      st.first_seq = static_cast<uint16_t>(i * 7919u);
      st.first_ts = i * 1000003u;
      s.by_local_.emplace(local_key(st.local_ip, st.local_port), i);
      s.legs_.push_back(st);
      if (std::find(s.remote_ips_.begin(), s.remote_ips_.end(), st.remote_ip) == s.remote_ips_.end()) {
        s.remote_ips_.push_back(st.remote_ip);
      }
    }
  }
  return s;
}

bool Streams::is_remote(uint32_t ip_net) const {
  return std::find(remote_ips_.begin(), remote_ips_.end(), ip_net) != remote_ips_.end();
}

uint32_t Streams::find_by_local(uint32_t ip_net, uint16_t port) const {
  const auto it = by_local_.find(local_key(ip_net, port));
  return it == by_local_.end() ? UINT32_MAX : it->second;
}

void Streams::write_rtp(uint32_t i, uint32_t k, uint8_t* rtp) const {
  const Stream& st = legs_[i];
  rtp[0] = 0x80;  // version 2, no padding, extension or CSRC
  rtp[1] = kPayloadTypePcma;
  store16(rtp + 2, static_cast<uint16_t>(st.first_seq + k));
  store32(rtp + 4, st.first_ts + k * kPayloadBytes);
  store32(rtp + 8, st.ssrc);
  uint8_t* payload = rtp + kRtpHeaderBytes;
  store32(payload, i);
  store32(payload + 4, k);
  std::memset(payload + kMarkerBytes, filler(i, k), kPayloadBytes - kMarkerBytes);
}

std::optional<uint32_t> Streams::account(uint32_t i, const uint8_t* rtp, uint32_t len) {
  Stream& st = legs_[i];
  const uint32_t sender = i ^ 1u;
  const Stream& from = legs_[sender];
  const uint8_t* payload = rtp + kRtpHeaderBytes;
  const uint16_t seq = load16(rtp + 2);
  const uint32_t k = len == kRtpBytes ? load32(payload + 4) : 0;
  bool good = len == kRtpBytes && rtp[0] == 0x80 && rtp[1] == kPayloadTypePcma && load32(rtp + 8) == from.ssrc &&
              load32(payload) == sender && seq == static_cast<uint16_t>(from.first_seq + k) &&
              load32(rtp + 4) == from.first_ts + k * kPayloadBytes;
  if (good) {
    const uint8_t f = filler(sender, k);
    good = std::all_of(payload + kMarkerBytes, payload + kPayloadBytes, [f](uint8_t b) { return b == f; });
  }
  if (!good) {
    ++st.bad;
    return std::nullopt;
  }
  if (st.received == 0) {
    st.base_ext_seq = st.max_ext_seq = seq;
    st.seen = 1;
  } else {
    // A duplicate would hide a lost packet from the seq count: remember the last 64.
    const auto delta = static_cast<int16_t>(static_cast<uint16_t>(seq - static_cast<uint16_t>(st.max_ext_seq)));
    if (delta > 0) {
      st.max_ext_seq += static_cast<uint32_t>(delta);
      st.seen = delta < kSeenWindow ? (st.seen << delta) | 1u : 1u;
    } else {
      const int back = -delta;
      const uint64_t bit = back < kSeenWindow ? uint64_t{1} << back : 0;
      if (bit & st.seen) {
        ++st.duplicates;
        return std::nullopt;
      }
      st.seen |= bit;
      ++st.out_of_order;
    }
  }
  ++st.received;
  return k;
}

Totals totals(const std::vector<Stream>& legs) {
  Totals t;
  for (size_t i = 0; i < legs.size(); ++i) {
    const Stream& st = legs[i];
    t.sent += st.sent;
    t.tx_failed += st.tx_failed;
    t.received += st.received;
    t.expected += legs[i ^ 1].sent;
    t.out_of_order += st.out_of_order;
    t.duplicates += st.duplicates;
    t.bad += st.bad;
    if (st.received == 0) {
      ++t.legs_without_packets;
    } else {
      t.lost_by_seq += static_cast<int64_t>(st.max_ext_seq - st.base_ext_seq + 1) - static_cast<int64_t>(st.received);
    }
  }
  return t;
}

}  // namespace tandem::bench::rtpload
