// IPv4 addresses as the protocol carries them (network order), to and from
// text: for the dataplane's flags and for the protocol's clients alike.
#pragma once

#include <cstdint>
#include <string>

namespace tandem::dp::proto {

// "198.18.0.1" -> network-order address; false on anything else.
bool parse_ipv4(const std::string& text, uint32_t& out);
std::string format_ipv4(uint32_t ip_net);

}  // namespace tandem::dp::proto
