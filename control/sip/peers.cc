#include "control/sip/peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <sofia-sip/msg_addr.h>

#include <charconv>
#include <string_view>

namespace tandem::control {

bool Peer::contains(uint32_t ip) const {
  const uint32_t mask = prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
  return (ip & mask) == (network & mask);
}

bool parse_peer(const std::string& text, Peer& out, std::string& error) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    error = "'" + text + "': expected NAME=IPV4[/LEN]";
    return false;
  }
  out.name = text.substr(0, eq);
  std::string addr = text.substr(eq + 1);
  out.prefix_len = 32;
  if (const auto slash = addr.find('/'); slash != std::string::npos) {
    unsigned len = 0;
    std::string_view l(addr);
    l.remove_prefix(slash + 1);
    const auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (ec != std::errc() || p != l.data() + l.size() || len > 32) {
      error = "'" + text + "': prefix length must be 0..32";
      return false;
    }
    out.prefix_len = static_cast<uint8_t>(len);
    addr.resize(slash);
  }
  in_addr a{};
  if (inet_pton(AF_INET, addr.c_str(), &a) != 1) {
    error = "'" + text + "': '" + addr + "' is not an IPv4 address";
    return false;
  }
  out.network = ntohl(a.s_addr);
  return true;
}

const Peer* find_peer(const std::vector<Peer>& peers, uint32_t ip) {
  const Peer* best = nullptr;
  for (const Peer& p : peers)
    if (p.contains(ip) && (!best || p.prefix_len > best->prefix_len)) best = &p;
  return best;
}

uint32_t source_ip(nta_incoming_t* irq) {
  msg_t* msg = nta_incoming_getrequest(irq);
  const uint32_t ip = source_ip(msg);
  msg_destroy(msg);
  return ip;
}

uint32_t source_ip(msg_t* msg) {
  const su_addrinfo_t* ai = msg ? msg_addrinfo(msg) : nullptr;
  return ai && ai->ai_family == AF_INET ? ntohl(reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr.s_addr)
                                        : 0;
}

}  // namespace tandem::control
