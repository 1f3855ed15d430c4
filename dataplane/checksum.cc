#include "dataplane/checksum.h"

#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace tandem::dp {

uint32_t csum_partial(const uint8_t* data, uint32_t len, uint32_t sum) {
  for (; len > 1; data += 2, len -= 2) {
    uint16_t w;
    std::memcpy(&w, data, sizeof w);
    sum += w;
  }
  if (len) {
    uint16_t last = 0;
    std::memcpy(&last, data, 1);
    sum += last;
  }
  return sum;
}

namespace {

// The 16-bit words of `data` summed into 64 bits (fold64 finishes the one's
// complement sum). SSE2 (every x86-64) takes 32 bytes per round in two
// accumulators of four 32-bit lanes: a 180-byte UDP datagram is six rounds.
uint64_t sum_words(const uint8_t* data, uint32_t len) {
  uint64_t sum = 0;
#ifdef __SSE2__
  const __m128i zero = _mm_setzero_si128();
  __m128i acc0 = zero, acc1 = zero;
  for (; len >= 32; data += 32, len -= 32) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16));
    acc0 = _mm_add_epi32(acc0, _mm_add_epi32(_mm_unpacklo_epi16(a, zero), _mm_unpackhi_epi16(a, zero)));
    acc1 = _mm_add_epi32(acc1, _mm_add_epi32(_mm_unpacklo_epi16(b, zero), _mm_unpackhi_epi16(b, zero)));
  }
  // A lane takes two 16-bit words per round: it cannot overflow below 1 MB,
  // and a datagram is at most 64 kB.
  alignas(16) uint32_t lanes[8];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), acc0);
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes + 4), acc1);
  for (uint32_t lane : lanes) sum += lane;
#endif
  for (; len >= 4; data += 4, len -= 4) {
    uint32_t w;
    std::memcpy(&w, data, sizeof w);
    sum += w;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, data, sizeof w);
    sum += w;
    data += 2;
    len -= 2;
  }
  if (len) {
    uint16_t last = 0;  // the odd byte, padded with a zero after it
    std::memcpy(&last, data, 1);
    sum += last;
  }
  return sum;
}

uint16_t fold64(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  return fold32(static_cast<uint32_t>(sum));
}

uint16_t host_to_net16(uint16_t v) {
  uint16_t out;
  const uint8_t bytes[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  std::memcpy(&out, bytes, sizeof out);
  return out;
}

}  // namespace

bool ipv4_header_checksum_ok(const uint8_t* ip, uint32_t ihl) { return fold64(sum_words(ip, ihl)) == 0xffff; }

bool udp_checksum_ok(const uint8_t* ip, const uint8_t* udp, uint32_t udp_len) {
  if (udp[6] == 0 && udp[7] == 0) return true;
  constexpr uint8_t kProtoUdp = 17;
  uint64_t sum = sum_words(ip + 12, 8);  // source and destination addresses
  sum += host_to_net16(kProtoUdp);
  sum += host_to_net16(static_cast<uint16_t>(udp_len));
  sum += sum_words(udp, udp_len);
  return fold64(sum) == 0xffff;
}

}  // namespace tandem::dp
