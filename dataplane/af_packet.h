// net_af_packet's receive ring, and why the dataplane sizes it.
//
// The PMD joins its sockets to a PACKET_FANOUT group with
// PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles IPv4 fragments before
// the ring sees them: a datagram sent as fragments arrives as ONE frame longer
// than the MTU (a 3000-byte SIP message: a 3042-byte frame). The ring's frames
// are fixed-size slots (framesz=, 2048 bytes by default) and the kernel cuts a
// longer frame to the slot without a word, so without a bigger slot such a
// datagram reached the parser cut short and was dropped as bad_ip_header. The
// PMD copies a slot into a single mbuf, so the mbufs it receives into must be
// as big as its slots.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::dp {

// What the PMD uses when framesz= is not given.
inline constexpr uint32_t kAfPacketPmdFrameSize = 2048;
// What the dataplane gives net_af_packet vdevs that set no ring geometry of
// their own: datagrams up to 16,276 bytes of UDP payload arrive whole, for
// 8 MiB of ring per queue and direction (512 slots).
inline constexpr uint32_t kAfPacketFrameSize = 16384;

// True for an EAL --vdev value of net_af_packet (or its alias eth_af_packet).
bool is_af_packet_vdev(std::string_view vdev);

// The value of `key` in devargs "key=value,key2=value2" ("" if absent; the
// last one if repeated).
std::string_view devarg(std::string_view args, std::string_view key);

// A net_af_packet --vdev value that sets neither framesz= nor blocksz= gets
// both (kAfPacketFrameSize): true if `vdev` was changed. An operator's own ring
// geometry is left as it is.
bool add_af_packet_ring_defaults(std::string& vdev);

// Applies add_af_packet_ring_defaults() to every --vdev of an EAL argument
// list ("--vdev X" and "--vdev=X"); returns the values it changed.
std::vector<std::string> add_af_packet_ring_defaults(std::vector<std::string>& eal_args);

// framesz= of net_af_packet's devargs ("iface=...,framesz=..."), or the PMD's
// default.
uint32_t af_packet_frame_size(std::string_view args);

// Data bytes an mbuf needs (besides its headroom) for the PMD to accept a ring
// of `framesz` slots: it refuses an RX queue whose mbufs are smaller.
uint32_t af_packet_mbuf_data(uint32_t framesz);

// The longest frame a slot of `framesz` holds whole: the kernel puts the frame
// behind the tpacket2 header and a sockaddr_ll, aligned (66 bytes in).
uint32_t af_packet_max_frame(uint32_t framesz);

}  // namespace tandem::dp
