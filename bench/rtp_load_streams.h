// tandem-bench-rtp-load's streams: one per leg of every dataplane session, sent
// as that leg's remote would send it, and what came back for it. Pure: no EAL,
// so the packet contents and the loss accounting are the same wherever they run.
//
// Leg i's peer is leg i ^ 1 (the other leg of its session). What the dataplane
// relays toward leg i's remote is what the generator sent as leg i ^ 1's remote:
// its SSRC, and a payload that names the sender and the packet's number.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "dataplane_protocol/protocol.h"

namespace tandem::bench::rtpload {

inline constexpr uint32_t kRtpHeaderBytes = 12;
inline constexpr uint32_t kPayloadBytes = 160;  // G.711, 20 ms
inline constexpr uint32_t kRtpBytes = kRtpHeaderBytes + kPayloadBytes;
inline constexpr uint32_t kPacketsPerSecond = 50;
inline constexpr uint64_t kPeriodNs = 1'000'000'000 / kPacketsPerSecond;
inline constexpr uint8_t kPayloadTypePcma = 8;

struct Stream {
  // The leg as the dataplane knows it. Addresses in network order, ports in host order.
  uint32_t local_ip = 0;
  uint32_t remote_ip = 0;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  // What this leg's remote sends.
  uint32_t ssrc = 0;
  uint16_t first_seq = 0;
  uint32_t first_ts = 0;
  uint64_t sent = 0;
  uint64_t tx_failed = 0;  // built but refused by the port: never on the wire
  // What reached this leg's remote, i.e. what the peer leg's remote sent.
  uint64_t received = 0;
  uint64_t out_of_order = 0;  // older than the newest seen (RTP seq)
  uint64_t duplicates = 0;    // seen already (within the last 64 seq numbers)
  uint64_t bad = 0;           // wrong SSRC or payload: not the peer's packet
  uint32_t max_ext_seq = 0;   // extended (with wrap cycles) newest seq seen
  uint32_t base_ext_seq = 0;  // extended first seq seen
  uint64_t seen = 0;          // bit d: max_ext_seq - d was received
};

struct Skipped {
  uint32_t other_port = 0;      // a leg on a dataplane port we are not attached to
  uint32_t remote_unknown = 0;  // a leg without a remote yet (no answer, nothing latched)
};

class Streams {
 public:
  // The sessions whose two legs are both on `port` with a known remote.
  static Streams from_sessions(const std::vector<dp::proto::SessionInfo>& sessions, uint8_t port, Skipped& skipped);

  std::vector<Stream>& legs() { return legs_; }
  const std::vector<Stream>& legs() const { return legs_; }
  size_t sessions() const { return legs_.size() / 2; }
  // Distinct remote addresses: the generator answers ARP for them and announces them.
  const std::vector<uint32_t>& remote_ips() const { return remote_ips_; }
  bool is_remote(uint32_t ip_net) const;

  // The leg a relayed packet belongs to: the dataplane sends it from that
  // leg's local address. UINT32_MAX when none.
  uint32_t find_by_local(uint32_t ip_net, uint16_t port) const;

  // Writes the RTP packet (kRtpBytes) that leg i's remote sends as its k-th.
  void write_rtp(uint32_t i, uint32_t k, uint8_t* rtp) const;

  // Accounts an RTP packet that left the dataplane toward leg i's remote.
  // Returns its number k (leg i ^ 1's k-th) when it is good and new.
  std::optional<uint32_t> account(uint32_t i, const uint8_t* rtp, uint32_t len);

 private:
  std::vector<Stream> legs_;
  std::vector<uint32_t> remote_ips_;
  std::unordered_map<uint64_t, uint32_t> by_local_;
};

struct Totals {
  uint64_t sent = 0;
  uint64_t tx_failed = 0;
  uint64_t received = 0;
  uint64_t expected = 0;      // what the peers put on the wire
  int64_t lost_by_seq = 0;    // gaps in the RTP seq between the first and newest packet of each leg
  uint64_t out_of_order = 0;
  uint64_t duplicates = 0;
  uint64_t bad = 0;
  uint32_t legs_without_packets = 0;
};

Totals totals(const std::vector<Stream>& legs);

}  // namespace tandem::bench::rtpload
