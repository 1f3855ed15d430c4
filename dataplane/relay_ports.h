// Allocation of relay ports (even RTP port, RTCP on the next odd one) per
// relay address (each port's addresses, numbered by the session table).
// Control thread only.
#pragma once

#include <cstdint>
#include <vector>

namespace tandem::dp {

class RelayPorts {
 public:
  RelayPorts(unsigned address_count, uint16_t min, uint16_t max);

  // Takes `wanted` (even, host order), or the next free port after the last one
  // handed out when wanted is 0: walking on instead of reusing the lowest free
  // port keeps late packets of an ended call away from a new one. 0 if none.
  uint16_t take(unsigned address, uint16_t wanted);
  void give_back(unsigned address, uint16_t rtp_port);
  bool in_range(uint16_t port_host) const { return port_host >= min_ && port_host <= max_; }

 private:
  struct PerAddress {
    std::vector<bool> used;  // one per even port
    uint32_t next = 0;
  };
  uint16_t min_;
  uint16_t max_;
  std::vector<PerAddress> addresses_;
};

}  // namespace tandem::dp
