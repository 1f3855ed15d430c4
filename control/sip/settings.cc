#include "control/sip/settings.h"

#include "control/sip/sip_message_class.h"

#include <arpa/inet.h>

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/tport_tag.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>

namespace tandem::control {

void add_sip_flags(CLI::App& app, SipSettings& s, SipFlagText& text, const std::string& peer_help) {
  app.add_option("--sip", text.listen, "our SIP address IPV4[:PORT] (port 5060 by default): listen, Via, Contact")
      ->required();
  app.add_option("--peer", text.peers, "NAME=IPV4[/LEN] " + peer_help + "; repeatable");
  app.add_option("--max-message", s.max_message_bytes, "largest SIP message accepted, bytes")
      ->check(CLI::Range(4096u, 1u << 20))->capture_default_str();
  app.add_option("--sip-udp-buffer", s.udp_buffer_bytes,
                 "SIP UDP socket buffers (receive and send), bytes: what arrives while the SIP thread is busy "
                 "waits there; 0 keeps the kernel's default (set beyond net.core.rmem_max when root)")
      ->check(CLI::Range(0u, 1u << 30))->capture_default_str();
  app.add_option("--sip-t1", s.t1_ms,
                 "RFC 3261's T1 (RTT estimate), ms: retransmission intervals start there and a transaction "
                 "(or a 2xx waiting for its ACK) times out after 64*T1")
      ->check(CLI::Range(50u, 4000u))->capture_default_str();
  app.add_option("--sip-transaction-lifetime", s.transaction_lifetime_ms,
                 "ms a transaction lives at most, answered or not (sofia-sip's 64*T1: RFC 3261's timers B, D, F, "
                 "H and J); 0: 64*T1 (32 s). Less holds less memory per call per second at high call rates, as "
                 "Kamailio's tm keeps finished transactions 5 s (wt_timer); a retransmission arriving later is "
                 "then taken as a new request, and a peer silent that long times out")
      ->check(CLI::Range(0u, 300000u))->capture_default_str();
}

bool finish_sip_flags(SipSettings& s, const SipFlagText& text, std::string& error) {
  if (s.transaction_lifetime_ms && s.transaction_lifetime_ms < 1000) {
    error = "--sip-transaction-lifetime " + std::to_string(s.transaction_lifetime_ms) +
            ": at least 1000 ms (or 0: 64*T1), or a transaction ends before its retransmissions";
    return false;
  }
  const std::string& listen = text.listen;
  std::string host = listen;
  if (const auto colon = listen.rfind(':'); colon != std::string::npos) {
    host = listen.substr(0, colon);
    unsigned port = 0;
    std::string_view p(listen);
    p.remove_prefix(colon + 1);
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || end != p.data() + p.size() || port == 0 || port > 65535) {
      error = "--sip " + listen + ": bad port";
      return false;
    }
    s.port = static_cast<uint16_t>(port);
  }
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1 || a.s_addr == 0) {
    error = "--sip " + listen + ": needs this node's IPv4 address (it goes into Via and Contact)";
    return false;
  }
  s.address = host;
  for (const auto& t : text.peers) {
    Peer p;
    if (!parse_peer(t, p, error)) {
      error = "--peer " + error;
      return false;
    }
    s.peers.push_back(p);
  }
  return true;
}

std::string sip_url(const SipSettings& s) { return fmt::format("sip:{}:{}", s.address, s.port); }

nta_agent_t* create_agent(su_root_t* root, const SipSettings& s, bool user_agent, nta_message_f* stray,
                          nta_agent_magic_t* magic) {
  const std::string url = sip_url(s);
  return nta_agent_create(root, URL_STRING_MAKE(url.c_str()), stray, magic, NTATAG_UA(user_agent),
                          // Answers go where the request came from (rport for everyone: NATs).
                          NTATAG_SERVER_RPORT(2), NTATAG_MAXSIZE(s.max_message_bytes),
                          // Request lines sofia-sip cannot read reach nta's 400 or our checks, not the void.
                          NTATAG_MCLASS(sip_message_class()),
                          NTATAG_USE_SRV(0), NTATAG_USE_NAPTR(0),
                          // sofia derives no 64*T1 from T1: both, so that timers B, F and H follow --sip-t1.
                          NTATAG_SIP_T1(s.t1_ms), NTATAG_SIP_T1X64(s.t1x64_ms()),
                          // A proxy's CANCEL gets the 487 from downstream, not from nta.
                          TAG_IF(!user_agent, NTATAG_CANCEL_487(0)),
                          // The kernel's 208 KiB hold 20-40 ms of 1,500 calls/s: a burst overflowed it.
                          TPTAG_UDP_RMEM(s.udp_buffer_bytes), TPTAG_UDP_WMEM(s.udp_buffer_bytes),
                          // TCP: close idle connections and ones that stall mid-message.
                          TPTAG_IDLE(600000u), TPTAG_TIMEOUT(32000u), TAG_END());
}

std::vector<std::pair<std::string, uint64_t>> stack_stats(nta_agent_t* agent) {
  usize_t bad_message = 0, bad_request = 0, bad_response = 0, drop_request = 0, drop_response = 0, recv_retry = 0,
          tout_request = 0, tout_response = 0;
  if (agent)
    nta_agent_get_stats(agent, NTATAG_S_BAD_MESSAGE_REF(bad_message), NTATAG_S_BAD_REQUEST_REF(bad_request),
                        NTATAG_S_BAD_RESPONSE_REF(bad_response), NTATAG_S_DROP_REQUEST_REF(drop_request),
                        NTATAG_S_DROP_RESPONSE_REF(drop_response), NTATAG_S_RECV_RETRY_REF(recv_retry),
                        NTATAG_S_TOUT_REQUEST_REF(tout_request), NTATAG_S_TOUT_RESPONSE_REF(tout_response), TAG_END());
  return {{"sip_bad_messages", bad_message}, {"sip_bad_requests", bad_request}, {"sip_bad_responses", bad_response},
          {"sip_dropped_requests", drop_request}, {"sip_dropped_responses", drop_response},
          {"sip_retransmissions_received", recv_retry}, {"sip_request_timeouts", tout_request},
          {"sip_response_timeouts", tout_response}};
}

}  // namespace tandem::control
