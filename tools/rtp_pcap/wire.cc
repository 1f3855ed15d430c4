#include "tools/rtp_pcap/wire.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>

namespace tandem::rtp_pcap {

// Accepts aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff, two hex digits per byte.
std::optional<Mac> parse_mac(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  Mac mac{};
  for (size_t i = 0; i < mac.size(); ++i) {
    const char* begin = text.data() + i * 3;
    if (i > 0 && begin[-1] != ':' && begin[-1] != '-') return std::nullopt;
    auto [end, ec] = std::from_chars(begin, begin + 2, mac[i], 16);
    if (ec != std::errc() || end != begin + 2) return std::nullopt;
  }
  return mac;
}

std::string format_mac(const Mac& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

std::optional<uint32_t> parse_ipv4(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string format_ipv4(uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

}  // namespace tandem::rtp_pcap
