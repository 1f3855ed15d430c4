// Every reason the fast path drops a packet, declared once (as VPP declares its
// error counters): the enum, the names shown by tandemctl and the per-worker
// counters all expand from this list.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tandem::dp {

#define TANDEM_DROP_REASONS(X)                                                           \
  X(truncated, "frame shorter than its Ethernet/IPv4/UDP headers")                     \
  X(bad_ip_header, "IPv4 version, IHL or total length wrong")                          \
  X(bad_udp_length, "UDP length disagrees with the IPv4 payload")                      \
  X(no_session, "UDP to the relay port range with no session")                         \
  X(source_mismatch, "media from other than the latched or signalled source (RTP bleed, hijack)") \
  X(bad_rtp, "RTP shorter than its header, version not 2, or CSRC, extension or padding beyond it") \
  X(no_destination, "other leg has no remote address yet")                             \
  X(no_neighbor, "next hop MAC address not resolved yet")                              \
  X(tx_full, "transmit queue full")                                                    \
  X(punt_full, "exception path full, or a frame too big for it and not IPv4")          \
  X(not_media, "non-media packet while the exception path is off")                    \
  X(martian_source, "source that can never be a peer: 0/8, 127/8, multicast, class E, broadcast, ours") \
  X(bad_ip_checksum, "IPv4 header checksum wrong")                                     \
  X(bad_udp_checksum, "UDP checksum present and wrong")                                \
  X(foreign_mac, "to a relay port but not to the port's MAC (another host's, broadcast, multicast)") \
  X(wrong_vlan, "tagged on an untagged port, untagged on a tagged one, or another VLAN id") \
  X(bad_rtcp, "RTCP version not 2 or its length beyond the packet")                  \
  X(unrelayable, "to a relay port but not relayable: IP options, a fragment, a chained jumbo frame") \
  X(punt_policed_source, "for the kernel, over its source address's rate (--punt-rate, --punt-burst)") \
  X(punt_policed_global, "for the kernel, over the rate of all sources (--punt-global-rate, --punt-global-burst)") \
  X(punt_policed_arp_icmp, "ARP or ICMP for the kernel, over its rate (--punt-arp-icmp-rate, --punt-arp-icmp-burst)") \
  X(handoff_full, "of a leg another worker owns, whose ring of handed-over packets was full")

enum class DropReason : uint8_t {
#define TANDEM_X(name, text) name,
  TANDEM_DROP_REASONS(TANDEM_X)
#undef TANDEM_X
};

inline constexpr std::size_t kDropReasonCount = 0
#define TANDEM_X(name, text) +1
    TANDEM_DROP_REASONS(TANDEM_X)
#undef TANDEM_X
    ;

inline constexpr std::array<std::string_view, kDropReasonCount> kDropReasonNames = {
#define TANDEM_X(name, text) #name,
    TANDEM_DROP_REASONS(TANDEM_X)
#undef TANDEM_X
};

inline constexpr std::array<std::string_view, kDropReasonCount> kDropReasonHelp = {
#define TANDEM_X(name, text) text,
    TANDEM_DROP_REASONS(TANDEM_X)
#undef TANDEM_X
};

constexpr std::size_t index(DropReason r) { return static_cast<std::size_t>(r); }

}  // namespace tandem::dp
