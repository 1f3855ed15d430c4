// CallServer, side B: the INVITE to each target in turn and its answers (18x
// and 2xx relayed to the caller, SDP anchored), failover to the next target,
// what the caller hears when none is left, and the timers per target and call.
#include "control/server/call_server.h"

#include <spdlog/spdlog.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "control/server/call_server_internal.h"
#include "control/server/sdp_rewrite.h"
#include "control/sip/sip_checks.h"
#include "control/server/su_home.h"

namespace tandem::control {

using namespace internal;

namespace {

std::string new_call_id(uint64_t serial, const std::string& host) {
  static std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}-{}@{}", rng(), serial, host);
}

// RFC 3264 section 6, for the callee's SDP anchored as `answer`. A delayed
// offer's answers bring the offer: there is nothing to match.
bool answers_offer(const Call& call, std::string& answer, std::string& error) {
  return call.offer_to_b.empty() || conform_answer(call.offer_to_b, answer, error);
}

}  // namespace

int CallServer::invite_cb(nta_outgoing_magic_t* c, nta_outgoing_t* orq, const sip_t* sip) {
  Call& call = call_of(c);
  return call.server->on_invite_response(call, orq, sip);
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

void CallServer::invite_expired(su_root_magic_t*, su_timer_t*, su_timer_arg_t* c) {
  Call& call = call_of(c);
  spdlog::info("[{}] the INVITE's Expires ran out before a final answer", call.call_id);
  call.server->counters_.add(Counter::expired);
  call.server->terminate_invite(call, cdr::Disposition::no_answer, "INVITE Expires ran out");
}

void CallServer::send_invite(Call& call) {
  const Target& t = call.plan.targets[call.target];
  open_dialog_b(call, t);
  const std::string max_forwards = std::to_string(call.max_forwards);
  // The caller's Expires passed on: what is left of it, rounded up.
  const std::string expires = std::to_string(std::max<int64_t>(call.expires_at_ms - now_ms() + 999, 0) / 1000);
  const std::string pai = "P-Asserted-Identity: " + call.pai;
  const std::string privacy = "Privacy: " + call.privacy;
  // The providers are our trust domain (RFC 3325): they get the asserted identity and the
  // caller's Privacy, which tells them whether to show it. A customer's VM or a SIP URI is
  // outside it: with Privacy "id" it does not get the identity at all.
  const bool id_private = (";" + call.privacy + ";").find(";id;") != std::string::npos;
  const bool send_pai = !call.pai.empty() && (!t.provider.empty() || !id_private);
  call.invite_b = call.leg_b ? nta_outgoing_tcreate(call.leg_b, invite_cb, reinterpret_cast<nta_outgoing_magic_t*>(&call),
                                                    nullptr, SIP_METHOD_INVITE, URL_STRING_MAKE(t.uri.c_str()),
                                                    SIPTAG_CONTACT_STR(contact_for(call, kB)),
                                                    SIPTAG_MAX_FORWARDS_STR(max_forwards.c_str()),
                                                    SIPTAG_ALLOW_STR(std::string(kAllow).c_str()),
                                                    TAG_IF(send_pai, SIPTAG_HEADER_STR(pai.c_str())),
                                                    TAG_IF(!call.privacy.empty(), SIPTAG_HEADER_STR(privacy.c_str())),
                                                    TAG_IF(call.expires_at_ms, SIPTAG_EXPIRES_STR(expires.c_str())),
                                                    TAG_IF(!call.offer_to_b.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                                                    TAG_IF(!call.offer_to_b.empty(), SIPTAG_PAYLOAD_STR(call.offer_to_b.c_str())),
                                                    TAG_END())
                             : nullptr;
  if (!call.invite_b) {
    spdlog::warn("[{}] cannot send an INVITE to {}", call.call_id, t.uri);
    // Through the timer, not recursion: the next target is tried from the loop.
    start_timer(call, call.setup_timer, 0, setup_timeout);
    return;
  }
  if (t.provider_id) {
    ++provider_calls_[t.provider_id];
    call.provider_counted = true;
  }
  spdlog::info("[{}] -> {} ({}){}", call.call_id, t.uri, t.label, t.provider.empty() ? "" : " via " + t.provider);
  if (!t.provider.empty()) start_timer(call, call.setup_timer, config_.provider_setup_ms, setup_timeout);
  start_timer(call, call.ring_timer, uint64_t{t.timeout_s ? t.timeout_s : config_.no_answer_s} * 1000, ring_timeout);
}

void CallServer::open_dialog_b(Call& call, const Target& t) {
  if (call.leg_b) nta_leg_destroy(call.leg_b);
  call.call_id_b = new_call_id(call.serial, config_.sip.address);
  // sofia-sip keeps a display name as written: quoted-string or tokens.
  const std::string from = fmt::format("{}<sip:{}@{}>", call.from_display.empty() ? "" : call.from_display + " ",
                                       call.from_user.empty() ? "anonymous" : call.from_user, config_.sip.address);
  const std::string to = fmt::format("<{}>", t.uri);
  // nta_leg_tcreate takes the dialog's headers as objects, not strings.
  SuHome home = new_su_home();
  call.leg_b = nta_leg_tcreate(agent_, leg_b_cb, reinterpret_cast<nta_leg_magic_t*>(&call),
                               SIPTAG_CALL_ID(sip_call_id_make(home.get(), call.call_id_b.c_str())),
                               SIPTAG_FROM(sip_from_make(home.get(), from.c_str())),
                               SIPTAG_TO(sip_to_make(home.get(), to.c_str())), TAG_END());
  if (call.leg_b) nta_leg_tag(call.leg_b, nullptr);
}

int CallServer::on_invite_response(Call& call, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = status_of(orq, sip);
  if (orq == call.invite_b && status >= 200 && status < 300 && call.b_up) {
    send_ack(call, kB);  // the answer again: so is our ACK (unless it still waits for the caller's answer)
    return 0;
  }
  if (orq != call.invite_b || call.state == CallState::ended) return 0;  // a target we gave up on
  stop_timer(call.setup_timer);
  if (status < 200) {
    if (status != 100) target_ringing(call, status, sip);
    return 0;
  }
  if (status < 300) {
    target_answered(call, sip);
    return 0;
  }
  nta_outgoing_destroy(call.invite_b);
  call.invite_b = nullptr;
  target_failed(call, status, phrase_of(sip, "Failed"));
  return 0;
}

void CallServer::target_ringing(Call& call, int status, const sip_t* sip) {
  if (call.menu) return;  // the caller was answered by the attendant: it hears nothing of the ringing
  call.state = CallState::ringing;
  std::string sdp, error;
  if (has_body(sip) && !(anchor_sdp(call, kB, sip, sdp, error) && answers_offer(call, sdp, error))) {
    spdlog::warn("[{}] early media SDP from {} ignored: {}", call.call_id, call.plan.targets[call.target].label, error);
    sdp.clear();
  }
  reply_a(call, status, phrase_of(sip, "Ringing"), sdp);
}

void CallServer::target_answered(Call& call, const sip_t* sip) {
  nta_leg_rtag(call.leg_b, sip->sip_to->a_tag);
  nta_leg_client_route(call.leg_b, sip->sip_record_route, sip->sip_contact);
  ack_2xx(call, kB, sip, call.offer_to_b.empty());
  stop_timer(call.ring_timer);
  std::string sdp, error;
  if (!anchor_sdp(call, kB, sip, sdp, error)) return answer_unusable(call, "callee's SDP answer unusable", error);
  if (!answers_offer(call, sdp, error))
    return answer_unusable(call, "callee's SDP answer does not match the offer", error);
  offer_relayed(call, kB, sdp);  // a delayed offer: the caller's ACK brings the answer
  call.b_up = true;
  if (call.menu) {
    // The caller has had its answer since the attendant's: the relay now carries its stream to the callee.
    spdlog::info("[{}] transferred from the menus to {}", call.call_id, call.plan.targets[call.target].label);
    return;
  }
  call.state = CallState::answered;
  call.answer_ms = now_ms();
  call.disposition = cdr::Disposition::answered;
  open_record(call);
  counters_.add(Counter::calls_answered);
  reply_a(call, 200, "OK", sdp);
  start_timer(call, call.max_timer, uint64_t{config_.max_call_s} * 1000, max_timeout);
  spdlog::info("[{}] answered by {}", call.call_id, call.plan.targets[call.target].label);
}

void CallServer::answer_unusable(Call& call, const char* reason, const std::string& error) {
  if (call.ack[kB].waits) {
    call.ack[kB].waits = false;
    send_ack(call, kB);
  }
  spdlog::warn("[{}] {} ({}): {}", call.call_id, reason, call.plan.targets[call.target].label, error);
  call.b_up = true;  // B's dialog exists: it gets a BYE
  if (call.menu) return hang_up(call, cdr::HangupSide::system, reason, -1);
  call.state = CallState::answered;
  call.answer_ms = 0;
  call.disposition = cdr::Disposition::failed;
  call.hangup_reason = reason;
  reply_a(call, 502, "Bad Gateway");
  call.final_code = 502;
  send_bye(call, kB);
  end(call);
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
  // A provider that challenges us (401/407) wants credentials we do not have: as unusable for
  // this call as one that fails.
  const bool challenged = !t.provider.empty() && (status == 401 || status == 407);
  const bool retryable = challenged || status == 408 || (status >= 500 && status < 600) ||
                         (status >= 600 && config_.failover_on_6xx);
  if (more && (t.any_failure_moves_on || retryable)) {
    ++call.target;
    counters_.add(Counter::failovers);
    if (!call.menu) call.state = CallState::calling;
    send_invite(call);
    return;
  }
  // Nothing left: the caller hears why.
  targets_exhausted(call, status, why, !t.provider.empty() && retryable);
}

void CallServer::targets_exhausted(Call& call, int status, const char* why, bool providers_failed) {
  if (call.menu) {  // answered by the attendant: the call ends with a BYE, billed for its time in the menus
    counters_.add(Counter::failed);
    return hang_up(call, cdr::HangupSide::callee, fmt::format("transfer failed: {} {}", status, why), -1);
  }
  int code = status;
  std::string phrase = why;
  if (providers_failed) {
    code = 503;
    phrase = "Service Unavailable";
  } else if (code == 401 || code == 407) {
    // The challenge was for us: relayed, it would carry no WWW-/Proxy-Authenticate (RFC 3261
    // 8.1.3.5) and ask the caller for credentials it cannot have.
    code = 403;
    phrase = "Forbidden";
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

void CallServer::reply_a(Call& call, int status, const char* phrase, const std::string& sdp) {
  if (!call.invite_a) return;
  if (nta_incoming_status(call.invite_a) < 200) {
    nta_incoming_treply(call.invite_a, status, phrase, TAG_IF(status < 300, SIPTAG_CONTACT_STR(contact_for(call, kA))),
                        TAG_IF(status < 300, SIPTAG_ALLOW_STR(std::string(kAllow).c_str())),
                        TAG_IF(!sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                        TAG_IF(!sdp.empty(), SIPTAG_PAYLOAD_STR(sdp.c_str())), TAG_END());
    if (status < 200) return;
    call.final_code = static_cast<uint16_t>(status);
    stop_timer(call.expires_timer);
  }
  release_answered(call, kA, call.invite_a, status >= 200 && status < 300);
  call.invite_a = nullptr;
}

void CallServer::release_provider(Call& call) {
  if (!call.provider_counted) return;
  call.provider_counted = false;
  const rules::Id provider = call.plan.targets[call.target].provider_id;
  if (provider_calls_[provider] > 0) --provider_calls_[provider];
}

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

}  // namespace tandem::control
