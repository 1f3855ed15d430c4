// The SBC: a SIP proxy on sofia-sip's transaction layer (nta, not a UA: it
// forwards, it answers only what is addressed to it). A new INVITE goes to
// the server the Dispatcher chooses, with our Record-Route; no answer within
// --server-timeout, a 503 with Retry-After (the server unavailable) or a
// transport error sends it on to the next server, so the provider sees one
// INVITE and one final answer. Requests in a
// dialog follow their Route headers and need nothing remembered of the
// dialog: a restarted SBC forwards the BYEs of calls set up before.
//
// State: the INVITE transactions in progress (each with its servers tried),
// the dispatcher, the probes. Single-threaded, on one su_root.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#include "control/sbc/config.h"
#include "control/sbc/counters.h"
#include "control/sbc/dispatcher.h"
#include "control/sbc/rate_limit.h"
#include "control/sip/sip_checks.h"
#include "control/sip/udp_backlog.h"
#include "rules/reloader.h"

namespace tandem::control::sbc {

class Sbc {
 public:
  // `rules`: the providers' addresses, or nullptr (peers from flags only).
  Sbc(const SbcConfig& config, su_root_t* root, rules::Reloader* rules);
  ~Sbc();
  Sbc(const Sbc&) = delete;
  Sbc& operator=(const Sbc&) = delete;

  bool start(std::string& error);

  const Counters& counters() const { return counters_; }
  Dispatcher& dispatcher() { return dispatcher_; }
  nta_agent_t* agent() const { return agent_; }
  const rules::Reloader* rules() const { return rules_; }
  size_t invites_in_progress() const { return invites_.size(); }
  int64_t next_probe_ms() const { return next_probe_ms_; }

 private:
  // An INVITE from a provider on its way to a server.
  struct Invite {
    Sbc* sbc = nullptr;
    uint64_t id = 0;
    nta_incoming_t* irq = nullptr;
    msg_t* request = nullptr;        // as received, our Route removed: what each server gets a copy of
    std::string call_id;
    std::vector<size_t> tried;       // servers, in order
    nta_outgoing_t* orq = nullptr;   // to tried.back()
    su_timer_t* timer = nullptr;     // --server-timeout while the server is silent
    int64_t put_off_ms = 0;          // how much later the timer fired than --server-timeout (backlog)
    bool tcp = false;                // the provider sent it over TCP
    bool cancelled = false;          // the provider's CANCEL came: no more failover
    bool ringing = false;            // a 18x was relayed: the provider knows of this server's answer
  };

  // sbc.cc: the agent, who may send, what is addressed to us.
  static int request_cb(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t*, const sip_t*);
  static int stray_cb(nta_agent_magic_t*, nta_agent_t*, msg_t*, sip_t*);
  int on_request(nta_incoming_t* irq, const sip_t* sip);
  bool allowed(uint32_t ip);
  void answer_options(nta_incoming_t* irq);
  void refuse(nta_incoming_t* irq, const sip_t* sip, Counter counter, int status, const char* phrase,
              const std::string& why);
  // A failed check, with the headers its status needs: Unsupported (420), Allow (405).
  void refuse(nta_incoming_t* irq, const sip_t* sip, Counter counter, const Refusal& r);
  // Our own addresses in Via, Route and Record-Route.
  bool is_us(const url_t* url) const;
  // One of our call servers: by source address, or a URI's host and port.
  bool is_server(uint32_t ip) const;
  bool is_server(const url_t* url) const;
  // Our Routes off the top of `msg`'s Route set.
  void pop_our_routes(msg_t* msg, sip_t* sip) const;
  int retry_after_s() const;
  // Datagrams wait unread: the SIP thread is behind, and a peer's silence may be our own.
  bool behind() const { return backlog_.pending(); }
  // Datagrams wait unread over --shed-delay: new INVITEs are refused (logged when it starts and ends).
  bool overloaded();
  int on_stray(msg_t* msg, sip_t* sip);

  // invite.cc: a new call, server after server.
  static int invite_response_cb(nta_outgoing_magic_t*, nta_outgoing_t*, const sip_t*);
  static int invite_cancel_cb(nta_incoming_magic_t*, nta_incoming_t*, const sip_t*);
  static void server_timeout_cb(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  static int abandoned_cb(nta_outgoing_magic_t*, nta_outgoing_t*, const sip_t*);
  void new_invite(nta_incoming_t* irq, const sip_t* sip, uint32_t source);
  // The next server, or the 503 when none is left.
  void send_to_next(Invite& inv);
  int on_invite_response(Invite& inv, nta_outgoing_t* orq, const sip_t* sip);
  // The server's own answer says it cannot take the call (rather than how the call ended).
  static bool server_unavailable(const Invite& inv, const sip_t* sip);
  // The server failed the call: it is skipped until its next good probe, and the call goes on.
  void fail_over(Invite& inv, const std::string& why);
  // The current server's transaction left to finish by itself: a late 2xx gets ACK and BYE.
  void abandon(Invite& inv);
  // `server` is down: its INVITEs that got no more than 100 Trying go on to other servers.
  void take_back_invites(size_t server);
  void relay_response(Invite& inv, nta_outgoing_t* orq);
  void stop_timer(Invite& inv);
  void finish(Invite& inv);

  // forward.cc: requests in a dialog, and the ACKs of 2xx, by their Route headers.
  struct Forward;
  static int forwarded_response_cb(nta_outgoing_magic_t*, nta_outgoing_t*, const sip_t*);
  static int forward_cancel_cb(nta_incoming_magic_t*, nta_incoming_t*, const sip_t*);
  void end_forward(Forward* f);
  void forward_in_dialog(nta_incoming_t* irq, const sip_t* sip);
  // `msg` (a copy of the request) with our Routes off and Max-Forwards down, or why it is not
  // forwarded: in no dialog of ours or nowhere beyond us (481), a next hop that is no sip: URI
  // (416), a provider's request to anyone but a call server (403).
  Refusal prepare_forward(msg_t* msg, bool from_server);
  // Record-Route for a new dialog: one entry, or two when the provider and the server are
  // reached over different transports (RFC 5658).
  void record_route(msg_t* msg, sip_t* sip, bool provider_tcp, bool server_tcp) const;

  // probes.cc: OPTIONS to every server every --probe-interval.
  static void probe_round_cb(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  static int probe_response_cb(nta_outgoing_magic_t*, nta_outgoing_t*, const sip_t*);
  struct Probe;
  void probe_round();
  void on_probe_response(Probe& p, nta_outgoing_t* orq, const sip_t* sip);
  void note_probe_missed(size_t server, const std::string& why);

  const SbcConfig& config_;
  su_root_t* root_;
  rules::Reloader* rules_;
  Dispatcher dispatcher_;
  RateLimit rate_;
  Counters counters_;
  nta_agent_t* agent_ = nullptr;
  nta_leg_t* leg_ = nullptr;
  std::string record_route_udp_, record_route_tcp_;
  std::vector<uint32_t> server_ips_;
  UdpBacklog backlog_;
  uint64_t shed_ = 0;  // INVITEs refused in the current overload

  uint64_t next_invite_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Invite>> invites_;
  // Transactions left to a server that was given up on, until nta ends them.
  std::unordered_set<nta_outgoing_t*> abandoned_;
  std::unordered_set<Forward*> forwards_;

  // Probes: one outstanding per server; an answer after the next round starts counts as missed.
  struct Probe {
    Sbc* sbc = nullptr;
    size_t server = 0;
    nta_outgoing_t* orq = nullptr;
    int64_t sent_ms = 0;
    uint64_t sent_mark = 0;
    bool waited = false;  // given one round more because we were behind
  };
  std::vector<Probe> probes_;
  su_timer_t* probe_timer_ = nullptr;
  int64_t next_probe_ms_ = 0;
  uint64_t probe_serial_ = 0;

  // Providers from the Rules DB, per snapshot version.
  uint64_t providers_version_ = ~uint64_t{0};
  std::unordered_set<uint32_t> provider_ips_;
};

}  // namespace tandem::control::sbc
