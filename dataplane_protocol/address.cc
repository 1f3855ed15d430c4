#include "dataplane_protocol/address.h"

#include <arpa/inet.h>

namespace tandem::dp::proto {

bool parse_ipv4(const std::string& text, uint32_t& out) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return false;
  out = a.s_addr;
  return true;
}

std::string format_ipv4(uint32_t ip_net) {
  char buf[INET_ADDRSTRLEN];
  in_addr a{ip_net};
  return inet_ntop(AF_INET, &a, buf, sizeof buf);
}

}  // namespace tandem::dp::proto
