#include "dataplane/relay_ports.h"

namespace tandem::dp {

RelayPorts::RelayPorts(unsigned address_count, uint16_t min, uint16_t max)
    : min_(min), max_(max), addresses_(address_count) {
  for (auto& p : addresses_) p.used.assign((max - min + 1) / 2, false);
}

uint16_t RelayPorts::take(unsigned address, uint16_t wanted) {
  PerAddress& p = addresses_[address];
  const uint32_t n = static_cast<uint32_t>(p.used.size());
  if (wanted != 0) {
    const uint32_t i = (wanted - min_) / 2u;
    if (wanted % 2 || !in_range(wanted) || p.used[i]) return 0;
    p.used[i] = true;
    return wanted;
  }
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = (p.next + k) % n;
    if (!p.used[i]) {
      p.used[i] = true;
      p.next = (i + 1) % n;
      return static_cast<uint16_t>(min_ + 2 * i);
    }
  }
  return 0;
}

void RelayPorts::give_back(unsigned address, uint16_t rtp_port) {
  addresses_[address].used[(rtp_port - min_) / 2u] = false;
}

}  // namespace tandem::dp
