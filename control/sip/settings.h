// The SIP settings that the call server and the SBC share: where we listen,
// who may send to us, and the sofia-sip transport and transaction settings
// that matter under load. One set of flags for both binaries, and one place
// that creates the nta agent from them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sofia-sip/nta.h>

#include "control/sip/peers.h"

namespace CLI {
class App;
}

namespace tandem::control {

struct SipSettings {
  std::string address;                // our IPv4 address: Via, Contact, Record-Route, and what we listen on
  uint16_t port = 5060;               // UDP and TCP
  std::vector<Peer> peers;            // --peer: allowed besides the Rules DB's hosts
  uint32_t max_message_bytes = 65535; // larger messages are refused (513) or dropped
  uint32_t udp_buffer_bytes = 8u << 20;  // the UDP socket's receive and send buffers; 0: the kernel's
  uint32_t t1_ms = 500;               // RFC 3261's T1: retransmissions, and 64*T1 (timers B, F, H)
  uint32_t transaction_lifetime_ms = 0;  // nta's "64*T1" (timers B, D, F, H, J); 0: 64*T1 as RFC 3261 says
  uint32_t t1x64_ms() const { return transaction_lifetime_ms ? transaction_lifetime_ms : 64 * t1_ms; }
};

// What the command line gives as text, checked by finish_sip_flags.
struct SipFlagText {
  std::string listen;
  std::vector<std::string> peers;
};

// --sip, --peer, --max-message, --sip-udp-buffer, --sip-t1, --sip-transaction-lifetime; `peer_help` says
// who the peers are for this binary.
void add_sip_flags(CLI::App& app, SipSettings& s, SipFlagText& text, const std::string& peer_help);
// Checks the text flags into `s`; false and why otherwise.
bool finish_sip_flags(SipSettings& s, const SipFlagText& text, std::string& error);

// "sip:ADDRESS:PORT".
std::string sip_url(const SipSettings& s);

// The nta agent on UDP and TCP with the settings above. `user_agent`: nta
// acts as a UA (retransmits our 2xx until the ACK, ACKs a retransmitted 2xx:
// the call server); without it nta passes every 2xx up and leaves ACKs to us
// (a proxy: the SBC). nullptr when the address cannot be bound (errno says why).
nta_agent_t* create_agent(su_root_t* root, const SipSettings& s, bool user_agent, nta_message_f* stray,
                          nta_agent_magic_t* magic);

// nta's own counts: messages it could not parse, dropped, retransmitted, timed out.
std::vector<std::pair<std::string, uint64_t>> stack_stats(nta_agent_t* agent);

}  // namespace tandem::control
