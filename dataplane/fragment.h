// IPv4 fragmentation (RFC 791 section 3.2, RFC 815's reassembly on the other
// side) for the exception path: a frame longer than the exception port takes is
// cut into fragments that the node's kernel reassembles.
//
// Where such frames come from: net_af_packet hands over IPv4 datagrams that its
// kernel reassembled (see af_packet.h), so a SIP message sent as three
// fragments arrives as one 3042-byte frame; and net_tap refuses frames longer
// than its MTU (plus 22 bytes), which DPDK will not raise above 1504. The
// fragments carry the original's identification, addresses, protocol, TTL and
// DF bit (the node's kernel is the only hop, so there is no path MTU to
// discover), and the Ethernet (and 802.1Q) header of the frame.
//
// Pure: no mbufs, no EAL. plan() then write(i) for each fragment.
#pragma once

#include <cstdint>

namespace tandem::dp {

class Ipv4Fragmenter {
 public:
  // Plans fragments of at most `mtu` bytes of IPv4 (header included) for the
  // Ethernet frame `frame` of `len` bytes (one 802.1Q tag allowed). False when
  // it is not IPv4 with a sane header and a datagram that fits the frame, or
  // `mtu` leaves no room for 8 bytes of data. Bytes after the datagram
  // (Ethernet padding) are not carried. A datagram within `mtu` gives one
  // fragment, a copy.
  bool plan(const uint8_t* frame, uint32_t len, uint32_t mtu);

  uint32_t count() const { return count_; }
  // Bytes of fragment i's frame.
  uint32_t frame_size(uint32_t i) const;
  // Writes fragment i's frame (frame_size(i) bytes) at `out`.
  void write(uint32_t i, uint8_t* out) const;

 private:
  uint32_t data_offset(uint32_t i) const;
  uint32_t data_size(uint32_t i) const;
  uint32_t header_size(uint32_t i) const { return i == 0 ? ihl_ : later_ihl_; }

  const uint8_t* frame_ = nullptr;
  uint32_t l3_ = 0;           // Ethernet (+ tag) bytes, copied into every fragment
  uint32_t ihl_ = 0;          // the original header, options included: the first fragment's
  uint32_t later_ihl_ = 0;    // 20 + the options RFC 791 copies into every fragment, padded
  uint8_t later_options_[40] = {};
  uint32_t data_len_ = 0;     // the datagram's data (total length - IHL)
  uint32_t first_chunk_ = 0;  // data bytes in the first fragment (a multiple of 8 unless it is the only one)
  uint32_t chunk_ = 0;        // data bytes in each later one but the last
  uint32_t count_ = 0;
};

}  // namespace tandem::dp
