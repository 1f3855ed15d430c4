// Datagrams waiting unread in this process's SIP UDP socket.
//
// When the SIP thread's core is full, answers wait in the socket buffer
// (8 MiB: seconds of traffic) while the thread's timers still fire on time.
// A timer that says "the peer did not answer" is then often wrong: the answer
// is here, unread. Timers that blame a peer ask this first.
#pragma once

#include <cstdint>
#include <string>

namespace tandem::control {

class UdpBacklog {
 public:
  // Finds the UDP socket bound to `address`:`port` (or to any address on that
  // port). sofia-sip keeps its sockets to itself (tport_t is opaque), so the
  // socket is found among this process's descriptors by what it is bound to.
  bool find(const std::string& address, uint16_t port);
  bool found() const { return fd_ >= 0; }
  // At least one datagram waits. False when no socket was found.
  bool pending() const;
  // How long the next datagram has waited, from the kernel's receive
  // timestamp (find() turns them on; the kernel starts stamping a moment
  // later, from a work queue): how far behind the SIP thread is. 0 when none
  // waits or no socket was found. (Not the bytes queued: UDP
  // releases the memory of what was read in batches of a quarter of the
  // buffer, so SO_MEMINFO and /proc/net/udp overstate the queue by megabytes.)
  int64_t oldest_wait_us() const;

 private:
  int fd_ = -1;
  bool timestamps_ = false;
};

}  // namespace tandem::control
