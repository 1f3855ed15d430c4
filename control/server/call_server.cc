#include "control/server/call_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/tport_tag.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "control/server/call_record.h"
#include "control/server/sip_checks.h"
#include "control/server/su_home.h"

namespace tandem::control {

std::string_view name(CallState s) {
  switch (s) {
#define TANDEM_NAME_ITEM(n) \
  case CallState::n:        \
    return #n;
    TANDEM_CALL_STATES(TANDEM_NAME_ITEM)
#undef TANDEM_NAME_ITEM
  }
  return "?";
}

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Call& call_of(void* magic) { return *static_cast<Call*>(magic); }

std::string user_of(const url_t* u) { return u && u->url_user ? u->url_user : ""; }

int status_of(nta_outgoing_t* orq, const sip_t* sip) {
  return sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
}

const char* phrase_of(const sip_t* sip, const char* fallback) {
  return sip && sip->sip_status && sip->sip_status->st_phrase ? sip->sip_status->st_phrase : fallback;
}

bool has_body(const sip_t* sip) { return sip->sip_payload && sip->sip_payload->pl_len > 0; }

// The source address of a request, host order; 0 if unknown.
uint32_t source_ip(nta_incoming_t* irq) {
  msg_t* msg = nta_incoming_getrequest(irq);
  uint32_t ip = 0;
  if (const su_addrinfo_t* ai = msg ? msg_addrinfo(msg) : nullptr; ai && ai->ai_family == AF_INET)
    ip = ntohl(reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr.s_addr);
  msg_destroy(msg);
  return ip;
}

std::string new_call_id(uint64_t serial, const std::string& host) {
  static std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}-{}@{}", rng(), serial, host);
}

// The Warning header of our refusals: what an operator reads in a trace.
std::string warning(const std::string& host, std::string_view why) {
  std::string text(why.substr(0, 200));
  std::replace(text.begin(), text.end(), '"', '\'');
  return fmt::format("399 {} \"{}\"", host, text);
}

}  // namespace

CallServer::CallServer(const ServerConfig& config, su_root_t* root, Media& media, rules::Reloader& rules,
                       cdr::Writer& cdrs)
    : config_(config), root_(root), media_(media), rules_(rules), cdrs_(cdrs) {
  home_ = static_cast<su_home_t*>(su_home_new(sizeof(su_home_t)));
}

CallServer::~CallServer() {
  shutdown();
  if (default_leg_) nta_leg_destroy(default_leg_);
  if (agent_) nta_agent_destroy(agent_);
  su_home_unref(home_);
}

bool CallServer::start(std::string& error) {
  const std::string url = fmt::format("sip:{}:{}", config_.sip_address, config_.sip_port);
  contact_udp_ = fmt::format("<{}>", url);
  contact_tcp_ = fmt::format("<{};transport=tcp>", url);
  agent_ = nta_agent_create(root_, URL_STRING_MAKE(url.c_str()), stray_cb, reinterpret_cast<nta_agent_magic_t*>(this),
                            // Answers go where the request came from (rport for everyone: NATs).
                            NTATAG_UA(1), NTATAG_SERVER_RPORT(2), NTATAG_MAXSIZE(config_.max_message_bytes),
                            NTATAG_USE_SRV(0), NTATAG_USE_NAPTR(0),
                            // The kernel's 208 KiB hold 20-40 ms of 1,500 calls/s: a burst overflowed it.
                            TPTAG_UDP_RMEM(config_.sip_udp_buffer_bytes), TPTAG_UDP_WMEM(config_.sip_udp_buffer_bytes),
                            // TCP: close idle connections and ones that stall mid-message.
                            TPTAG_IDLE(600000u), TPTAG_TIMEOUT(32000u), TAG_END());
  if (!agent_) {
    error = "cannot listen for SIP on " + url + " (UDP and TCP): " + std::strerror(errno);
    return false;
  }
  default_leg_ = nta_leg_tcreate(agent_, default_leg_cb, reinterpret_cast<nta_leg_magic_t*>(this),
                                 NTATAG_NO_DIALOG(1), TAG_END());
  if (!default_leg_) {
    error = "cannot create the SIP default leg";
    return false;
  }
  watch_media();
  // Ended calls go at the start of the next loop turn, outside nta's callbacks.
  su_root_add_prepoll(root_, [](void* self, su_root_t*) { static_cast<CallServer*>(self)->reap(); }, this);
  spdlog::info("SIP on {} (UDP and TCP), capacity {} calls", url, config_.capacity);
  return true;
}

void CallServer::watch_media() {
  su_wait_create(media_wait_, media_.event_fd(), SU_WAIT_IN);
  media_wait_index_ = su_root_register(root_, media_wait_, media_event_cb, reinterpret_cast<su_wakeup_arg_t*>(this), 0);
}

int CallServer::media_event_cb(su_root_magic_t*, su_wait_t* w, su_wakeup_arg_t* self) {
  auto* server = reinterpret_cast<CallServer*>(self);
  su_wait_events(w, -1);
  server->on_media_timeouts();
  if (server->media_.lost()) server->on_media_lost();
  return 0;
}

void CallServer::on_media_lost() {
  spdlog::error("the dataplane closed its connection: its sessions are gone; ending {} call(s), reconnecting",
                calls_.size());
  su_root_deregister(root_, media_wait_index_);
  media_wait_index_ = -1;
  counters_.add(Counter::media_errors);
  std::vector<Call*> calls;
  for (auto& [serial, call] : calls_) calls.push_back(call.get());
  for (Call* call : calls) {
    if (call->media.session) by_media_session_.erase(call->media.session);
    call->media.session = 0;  // nothing to delete any more
    hang_up(*call, cdr::HangupSide::system, "media relay lost", -1);
  }
  media_.flush();  // fails what was awaited: those calls' records go without counters
  take_media_outcomes();
  if (!media_retry_) media_retry_ = su_timer_create(su_root_task(root_), 1000);
  su_timer_set_for_ever(media_retry_, media_retry_cb, reinterpret_cast<su_timer_arg_t*>(this));
}

void CallServer::media_retry_cb(su_root_magic_t*, su_timer_t* t, su_timer_arg_t* self) {
  auto* server = reinterpret_cast<CallServer*>(self);
  std::string error;
  if (!server->media_.reopen(error)) {
    spdlog::debug("dataplane: {}", error);
    return;
  }
  su_timer_reset(t);
  server->watch_media();
  spdlog::info("dataplane connection restored");
}

// ---------------------------------------------------------------- trampolines

int CallServer::default_leg_cb(nta_leg_magic_t* self, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) {
  return reinterpret_cast<CallServer*>(self)->on_new_request(irq, sip);
}

int CallServer::leg_a_cb(nta_leg_magic_t* c, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) {
  Call& call = call_of(c);
  return call.server->on_dialog_request(call, kA, irq, sip);
}

int CallServer::leg_b_cb(nta_leg_magic_t* c, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) {
  Call& call = call_of(c);
  return call.server->on_dialog_request(call, kB, irq, sip);
}

int CallServer::invite_cb(nta_outgoing_magic_t* c, nta_outgoing_t* orq, const sip_t* sip) {
  Call& call = call_of(c);
  return call.server->on_invite_response(call, orq, sip);
}

int CallServer::relayed_cb(nta_outgoing_magic_t* c, nta_outgoing_t* orq, const sip_t* sip) {
  Call& call = call_of(c);
  return call.server->on_relayed_response(call, orq, sip);
}

int CallServer::cancel_cb(nta_incoming_magic_t* c, nta_incoming_t* irq, const sip_t* sip) {
  Call& call = call_of(c);
  if (!sip || !sip->sip_request) return 0;
  if (sip->sip_request->rq_method == sip_method_cancel) return call.server->on_cancel(call, irq);
  // An ACK: of a 2xx that carried an offer (the answer is in it), or of a non-2xx final answer.
  for (int side : {kA, kB}) {
    if (call.ack_irq[side] != irq) continue;
    call.ack_irq[side] = nullptr;
    nta_incoming_destroy(irq);
    call.server->on_ack(call, side, sip);
    break;
  }
  return 0;
}

int CallServer::stray_cb(nta_agent_magic_t* self, nta_agent_t* agent, msg_t* msg, sip_t*) {
  reinterpret_cast<CallServer*>(self)->counters_.add(Counter::stray);
  nta_msg_discard(agent, msg);
  return 0;
}

void CallServer::setup_timeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* c) {
  Call& call = call_of(c);
  spdlog::info("[{}] target {} sent nothing within {} ms: next", call.call_id, call.plan.targets[call.target].label,
               call.server->config_.provider_setup_ms);
  call.server->target_failed(call, 408, "Request Timeout");
}

void CallServer::ring_timeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* c) {
  Call& call = call_of(c);
  spdlog::info("[{}] target {} did not answer in time", call.call_id, call.plan.targets[call.target].label);
  call.server->counters_.add(Counter::no_answer);
  call.server->target_failed(call, 480, "No Answer");
}

void CallServer::max_timeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* c) {
  Call& call = call_of(c);
  call.server->counters_.add(Counter::max_duration);
  call.server->hang_up(call, cdr::HangupSide::system, "max call duration", -1);
}

// ---------------------------------------------------------------- new requests

int CallServer::on_new_request(nta_incoming_t* irq, const sip_t* sip) {
  const sip_method_t method = sip->sip_request ? sip->sip_request->rq_method : sip_method_invalid;
  if (method == sip_method_ack) {  // an ACK for no dialog of ours: nothing to answer
    nta_incoming_destroy(irq);
    return 0;
  }
  auto refuse = [&](int status, const char* phrase, std::string_view why, tag_type_t tag = tag_skip, tag_value_t value = 0) {
    spdlog::debug("refused {} {} from {}: {} {} ({})", sip->sip_request ? sip->sip_request->rq_method_name : "?",
                  sip->sip_call_id ? sip->sip_call_id->i_id : "-", source_ip(irq), status, phrase, why);
    nta_incoming_treply(irq, status, phrase, SIPTAG_WARNING_STR(warning(config_.sip_address, why).c_str()), tag, value,
                        TAG_END());
    nta_incoming_destroy(irq);
    return 0;
  };

  // Only configured peers: no open relay.
  const uint32_t ip = source_ip(irq);
  if (auto snapshot = rules_.current(); snapshot && snapshot->version() != peers_version_) {
    rule_peers_ = peer_hosts(*snapshot);
    peers_version_ = snapshot->version();
  }
  const Peer* peer = nullptr;
  for (const Peer& p : config_.peers)
    if (p.contains(ip)) peer = &p;
  // A customer's VM before a provider at the same address: its calls go out.
  const PeerHost* host = nullptr;
  for (const PeerHost& h : rule_peers_)
    if (h.ip == ip && (!host || (h.customer && !host->customer))) host = &h;
  if (!peer && !host) {
    counters_.add(Counter::refused_peer);
    return refuse(403, "Forbidden", "not a configured peer");
  }

  if (Refusal r = check_request(sip)) {
    counters_.add(Counter::refused_request);
    switch (r.status) {
      case 420: return refuse(r.status, r.phrase.c_str(), r.why, SIPTAG_UNSUPPORTED_STR(r.unsupported.c_str()));
      case 405: return refuse(r.status, r.phrase.c_str(), r.why, SIPTAG_ALLOW_STR(std::string(kAllow).c_str()));
      case 415:
      case 406: return refuse(r.status, r.phrase.c_str(), r.why, SIPTAG_ACCEPT_STR("application/sdp"));
      default: return refuse(r.status, r.phrase.c_str(), r.why);
    }
  }
  if (loops_back(sip, config_.sip_address, config_.sip_port)) {
    counters_.add(Counter::refused_loop);
    return refuse(482, "Loop Detected", "our own Via is in the request");
  }
  if (method == sip_method_options) {
    answer_options(irq);
    return 0;
  }
  // An INVITE.
  counters_.add(Counter::invites);
  if (shutting_down_ || calls_.size() >= config_.capacity) {
    counters_.add(Counter::refused_capacity);
    // A call attempt all the same: the operator sees it in the CDRs.
    Call attempt;
    attempt.call_id = sip->sip_call_id->i_id;
    attempt.start_ms = attempt.end_ms = now_ms();
    attempt.from_user = user_of(sip->sip_from->a_url);
    attempt.to_uri = user_of(sip->sip_request->rq_url);
    attempt.plan.direction = host && host->customer ? cdr::Direction::outbound : cdr::Direction::inbound;
    attempt.disposition = cdr::Disposition::rejected;
    attempt.final_code = 503;
    attempt.hangup_reason = shutting_down_ ? "shutting down" : "at capacity";
    submit_cdr(call_record(attempt, config_.dc, config_.node), attempt.call_id);
    const std::string retry = std::to_string(config_.retry_after_s);
    return refuse(503, "Service Unavailable", attempt.hangup_reason, SIPTAG_RETRY_AFTER_STR(retry.c_str()));
  }
  new_call(irq, sip, peer, host);
  return 0;
}

void CallServer::answer_options(nta_incoming_t* irq) {
  counters_.add(Counter::options);
  const std::string load = fmt::format("X-Tandem-Load: {}/{}", calls_.size(), config_.capacity);
  nta_incoming_treply(irq, SIP_200_OK, SIPTAG_ALLOW_STR(std::string(kAllow).c_str()),
                      SIPTAG_ACCEPT_STR("application/sdp"), SIPTAG_HEADER_STR(load.c_str()), TAG_END());
  nta_incoming_destroy(irq);
}

void CallServer::new_call(nta_incoming_t* irq, const sip_t* sip, const Peer* peer, const PeerHost* host) {
  const PeerHost* vm = host && host->customer ? host : nullptr;
  auto owned = std::make_unique<Call>();
  Call& call = *owned;
  call.server = this;
  call.serial = next_serial_++;
  call.call_id = sip->sip_call_id->i_id;
  call.start_ms = now_ms();
  call.invite_a = irq;
  call.tcp_a = sip->sip_via->v_protocol && std::string_view(sip->sip_via->v_protocol).ends_with("TCP");
  calls_.emplace(call.serial, std::move(owned));

  // The caller's dialog: every later request of it comes to leg_a_cb.
  call.leg_a = nta_leg_tcreate(agent_, leg_a_cb, reinterpret_cast<nta_leg_magic_t*>(&call),
                               SIPTAG_CALL_ID(sip->sip_call_id), SIPTAG_FROM(sip->sip_to), SIPTAG_TO(sip->sip_from),
                               NTATAG_REMOTE_CSEQ(sip->sip_cseq->cs_seq), TAG_END());
  if (call.leg_a) {
    nta_leg_tag(call.leg_a, nullptr);
    nta_incoming_tag(irq, nta_leg_get_tag(call.leg_a));
    nta_leg_server_route(call.leg_a, sip->sip_record_route, sip->sip_contact);
  }
  nta_incoming_bind(irq, cancel_cb, reinterpret_cast<nta_incoming_magic_t*>(&call));
  nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());

  call.rules = rules_.current();
  const std::string called = user_of(sip->sip_request->rq_url);
  const sip_from_t* from = sip->sip_from;
  call.from_user = user_of(from->a_url);
  call.from_display = from->a_display ? from->a_display : "";
  call.to_uri = called;
  call.max_forwards = sip->sip_max_forwards ? std::min<uint32_t>(sip->sip_max_forwards->mf_count - 1, 70) : 70;
  if (sip_unknown_t* u = sip->sip_unknown; u) {
    for (; u; u = u->un_next)
      if (u->un_name && strcasecmp(u->un_name, "P-Asserted-Identity") == 0 && u->un_value) call.pai = u->un_value;
  }
  auto fail = [&](Counter c, int status, const char* phrase, const std::string& why) {
    counters_.add(c);
    spdlog::info("[{}] {} {}: {}", call.call_id, status, phrase, why);
    call.disposition = cdr::Disposition::rejected;
    call.hangup_reason = why.substr(0, cdr::kMaxName);
    nta_incoming_treply(call.invite_a, status, phrase, SIPTAG_WARNING_STR(warning(config_.sip_address, why).c_str()),
                        TAG_END());
    call.final_code = static_cast<uint16_t>(status);
    end(call);
  };
  if (!call.leg_a) return fail(Counter::media_errors, 500, "Server Internal Error", "cannot create the dialog");
  if (!call.rules) return fail(Counter::refused_by_rules, 503, "Service Unavailable", "the rules are not loaded yet");

  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  if (vm) {
    call.plan = plan_outbound(*call.rules, *vm->customer, called, call.from_user, now, this);
    call.side_of[kA] = Side::internal;
    call.side_of[kB] = Side::external;
  } else {
    call.plan = plan_inbound(*call.rules, called, call.from_user, now, this);
    call.side_of[kA] = Side::external;
    const bool to_provider = !call.plan.targets.empty() && !call.plan.targets.front().provider.empty();
    call.side_of[kB] = to_provider ? Side::external : Side::internal;
  }
  spdlog::info("[{}] {} {} -> {} from {}: {}", call.call_id, cdr::name(call.plan.direction), call.from_user, called,
               vm ? vm->name : (peer ? peer->name : (host ? host->name : "?")), call.plan.why);
  if (call.plan.targets.empty())
    return fail(Counter::refused_by_rules, call.plan.refuse_status, call.plan.refuse_phrase.c_str(), call.plan.why);

  SuHome home = new_su_home();
  std::string error;
  // No SDP at all is a delayed offer: the callee's 2xx brings one, the caller's ACK the answer.
  const std::string body = sdp_body(home.get(), sip, error);
  if (body.empty() && !error.empty()) return fail(Counter::refused_sdp, 488, "Not Acceptable Here", error);
  std::unique_ptr<ParsedSdp> offer;
  if (!body.empty() && !(offer = ParsedSdp::parse(body, error)))
    return fail(Counter::refused_sdp, 488, "Not Acceptable Here", error);
  const MediaEndpoint caller = offer ? offer->endpoint() : MediaEndpoint{};
  const bool created = media_.create(caller, call.side_of[kA], call.side_of[kB], call.media, error);
  take_media_outcomes();  // the queued requests went with it
  if (!created) return fail(Counter::media_errors, 503, "Service Unavailable", "media relay: " + error);
  by_media_session_[call.media.session] = &call;
  if (offer) call.offer_to_b = offer->with_relay(call.media.local_ip[kB], call.media.local_port[kB]);
  call.state = CallState::calling;
  send_invite(call);
}

// ---------------------------------------------------------------- side B

void CallServer::send_invite(Call& call) {
  const Target& t = call.plan.targets[call.target];
  if (call.leg_b) nta_leg_destroy(call.leg_b);
  call.call_id_b = new_call_id(call.serial, config_.sip_address);
  // sofia-sip keeps a display name as written: quoted-string or tokens.
  const std::string from = fmt::format("{}<sip:{}@{}>", call.from_display.empty() ? "" : call.from_display + " ",
                                       call.from_user.empty() ? "anonymous" : call.from_user, config_.sip_address);
  const std::string to = fmt::format("<{}>", t.uri);
  // nta_leg_tcreate takes the dialog's headers as objects, not strings.
  SuHome home = new_su_home();
  call.leg_b = nta_leg_tcreate(agent_, leg_b_cb, reinterpret_cast<nta_leg_magic_t*>(&call),
                               SIPTAG_CALL_ID(sip_call_id_make(home.get(), call.call_id_b.c_str())),
                               SIPTAG_FROM(sip_from_make(home.get(), from.c_str())),
                               SIPTAG_TO(sip_to_make(home.get(), to.c_str())), TAG_END());
  if (call.leg_b) nta_leg_tag(call.leg_b, nullptr);
  const std::string max_forwards = std::to_string(call.max_forwards);
  const std::string pai = "P-Asserted-Identity: " + call.pai;
  call.invite_b = call.leg_b ? nta_outgoing_tcreate(call.leg_b, invite_cb, reinterpret_cast<nta_outgoing_magic_t*>(&call),
                                                    nullptr, SIP_METHOD_INVITE, URL_STRING_MAKE(t.uri.c_str()),
                                                    SIPTAG_CONTACT_STR(contact_udp_.c_str()),
                                                    SIPTAG_MAX_FORWARDS_STR(max_forwards.c_str()),
                                                    SIPTAG_ALLOW_STR(std::string(kAllow).c_str()),
                                                    TAG_IF(!call.pai.empty(), SIPTAG_HEADER_STR(pai.c_str())),
                                                    TAG_IF(!call.offer_to_b.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                                                    TAG_IF(!call.offer_to_b.empty(), SIPTAG_PAYLOAD_STR(call.offer_to_b.c_str())),
                                                    TAG_END())
                             : nullptr;
  call.b_heard = false;
  if (!call.invite_b) {
    spdlog::warn("[{}] cannot send an INVITE to {}", call.call_id, t.uri);
    // Through the timer, not recursion: the next target is tried from the loop.
    start_timer(call, call.setup_timer, 0, setup_timeout);
    return;
  }
  if (t.provider_id) ++provider_calls_[t.provider_id];
  call.b_invite_cseq = nta_outgoing_cseq(call.invite_b);
  spdlog::info("[{}] -> {} ({}){}", call.call_id, t.uri, t.label, t.provider.empty() ? "" : " via " + t.provider);
  if (!t.provider.empty()) start_timer(call, call.setup_timer, config_.provider_setup_ms, setup_timeout);
  start_timer(call, call.ring_timer, uint64_t{t.timeout_s ? t.timeout_s : config_.no_answer_s} * 1000, ring_timeout);
}

int CallServer::on_invite_response(Call& call, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = status_of(orq, sip);
  if (orq == call.invite_b && status >= 200 && status < 300 && call.state == CallState::answered) {
    send_ack(call, kB);  // the answer again: so is our ACK (unless it still waits for the caller's answer)
    return 0;
  }
  if (orq != call.invite_b || call.state == CallState::ended) return 0;  // a target we gave up on
  call.b_heard = true;
  stop_timer(call.setup_timer);
  if (status < 200) {
    if (status == 100) return 0;
    call.state = CallState::ringing;
    std::string sdp, error;
    if (has_body(sip) && !anchor_sdp(call, kB, sip, sdp, error))
      spdlog::warn("[{}] early media SDP from {} ignored: {}", call.call_id, call.plan.targets[call.target].label, error);
    reply_a(call, status, phrase_of(sip, "Ringing"), sdp);
    return 0;
  }
  if (status < 300) {
    nta_leg_rtag(call.leg_b, sip->sip_to->a_tag);
    nta_leg_client_route(call.leg_b, sip->sip_record_route, sip->sip_contact);
    ack_2xx(call, kB, sip, call.offer_to_b.empty());
    stop_timer(call.ring_timer);
    std::string sdp, error;
    if (!anchor_sdp(call, kB, sip, sdp, error)) {
      if (call.ack[kB].waits) {
        call.ack[kB].waits = false;
        send_ack(call, kB);
      }
      spdlog::warn("[{}] answer from {} cannot be anchored: {}", call.call_id, call.plan.targets[call.target].label, error);
      call.state = CallState::answered;  // B's dialog exists: it gets a BYE
      call.answer_ms = 0;
      call.disposition = cdr::Disposition::failed;
      call.hangup_reason = "callee's SDP answer unusable";
      reply_a(call, 502, "Bad Gateway");
      call.final_code = 502;
      send_bye(call, kB);
      end(call);
      return 0;
    }
    call.state = CallState::answered;
    call.answer_ms = now_ms();
    call.disposition = cdr::Disposition::answered;
    counters_.add(Counter::calls_answered);
    reply_a(call, 200, "OK", sdp);
    start_timer(call, call.max_timer, uint64_t{config_.max_call_s} * 1000, max_timeout);
    spdlog::info("[{}] answered by {}", call.call_id, call.plan.targets[call.target].label);
    return 0;
  }
  nta_outgoing_destroy(call.invite_b);
  call.invite_b = nullptr;
  target_failed(call, status, phrase_of(sip, "Failed"));
  return 0;
}

void CallServer::target_failed(Call& call, int status, const char* why) {
  stop_timer(call.setup_timer);
  stop_timer(call.ring_timer);
  if (call.invite_b) {  // we gave up on it (timer): CANCEL, and forget its answers
    nta_outgoing_cancel(call.invite_b);
    nta_outgoing_destroy(call.invite_b);
    call.invite_b = nullptr;
  }
  release_provider(call);
  const Target& t = call.plan.targets[call.target];
  call.last_target_code = status;
  spdlog::info("[{}] {} failed: {} {}", call.call_id, t.label, status, why);

  const bool more = call.target + 1 < call.plan.targets.size();
  const bool retryable = status == 408 || (status >= 500 && status < 600) || (status >= 600 && config_.failover_on_6xx);
  if (more && (t.any_failure_moves_on || retryable)) {
    ++call.target;
    counters_.add(Counter::failovers);
    call.state = CallState::calling;
    send_invite(call);
    return;
  }
  // Nothing left: the caller hears why.
  int code = status;
  std::string phrase = why;
  if (!t.provider.empty() && retryable) {
    code = 503;
    phrase = "Service Unavailable";
  } else if (code < 400) {
    code = 480;
    phrase = "Temporarily Unavailable";
  }
  call.final_code = static_cast<uint16_t>(code);
  if (status == 486 || status == 600) {
    call.disposition = cdr::Disposition::busy;
    counters_.add(Counter::busy);
  } else if (status == 480 || status == 408) {
    call.disposition = cdr::Disposition::no_answer;
  } else {
    call.disposition = cdr::Disposition::failed;
    counters_.add(Counter::failed);
  }
  call.hangup_side = cdr::HangupSide::callee;
  call.hangup_reason = fmt::format("{} {}", status, why).substr(0, cdr::kMaxName);
  reply_a(call, code, phrase.c_str());
  end(call);
}

void CallServer::ack_2xx(Call& call, int side, const sip_t* response, bool offer_in_2xx) {
  call.ack[side] = Call::Ack{response->sip_cseq->cs_seq, offer_in_2xx, {}};
  send_ack(call, side);
}

void CallServer::send_ack(Call& call, int side) {
  const Call::Ack& a = call.ack[side];
  nta_leg_t* leg = side == kA ? call.leg_a : call.leg_b;
  if (a.waits || !a.cseq || !leg) return;
  SuHome home = new_su_home();
  sip_cseq_t* cseq = sip_cseq_create(home.get(), a.cseq, SIP_METHOD_ACK);
  nta_outgoing_t* ack = nta_outgoing_tcreate(leg, nullptr, nullptr, nullptr, SIP_METHOD_ACK, nullptr, SIPTAG_CSEQ(cseq),
                                             TAG_IF(!a.sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                                             TAG_IF(!a.sdp.empty(), SIPTAG_PAYLOAD_STR(a.sdp.c_str())), TAG_END());
  if (ack) nta_outgoing_destroy(ack);
}

void CallServer::on_ack(Call& call, int from, const sip_t* sip) {
  const int to = 1 - from;
  Call::Ack& a = call.ack[to];
  if (!a.waits || call.state != CallState::answered) return;
  a.waits = false;
  std::string error;
  if (has_body(sip) && anchor_sdp(call, from, sip, a.sdp, error)) {
    send_ack(call, to);
    return;
  }
  // The offerer gets its ACK, then a BYE: without an answer there is no media.
  a.sdp.clear();
  send_ack(call, to);
  counters_.add(Counter::refused_sdp);
  spdlog::warn("[{}] the ACK carries no usable SDP answer{}{}", call.call_id, error.empty() ? "" : ": ", error);
  hang_up(call, cdr::HangupSide::system, "no SDP answer in the ACK", -1);
}

void CallServer::release_provider(const Call& call) {
  if (call.plan.targets.empty()) return;
  const rules::Id provider = call.plan.targets[call.target].provider_id;
  if (provider && provider_calls_[provider] > 0) --provider_calls_[provider];
}

void CallServer::send_bye(Call& call, int side) {
  nta_leg_t* leg = side == kA ? call.leg_a : call.leg_b;
  if (!leg) return;
  nta_outgoing_t* bye = nta_outgoing_tcreate(leg, nullptr, nullptr, nullptr, SIP_METHOD_BYE, nullptr,
                                             TAG_IF(call.hangup_side == cdr::HangupSide::system,
                                                    SIPTAG_REASON_STR(("SIP;cause=200;text=\"" + call.hangup_reason + "\"").c_str())),
                                             TAG_END());
  if (bye) nta_outgoing_destroy(bye);
}

// ---------------------------------------------------------------- side A

void CallServer::reply_a(Call& call, int status, const char* phrase, const std::string& sdp) {
  if (!call.invite_a) return;
  if (nta_incoming_status(call.invite_a) < 200) {
    const char* contact = call.tcp_a ? contact_tcp_.c_str() : contact_udp_.c_str();
    nta_incoming_treply(call.invite_a, status, phrase, TAG_IF(status < 300, SIPTAG_CONTACT_STR(contact)),
                        TAG_IF(status < 300, SIPTAG_ALLOW_STR(std::string(kAllow).c_str())),
                        TAG_IF(!sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                        TAG_IF(!sdp.empty(), SIPTAG_PAYLOAD_STR(sdp.c_str())), TAG_END());
    if (status < 200) return;
    call.final_code = static_cast<uint16_t>(status);
  }
  release_answered(call, kA, call.invite_a, status >= 200 && status < 300);
  call.invite_a = nullptr;
}

void CallServer::release_answered(Call& call, int side, nta_incoming_t* irq, bool invite_2xx) {
  // The transaction is nta's now, unbound from the call, which may be gone when its ACK comes;
  // but a 2xx whose offer awaits the answer keeps it: cancel_cb hears the ACK that brings it.
  if (!invite_2xx || !call.ack[1 - side].waits) {
    nta_incoming_destroy(irq);
    return;
  }
  if (call.ack_irq[side]) nta_incoming_destroy(call.ack_irq[side]);
  call.ack_irq[side] = irq;
  nta_incoming_bind(irq, cancel_cb, reinterpret_cast<nta_incoming_magic_t*>(&call));
}

int CallServer::on_cancel(Call& call, nta_incoming_t*) {
  if (call.state == CallState::answered || call.state == CallState::ended) return 0;
  spdlog::info("[{}] cancelled by the caller", call.call_id);
  counters_.add(Counter::cancelled);
  call.disposition = cdr::Disposition::cancelled;
  call.hangup_side = cdr::HangupSide::caller;
  call.hangup_reason = "CANCEL";
  reply_a(call, 487, "Request Terminated");
  call.final_code = 487;
  end(call);
  return 0;
}

// ---------------------------------------------------------------- in-dialog

int CallServer::on_dialog_request(Call& call, int side, nta_incoming_t* irq, const sip_t* sip) {
  const sip_method_t method = sip->sip_request->rq_method;
  if (method == sip_method_ack) {
    on_ack(call, side, sip);
    nta_incoming_destroy(irq);
    return 0;
  }
  if (call.state == CallState::ended) {
    nta_incoming_treply(irq, SIP_481_NO_TRANSACTION, TAG_END());
    nta_incoming_destroy(irq);
    return 0;
  }
  if (method == sip_method_bye) {
    nta_incoming_treply(irq, SIP_200_OK, TAG_END());
    nta_incoming_destroy(irq);
    hang_up(call, side == kA ? cdr::HangupSide::caller : cdr::HangupSide::callee, "BYE", side);
    return 0;
  }
  const bool busy = std::any_of(call.relayed.begin(), call.relayed.end(), [](const Relayed& r) { return r.is_invite; });
  if (method == sip_method_invite && (call.state != CallState::answered || busy)) {
    nta_incoming_treply(irq, SIP_491_REQUEST_PENDING, TAG_END());
    nta_incoming_destroy(irq);
    return 0;
  }
  relay_request(call, side, irq, sip);
  return 0;
}

void CallServer::relay_request(Call& call, int from, nta_incoming_t* irq, const sip_t* sip) {
  const int to = 1 - from;
  nta_leg_t* leg = to == kA ? call.leg_a : call.leg_b;
  const bool is_invite = sip->sip_request->rq_method == sip_method_invite;
  std::string sdp, error;
  const bool is_sdp = has_body(sip) && sip->sip_content_type && sip->sip_content_type->c_type &&
                      strcasecmp(sip->sip_content_type->c_type, "application/sdp") == 0;
  if (is_sdp && !anchor_sdp(call, from, sip, sdp, error)) {
    nta_incoming_treply(irq, SIP_488_NOT_ACCEPTABLE, SIPTAG_WARNING_STR(warning(config_.sip_address, error).c_str()),
                        TAG_END());
    nta_incoming_destroy(irq);
    return;
  }
  if (is_invite) counters_.add(Counter::reinvites);
  const char* contact = (to == kA && call.tcp_a) ? contact_tcp_.c_str() : contact_udp_.c_str();
  const bool other_body = has_body(sip) && !is_sdp;
  nta_outgoing_t* out = leg ? nta_outgoing_tcreate(
                                  leg, relayed_cb, reinterpret_cast<nta_outgoing_magic_t*>(&call), nullptr,
                                  sip->sip_request->rq_method, sip->sip_request->rq_method_name, nullptr,
                                  TAG_IF(is_invite, SIPTAG_CONTACT_STR(contact)),
                                  TAG_IF(is_sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                                  TAG_IF(is_sdp, SIPTAG_PAYLOAD_STR(sdp.c_str())),
                                  TAG_IF(other_body, SIPTAG_CONTENT_TYPE(sip->sip_content_type)),
                                  TAG_IF(other_body, SIPTAG_PAYLOAD(sip->sip_payload)), TAG_END())
                            : nullptr;
  if (!out) {
    nta_incoming_treply(irq, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
    nta_incoming_destroy(irq);
    return;
  }
  call.relayed.push_back(Relayed{irq, out, from, is_invite, is_sdp});
}

int CallServer::on_relayed_response(Call& call, nta_outgoing_t* orq, const sip_t* sip) {
  auto it = std::find_if(call.relayed.begin(), call.relayed.end(), [orq](const Relayed& r) { return r.out == orq; });
  if (it == call.relayed.end()) return 0;
  const int status = status_of(orq, sip);
  if (status < 200) return 0;
  Relayed r = *it;
  call.relayed.erase(it);
  const int to = 1 - r.from;
  std::string sdp, error;
  if (r.is_invite && status < 300 && sip) {
    ack_2xx(call, to, sip, !r.with_sdp && has_body(sip));
    if (has_body(sip) && !anchor_sdp(call, to, sip, sdp, error))
      spdlog::warn("[{}] re-INVITE answer SDP unusable: {}", call.call_id, error);
  }
  const char* contact = (r.from == kA && call.tcp_a) ? contact_tcp_.c_str() : contact_udp_.c_str();
  nta_incoming_treply(r.in, status, phrase_of(sip, "Relayed"), TAG_IF(r.is_invite && status < 300, SIPTAG_CONTACT_STR(contact)),
                      TAG_IF(!sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                      TAG_IF(!sdp.empty(), SIPTAG_PAYLOAD_STR(sdp.c_str())), TAG_END());
  release_answered(call, r.from, r.in, r.is_invite && status < 300);
  nta_outgoing_destroy(orq);
  return 0;
}

bool CallServer::anchor_sdp(Call& call, int from, const sip_t* sip, std::string& out, std::string& error) {
  SuHome home = new_su_home();
  const std::string body = sdp_body(home.get(), sip, error);
  if (body.empty()) {
    if (error.empty()) error = "no SDP";
    return false;
  }
  auto parsed = ParsedSdp::parse(body, error);
  if (!parsed) return false;
  if (call.media.session) {
    if (!media_.update(call.media.session, from, parsed->endpoint(), error)) {
      counters_.add(Counter::media_errors);
      return false;
    }
    // Sent now: the relay must know where this side's media goes before the other side hears the SDP.
    flush_media();
  }
  const int to = 1 - from;
  out = parsed->with_relay(call.media.local_ip[to], call.media.local_port[to]);
  if (out.empty()) error = "cannot print the SDP";
  return !out.empty();
}

// ---------------------------------------------------------------- the end

void CallServer::hang_up(Call& call, cdr::HangupSide side, const std::string& reason, int from_side) {
  if (call.state == CallState::ended) return;
  call.hangup_side = side;
  call.hangup_reason = reason.substr(0, cdr::kMaxName);
  spdlog::info("[{}] hang-up by {}: {}", call.call_id, cdr::name(side), reason);
  if (call.state == CallState::answered) {
    for (int s : {kA, kB})
      if (s != from_side) send_bye(call, s);
  } else {
    // Not answered yet (media timeout, shutdown): the caller gets a final answer, the callee a CANCEL (in end()).
    call.disposition = side == cdr::HangupSide::caller ? cdr::Disposition::cancelled : cdr::Disposition::failed;
    reply_a(call, 480, "Temporarily Unavailable");
  }
  end(call);
}

void CallServer::end(Call& call) {
  call.state = CallState::ended;
  call.end_ms = now_ms();
  stop_timer(call.setup_timer);
  stop_timer(call.ring_timer);
  stop_timer(call.max_timer);
  for (Relayed& r : call.relayed) {
    nta_incoming_treply(r.in, r.is_invite ? 487 : 481, r.is_invite ? "Request Terminated" : "Call Does Not Exist", TAG_END());
    nta_incoming_destroy(r.in);
    nta_outgoing_destroy(r.out);
  }
  call.relayed.clear();
  for (nta_incoming_t*& irq : call.ack_irq) {
    if (irq) nta_incoming_destroy(irq);
    irq = nullptr;
  }
  const bool answered = call.answer_ms != 0;
  if (call.invite_b) {
    if (!answered) nta_outgoing_cancel(call.invite_b);
    nta_outgoing_destroy(call.invite_b);
    call.invite_b = nullptr;
    release_provider(call);
  } else if (answered) {
    release_provider(call);
  }
  if (call.invite_a) reply_a(call, 500, "Server Internal Error");
  counters_.add(Counter::calls_ended);
  cdr::Record record = call_record(call, config_.dc, config_.node);
  if (call.media.session) {
    // The record waits for the session's final counters, which its deletion returns.
    by_media_session_.erase(call.media.session);
    media_.finish(call.media.session);
    awaiting_media_.emplace(call.media.session, PendingRecord{std::move(record), call.call_id});
    call.media.session = 0;
    schedule_media_flush();
  } else {
    submit_cdr(std::move(record), call.call_id);
  }
  // The legs go on the next loop turn: nta may still be inside one of their callbacks.
  graveyard_.push_back(std::move(calls_.at(call.serial)));
  calls_.erase(call.serial);
}

void CallServer::reap() {
  for (auto& call : graveyard_) {
    if (call->leg_a) nta_leg_destroy(call->leg_a);
    if (call->leg_b) nta_leg_destroy(call->leg_b);
  }
  graveyard_.clear();
}

void CallServer::submit_cdr(cdr::Record r, const std::string& call_id) {
  std::string error;
  r.id = cdrs_.new_id(error);
  if (!r.id) {
    counters_.add(Counter::cdr_errors);
    spdlog::error("[{}] CDR: no record id: {}", call_id, error);
    return;
  }
  const cdr::SubmitResult result = cdrs_.submit(std::move(r), &error);
  if (result == cdr::SubmitResult::rejected || result == cdr::SubmitResult::dropped) {
    counters_.add(Counter::cdr_errors);
    spdlog::error("[{}] CDR refused: {}", call_id, error);
  }
}

// ---------------------------------------------------------------- timers, events

void CallServer::start_timer(Call& call, su_timer_t*& t, uint64_t ms,
                             void (*fire)(su_root_magic_t*, su_timer_t*, su_timer_arg_t*)) {
  // This sofia-sip has no su_timer_set_ms: a timer's duration is fixed at creation.
  stop_timer(t);
  t = su_timer_create(su_root_task(root_), static_cast<su_duration_t>(std::max<uint64_t>(ms, 1)));
  su_timer_set(t, fire, reinterpret_cast<su_timer_arg_t*>(&call));
}

void CallServer::stop_timer(su_timer_t*& t) {
  if (!t) return;
  su_timer_destroy(t);
  t = nullptr;
}

void CallServer::flush_media() {
  media_.flush();
  take_media_outcomes();
  if (media_.busy()) schedule_media_flush();
}

void CallServer::schedule_media_flush() {
  if (!media_flush_) media_flush_ = su_timer_create(su_root_task(root_), kMediaFlushMs);
  if (!su_timer_is_set(media_flush_))
    su_timer_set(media_flush_, [](su_root_magic_t*, su_timer_t*, su_timer_arg_t* self) {
      reinterpret_cast<CallServer*>(self)->flush_media();
    }, reinterpret_cast<su_timer_arg_t*>(this));
}

void CallServer::take_media_outcomes() {
  for (Media::Outcome& o : media_.outcomes()) {
    auto pending = awaiting_media_.find(o.session);
    if (!o.error.empty()) {
      counters_.add(Counter::media_errors);
      auto call = by_media_session_.find(o.session);
      const std::string& id = pending != awaiting_media_.end() ? pending->second.call_id
                              : call != by_media_session_.end() ? call->second->call_id
                                                                : std::to_string(o.session);
      spdlog::warn("[{}] {}", id, o.error);
    }
    if (!o.deleted || pending == awaiting_media_.end()) continue;
    pending->second.record.legs = o.quality;
    submit_cdr(std::move(pending->second.record), pending->second.call_id);
    awaiting_media_.erase(pending);
  }
}

void CallServer::on_media_timeouts() {
  for (const Media::Expired& e : media_.expired()) {
    auto it = by_media_session_.find(e.session);
    if (it == by_media_session_.end()) continue;
    Call& call = *it->second;
    by_media_session_.erase(it);
    call.media.session = 0;  // the dataplane removed it; these are its final counters
    call.quality = e.quality;
    counters_.add(Counter::media_timeouts);
    hang_up(call, cdr::HangupSide::system, "media timeout", -1);
  }
}

void CallServer::shutdown() {
  shutting_down_ = true;
  if (media_retry_) {
    su_timer_destroy(media_retry_);
    media_retry_ = nullptr;
  }
  if (media_wait_index_ >= 0) {
    su_root_deregister(root_, media_wait_index_);
    media_wait_index_ = -1;
  }
  while (!calls_.empty()) hang_up(*calls_.begin()->second, cdr::HangupSide::system, "server shutdown", -1);
  media_.flush();
  media_.settle();
  take_media_outcomes();
  for (auto& [session, pending] : awaiting_media_) submit_cdr(std::move(pending.record), pending.call_id);
  awaiting_media_.clear();
  if (media_flush_) {
    su_timer_destroy(media_flush_);
    media_flush_ = nullptr;
  }
  su_root_remove_prepoll(root_);
  reap();
}

uint32_t CallServer::active_calls(rules::Id provider) const {
  auto it = provider_calls_.find(provider);
  return it == provider_calls_.end() ? 0 : it->second;
}

std::map<std::string, uint64_t> CallServer::stack_stats() const {
  usize_t bad_message = 0, bad_request = 0, bad_response = 0, drop_request = 0, drop_response = 0, recv_retry = 0,
          tout_request = 0, tout_response = 0;
  if (agent_)
    nta_agent_get_stats(agent_, NTATAG_S_BAD_MESSAGE_REF(bad_message), NTATAG_S_BAD_REQUEST_REF(bad_request),
                        NTATAG_S_BAD_RESPONSE_REF(bad_response), NTATAG_S_DROP_REQUEST_REF(drop_request),
                        NTATAG_S_DROP_RESPONSE_REF(drop_response), NTATAG_S_RECV_RETRY_REF(recv_retry),
                        NTATAG_S_TOUT_REQUEST_REF(tout_request), NTATAG_S_TOUT_RESPONSE_REF(tout_response), TAG_END());
  return {{"sip_bad_messages", bad_message}, {"sip_bad_requests", bad_request}, {"sip_bad_responses", bad_response},
          {"sip_dropped_requests", drop_request}, {"sip_dropped_responses", drop_response},
          {"sip_retransmissions_received", recv_retry}, {"sip_request_timeouts", tout_request},
          {"sip_response_timeouts", tout_response}};
}

}  // namespace tandem::control
