#include "dataplane/checksum.h"

#include <cstring>

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

}  // namespace tandem::dp
