// Plain UDP endpoints on 127.0.0.1 standing in for the attendant's callers
// (the attendant test and bench/attendant_bench.cc): a thread records every
// RTP packet that arrives with its arrival time; the same sockets send the
// callers' RFC 4733 digits, so that they come from the address the engine
// expects. Nothing here uses oRTP: the engine is checked against the wire.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace tandem::testing {

struct ReceivedRtp {
  int64_t arrival_ns = 0;  // CLOCK_MONOTONIC
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint8_t payload_type = 0;
  bool marker = false;
  std::vector<uint8_t> payload;  // only if kept
};

class RtpReceivers {
 public:
  // Binds the sockets on 127.0.0.1 (or another loopback address `host`, host
  // order: another party) and starts receiving.
  RtpReceivers(size_t count, bool keep_payload, uint32_t host = 0x7f000001);
  ~RtpReceivers();
  RtpReceivers(const RtpReceivers&) = delete;
  RtpReceivers& operator=(const RtpReceivers&) = delete;

  size_t size() const { return fds_.size(); }
  uint16_t port(size_t i) const { return ports_[i]; }
  size_t count(size_t i) const;
  std::vector<ReceivedRtp> packets(size_t i) const;
  size_t rtcp() const { return rtcp_.load(std::memory_order_relaxed); }  // RTCP packets left out
  // From receiver i's socket to 127.0.0.1:port.
  void send(size_t i, uint16_t port, const std::vector<uint8_t>& datagram) const;

 private:
  void run();
  std::vector<int> fds_;
  std::vector<uint16_t> ports_;
  int epoll_fd_ = -1;
  bool keep_payload_;
  mutable std::mutex mutex_;
  std::vector<std::vector<ReceivedRtp>> received_;
  std::atomic<size_t> rtcp_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// An RFC 4733 telephone-event packet.
std::vector<uint8_t> telephone_event_packet(uint8_t payload_type, uint16_t sequence, uint32_t timestamp,
                                            uint32_t ssrc, uint8_t event, bool end, uint16_t duration);

// How far consecutive packets of each stream arrived from `period_ns` apart
// (the packets of one prompt, from the second on).
struct PacingReport {
  size_t gaps = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};
PacingReport inter_arrival(const std::vector<std::vector<ReceivedRtp>>& streams, int64_t period_ns);

}  // namespace tandem::testing
