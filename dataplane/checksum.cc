#include "dataplane/checksum.h"

#include <cstring>

#ifdef __x86_64__
#include <immintrin.h>
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

// The last < 16 bytes of a sum: 4 at a time, then a word, then an odd byte
// (padded with a zero after it).
uint64_t sum_tail(const uint8_t* data, uint32_t len) {
  uint64_t sum = 0;
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
    uint16_t last = 0;
    std::memcpy(&last, data, 1);
    sum += last;
  }
  return sum;
}

#ifdef __x86_64__
// The 16-bit words of `data` summed into 64 bits (fold64 finishes the one's
// complement sum), 16 bytes at a time in 32-bit lanes, in two accumulators.
// A lane takes one word per 16 bytes: it cannot overflow below 1 MB, and a
// datagram is at most 64 kB. AVX2 widens eight words in one instruction: a
// 180-byte datagram costs about 6 ns here, SSE2 (every x86-64) about 9.
[[gnu::target("avx2")]] uint64_t sum_words_avx2(const uint8_t* data, uint32_t len) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
  for (; len >= 32; data += 32, len -= 32) {
    acc0 = _mm256_add_epi32(acc0, _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data))));
    acc1 = _mm256_add_epi32(acc1, _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16))));
  }
  if (len >= 16) {
    acc0 = _mm256_add_epi32(acc0, _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data))));
    data += 16;
    len -= 16;
  }
  const __m256i acc = _mm256_add_epi32(acc0, acc1);
  const __m128i four = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  const __m128i zero = _mm_setzero_si128();
  __m128i two = _mm_add_epi64(_mm_unpacklo_epi32(four, zero), _mm_unpackhi_epi32(four, zero));
  two = _mm_add_epi64(two, _mm_unpackhi_epi64(two, two));
  return static_cast<uint64_t>(_mm_cvtsi128_si64(two)) + sum_tail(data, len);
}

uint64_t sum_words_sse2(const uint8_t* data, uint32_t len) {
  const __m128i zero = _mm_setzero_si128();
  __m128i acc0 = zero, acc1 = zero;
  for (; len >= 16; data += 16, len -= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data));
    acc0 = _mm_add_epi32(acc0, _mm_unpacklo_epi16(v, zero));
    acc1 = _mm_add_epi32(acc1, _mm_unpackhi_epi16(v, zero));
  }
  const __m128i four = _mm_add_epi32(acc0, acc1);
  __m128i two = _mm_add_epi64(_mm_unpacklo_epi32(four, zero), _mm_unpackhi_epi32(four, zero));
  two = _mm_add_epi64(two, _mm_unpackhi_epi64(two, two));
  return static_cast<uint64_t>(_mm_cvtsi128_si64(two)) + sum_tail(data, len);
}

// Read once at start, so that the per-packet call is one predicted branch.
const bool kHasAvx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));

uint64_t sum_words(const uint8_t* data, uint32_t len) {
  return kHasAvx2 ? sum_words_avx2(data, len) : sum_words_sse2(data, len);
}
#else
uint64_t sum_words(const uint8_t* data, uint32_t len) { return sum_tail(data, len); }
#endif

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

// 20 to 60 bytes: five to fifteen scalar additions beat setting up vectors.
bool ipv4_header_checksum_ok(const uint8_t* ip, uint32_t ihl) { return fold64(sum_tail(ip, ihl)) == 0xffff; }

bool udp_checksum_ok(const uint8_t* ip, const uint8_t* udp, uint32_t udp_len) {
  if (udp[6] == 0 && udp[7] == 0) return true;
  constexpr uint8_t kProtoUdp = 17;
  uint64_t sum = sum_tail(ip + 12, 8);  // source and destination addresses
  sum += host_to_net16(kProtoUdp);
  sum += host_to_net16(static_cast<uint16_t>(udp_len));
  sum += sum_words(udp, udp_len);
  return fold64(sum) == 0xffff;
}

}  // namespace tandem::dp
