// Who may send SIP to us: hosts and networks from flags (--peer), checked on
// every request outside a dialog before anything else is done with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sofia-sip/nta.h>

namespace tandem::control {

struct Peer {
  std::string name;
  uint32_t network = 0;  // host order
  uint8_t prefix_len = 32;
  bool contains(uint32_t ip_host_order) const;
};

// "NAME=IPV4[/LEN]"; false and why otherwise.
bool parse_peer(const std::string& text, Peer& out, std::string& error);

// The most specific peer that contains `ip` (host order); nullptr: none.
const Peer* find_peer(const std::vector<Peer>& peers, uint32_t ip);

// The source address of a request or of a message, host order; 0 if unknown (not IPv4).
uint32_t source_ip(nta_incoming_t* irq);
uint32_t source_ip(msg_t* msg);

}  // namespace tandem::control
