// Incremental Internet checksum update (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
// Values are 16-bit words exactly as they sit in the packet; the one's complement
// sum does not care about byte order as long as every word is read the same way.
#pragma once

#include <cstdint>

namespace tandem::dp {

constexpr uint16_t fold32(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

constexpr uint16_t csum_replace16(uint16_t check, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = static_cast<uint16_t>(~check);
  sum += static_cast<uint16_t>(~old_word);
  sum += new_word;
  return static_cast<uint16_t>(~fold32(sum));
}

constexpr uint16_t csum_replace32(uint16_t check, uint32_t old_value, uint32_t new_value) {
  uint32_t sum = static_cast<uint16_t>(~check);
  sum += static_cast<uint16_t>(~old_value) + static_cast<uint16_t>(~(old_value >> 16));
  sum += (new_value & 0xffff) + (new_value >> 16);
  return static_cast<uint16_t>(~fold32(sum));
}

// A UDP checksum of zero means "none" (RFC 768): it stays zero, and a computed
// zero is sent as all ones.
constexpr uint16_t udp_csum_finish(uint16_t original, uint16_t updated) {
  if (original == 0) return 0;
  return updated == 0 ? 0xffff : updated;
}

// Full recomputation over a byte range, the reference the tests check the
// incremental update against.
uint32_t csum_partial(const uint8_t* data, uint32_t len, uint32_t sum);

// Verification of a received packet, where the port gave no verdict (most
// virtual ports; a NIC's RX offload flags are used instead when it has them).
// Four bytes per addition into 64 bits: a 214-byte RTP packet is a few ns.
// The IPv4 header of `ihl` bytes, checksum included, must sum to all ones.
bool ipv4_header_checksum_ok(const uint8_t* ip, uint32_t ihl);
// UDP (header, then `udp_len` - 8 payload bytes, behind a 20-byte IPv4
// header at `ip`): right, or absent (zero, RFC 768).
bool udp_checksum_ok(const uint8_t* ip, const uint8_t* udp, uint32_t udp_len);

}  // namespace tandem::dp
