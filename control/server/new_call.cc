// CallServer: requests outside any dialog (the default leg). Peer check, RFC
// 3261's checks, loop check, OPTIONS answered; a new INVITE: capacity, 100
// Trying, routing by the rules snapshot, the media session, the first target.
#include "control/server/call_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "control/server/call_record.h"
#include "control/server/call_server_internal.h"
#include "control/server/sdp_rewrite.h"
#include "control/sip/load_header.h"
#include "control/sip/sip_checks.h"
#include "control/server/su_home.h"

namespace tandem::control {

using namespace internal;

namespace {

std::string user_of(const url_t* u) { return u && u->url_user ? u->url_user : ""; }

// A customer's VM before a provider at the same address: its calls go out.
const PeerHost* rules_peer(const std::vector<PeerHost>& hosts, uint32_t ip) {
  const PeerHost* host = nullptr;
  for (const PeerHost& h : hosts)
    if (h.ip == ip && (!host || (h.customer && !host->customer))) host = &h;
  return host;
}

// The CDR of an INVITE refused before it became a call.
cdr::Record refused_record(const sip_t* sip, bool outbound, int status, const std::string& reason,
                           const ServerConfig& config) {
  Call attempt;
  attempt.call_id = sip->sip_call_id->i_id;
  attempt.start_ms = attempt.end_ms = now_ms();
  attempt.from_user = user_of(sip->sip_from->a_url);
  attempt.to_uri = user_of(sip->sip_request->rq_url);
  attempt.plan.direction = outbound ? cdr::Direction::outbound : cdr::Direction::inbound;
  attempt.disposition = cdr::Disposition::rejected;
  attempt.final_code = static_cast<uint16_t>(status);
  attempt.hangup_reason = reason.substr(0, cdr::kMaxName);
  return call_record(attempt, config.dc, config.node);
}

// Seconds from now: RFC 3261's delta, or the date RFC 2543 allowed (sofia-sip parses both).
int64_t expires_s(const sip_expires_t* e) {
  if (!e->ex_date) return e->ex_delta;
  return std::max<int64_t>(static_cast<int64_t>(e->ex_date) - static_cast<int64_t>(sip_now()), 0);
}

// What B's INVITE repeats of A's.
void take_caller(Call& call, const sip_t* sip) {
  const sip_from_t* from = sip->sip_from;
  call.from_user = user_of(from->a_url);
  call.from_display = from->a_display ? unfold(from->a_display) : "";
  call.to_uri = user_of(sip->sip_request->rq_url);
  call.max_forwards = sip->sip_max_forwards ? std::min<uint32_t>(sip->sip_max_forwards->mf_count - 1, 70) : 70;
  if (sip->sip_expires) call.expires_at_ms = call.start_ms + 1000 * expires_s(sip->sip_expires);
  if (sip_unknown_t* u = sip->sip_unknown; u) {
    for (; u; u = u->un_next)
      if (u->un_name && strcasecmp(u->un_name, "P-Asserted-Identity") == 0 && u->un_value) call.pai = unfold(u->un_value);
  }
  if (const sip_privacy_t* p = sip->sip_privacy)
    for (const msg_param_t* v = p->priv_values; v && *v; ++v) call.privacy += (call.privacy.empty() ? "" : ";") + std::string(*v);
}

// Direction by source: a customer's VM calls out by least-cost routing, anyone else calls in.
void route(Call& call, const PeerHost* vm, const rules::ProviderLoad* load) {
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  if (vm) {
    call.plan = plan_outbound(*call.rules, *vm->customer, call.to_uri, call.from_user, now, load);
    call.side_of[kA] = Side::internal;
    call.side_of[kB] = Side::external;
  } else {
    call.plan = plan_inbound(*call.rules, call.to_uri, call.from_user, now, load);
    call.side_of[kA] = Side::external;
    const bool to_provider = !call.plan.targets.empty() && !call.plan.targets.front().provider.empty();
    call.side_of[kB] = to_provider ? Side::external : Side::internal;
  }
}

}  // namespace

int CallServer::default_leg_cb(nta_leg_magic_t* self, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) {
  return reinterpret_cast<CallServer*>(self)->on_new_request(irq, sip);
}

int CallServer::on_new_request(nta_incoming_t* irq, const sip_t* sip) {
  const sip_method_t method = sip->sip_request ? sip->sip_request->rq_method : sip_method_invalid;
  if (method == sip_method_ack) {  // an ACK for no dialog of ours: nothing to answer
    nta_incoming_destroy(irq);
    return 0;
  }
  auto refuse = [&](int status, const char* phrase, std::string_view why, tag_type_t tag = tag_skip, tag_value_t value = 0) {
    spdlog::debug("refused {} {} from {}: {} {} ({})", sip->sip_request ? sip->sip_request->rq_method_name : "?",
                  sip->sip_call_id ? sip->sip_call_id->i_id : "-", source_ip(irq), status, phrase, why);
    nta_incoming_treply(irq, status, phrase, SIPTAG_WARNING_STR(warning(config_.sip.address, why).c_str()), tag, value,
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
  const Peer* peer = find_peer(config_.sip.peers, ip);
  const PeerHost* host = rules_peer(rule_peers_, ip);
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
  if (loops_back(sip, config_.sip.address, config_.sip.port)) {
    counters_.add(Counter::refused_loop);
    return refuse(482, "Loop Detected", "our own Via is in the request");
  }
  if (Refusal r = refuse_sips(sip)) {
    counters_.add(Counter::refused_request);
    if (method == sip_method_invite)
      submit_cdr(refused_record(sip, host && host->customer, r.status, r.why, config_), sip->sip_call_id->i_id);
    return refuse(r.status, r.phrase.c_str(), r.why);
  }
  if (method == sip_method_options) {
    answer_options(irq);
    return 0;
  }
  // An INVITE.
  counters_.add(Counter::invites);
  if (shutting_down_ || calls_.size() >= config_.capacity) {
    counters_.add(Counter::refused_capacity);
    const char* reason = shutting_down_ ? "shutting down" : "at capacity";
    // A call attempt all the same: the operator sees it in the CDRs.
    submit_cdr(refused_record(sip, host && host->customer, 503, reason, config_), sip->sip_call_id->i_id);
    const std::string retry = std::to_string(config_.retry_after_s);
    return refuse(503, "Service Unavailable", reason, SIPTAG_RETRY_AFTER_STR(retry.c_str()));
  }
  new_call(irq, sip, peer, host);
  return 0;
}

void CallServer::answer_options(nta_incoming_t* irq) {
  counters_.add(Counter::options);
  const std::string load = load_header({static_cast<uint32_t>(calls_.size()), config_.capacity});
  const std::string state = fmt::format("{}: {}", kStateHeader, kDraining);
  nta_incoming_treply(irq, SIP_200_OK, SIPTAG_ALLOW_STR(std::string(kAllow).c_str()),
                      SIPTAG_ACCEPT_STR("application/sdp"), SIPTAG_SUPPORTED_STR(std::string(kSupported).c_str()),
                      SIPTAG_HEADER_STR(load.c_str()), TAG_IF(draining_, SIPTAG_HEADER_STR(state.c_str())), TAG_END());
  nta_incoming_destroy(irq);
}

void CallServer::new_call(nta_incoming_t* irq, const sip_t* sip, const Peer* peer, const PeerHost* host) {
  const PeerHost* vm = host && host->customer ? host : nullptr;
  Call& call = open_call(irq, sip);
  call.rules = rules_.current();
  take_caller(call, sip);
  if (!call.leg_a) return refuse_call(call, Counter::media_errors, 500, "Server Internal Error", "cannot create the dialog");
  if (!call.rules)
    return refuse_unavailable(call, Counter::refused_by_rules, "the rules are not loaded yet");

  route(call, vm, this);
  spdlog::info("[{}] {} {} -> {} from {}: {}", call.call_id, cdr::name(call.plan.direction), call.from_user, call.to_uri,
               vm ? vm->name : (peer ? peer->name : (host ? host->name : "?")), call.plan.why);
  if (call.plan.menu_id) return answer_menu(call, sip);
  if (call.plan.targets.empty())
    return refuse_call(call, Counter::refused_by_rules, call.plan.refuse_status, call.plan.refuse_phrase.c_str(),
                       call.plan.why);
  if (!anchor_offer(call, sip)) return;
  call.state = CallState::calling;
  // RFC 3261 13.3.1: the caller's Expires bounds the whole attempt, across targets.
  if (call.expires_at_ms) start_timer(call, call.expires_timer, std::max<int64_t>(call.expires_at_ms - now_ms(), 0), invite_expired);
  send_invite(call);
}

Call& CallServer::open_call(nta_incoming_t* irq, const sip_t* sip) {
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
  return call;
}

bool CallServer::anchor_offer(Call& call, const sip_t* sip) {
  SuHome home = new_su_home();
  std::string error;
  // No SDP at all is a delayed offer: the callee's 2xx brings one, the caller's ACK the answer.
  const std::string body = sdp_body(home.get(), sip, error);
  std::unique_ptr<ParsedSdp> offer;
  if ((body.empty() && !error.empty()) || (!body.empty() && !(offer = ParsedSdp::parse(body, error)))) {
    refuse_call(call, Counter::refused_sdp, 488, "Not Acceptable Here", error, warn_code(error));
    return false;
  }
  const MediaEndpoint caller = offer ? offer->endpoint() : MediaEndpoint{};
  const bool created = media_.create(caller, call.side_of[kA], call.side_of[kB], call.media, error);
  take_media_outcomes();  // the queued requests went with it
  if (!created) {
    refuse_unavailable(call, Counter::media_errors, "media relay: " + error);
    return false;
  }
  by_media_session_[call.media.session] = &call;
  if (offer) call.offer_to_b = offer->with_relay(call.media.local_ip[kB], call.media.local_port[kB]);
  return true;
}

void CallServer::refuse_call(Call& call, Counter counter, int status, const char* phrase, const std::string& why,
                             uint16_t warn, bool retry_after) {
  counters_.add(counter);
  spdlog::info("[{}] {} {}: {}", call.call_id, status, phrase, why);
  call.disposition = cdr::Disposition::rejected;
  call.hangup_reason = why.substr(0, cdr::kMaxName);
  const std::string header = warning(config_.sip.address, why, warn);
  const std::string retry = std::to_string(config_.retry_after_s);
  nta_incoming_treply(call.invite_a, status, phrase, SIPTAG_WARNING_STR(header.c_str()),
                      TAG_IF(retry_after, SIPTAG_RETRY_AFTER_STR(retry.c_str())), TAG_END());
  call.final_code = static_cast<uint16_t>(status);
  end(call);
}

}  // namespace tandem::control
