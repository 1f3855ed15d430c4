// CallServer: requests within a call's two dialogs. BYE answered and sent to
// the other side; re-INVITE, INFO and OPTIONS relayed (SDP anchored both ways,
// one INVITE in flight per call) and their answers relayed back; any other
// method 405 or 501 with our Allow; the caller's CANCEL. What an ACK does is
// in acks.cc.
#include "control/server/call_server.h"

#include <spdlog/spdlog.h>

#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include <algorithm>

#include "control/server/call_server_internal.h"
#include "control/server/sdp_rewrite.h"
#include "control/sip/sip_checks.h"

namespace tandem::control {

using namespace internal;

int CallServer::leg_a_cb(nta_leg_magic_t* c, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) {
  Call& call = call_of(c);
  return call.server->on_dialog_request(call, kA, irq, sip);
}

int CallServer::leg_b_cb(nta_leg_magic_t* c, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) {
  Call& call = call_of(c);
  return call.server->on_dialog_request(call, kB, irq, sip);
}

int CallServer::relayed_cb(nta_outgoing_magic_t* c, nta_outgoing_t* orq, const sip_t* sip) {
  Call& call = call_of(c);
  return call.server->on_relayed_response(call, orq, sip);
}

int CallServer::cancel_cb(nta_incoming_magic_t* c, nta_incoming_t* irq, const sip_t* sip) {
  Call& call = call_of(c);
  if (sip && sip->sip_request && sip->sip_request->rq_method == sip_method_cancel) return call.server->on_cancel(call, irq);
  // The ACK of a 2xx (with the answer when the 2xx carried an offer), or none: nta's timer H fired.
  for (int side : {kA, kB}) {
    if (call.ack_irq[side] != irq) continue;
    call.ack_irq[side] = nullptr;
    nta_incoming_destroy(irq);
    if (sip)
      call.server->on_ack(call, side, sip);
    else
      call.server->on_no_ack(call, side);
    break;
  }
  return 0;
}

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
  if (call.menu && !call.b_up && side == kA) {
    on_menu_request(call, irq, sip);
    return 0;
  }
  if (method == sip_method_cancel) {  // one that matched no transaction of ours: too late (RFC 3261 9.2)
    nta_incoming_treply(irq, SIP_481_NO_TRANSACTION, TAG_END());
    nta_incoming_destroy(irq);
    return 0;
  }
  if (method != sip_method_invite && method != sip_method_info && method != sip_method_options) {
    // Relayed, the rest would go out half-made: UPDATE's answer would stay unanchored, REFER
    // without Refer-To, NOTIFY without Event. What we do not serve is refused as out of a dialog.
    const bool known = method != sip_method_unknown;
    nta_incoming_treply(irq, known ? 405 : 501, known ? "Method Not Allowed" : "Not Implemented",
                        SIPTAG_ALLOW_STR(std::string(kAllow).c_str()), TAG_END());
    nta_incoming_destroy(irq);
    return 0;
  }
  const bool busy = std::any_of(call.relayed.begin(), call.relayed.end(), [](const Relayed& r) { return r.is_invite; });
  if (method == sip_method_invite && (call.state != CallState::answered || busy)) {
    nta_incoming_treply(irq, SIP_491_REQUEST_PENDING, TAG_END());
    nta_incoming_destroy(irq);
    return 0;
  }
  // A re-INVITE is a target refresh (RFC 3261 12.2.2): its Contact is where that side's requests
  // go from now on (a phone that moved, a PBX that failed over); the route set stays.
  if (method == sip_method_invite && sip->sip_contact) nta_leg_server_route(leg_of(call, side), nullptr, sip->sip_contact);
  relay_request(call, side, irq, sip);
  return 0;
}

void CallServer::relay_request(Call& call, int from, nta_incoming_t* irq, const sip_t* sip) {
  const int to = 1 - from;
  nta_leg_t* leg = leg_of(call, to);
  const bool is_invite = sip->sip_request->rq_method == sip_method_invite;
  std::string sdp, error;
  const bool is_sdp = has_body(sip) && content_type_is(sip->sip_content_type, "application/sdp");
  const std::optional<MediaEndpoint> prior =
      is_invite && is_sdp && call.media.session ? media_.remote(call.media.session, from) : std::nullopt;
  if (is_sdp && !anchor_sdp(call, from, sip, sdp, error)) {
    const std::string why = warning(config_.sip.address, error, warn_code(error));
    nta_incoming_treply(irq, SIP_488_NOT_ACCEPTABLE, SIPTAG_WARNING_STR(why.c_str()), TAG_END());
    nta_incoming_destroy(irq);
    return;
  }
  if (is_invite) counters_.add(Counter::reinvites);
  const bool other_body = has_body(sip) && !is_sdp;
  nta_outgoing_t* out = leg ? nta_outgoing_tcreate(
                                  leg, relayed_cb, reinterpret_cast<nta_outgoing_magic_t*>(&call), nullptr,
                                  sip->sip_request->rq_method, sip->sip_request->rq_method_name, nullptr,
                                  TAG_IF(is_invite, SIPTAG_CONTACT_STR(contact_for(call, to))),
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
  call.relayed.push_back(Relayed{irq, out, from, is_invite, sdp, prior});
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
  bool mismatch = false;
  if (r.is_invite && status >= 300 && r.prior && call.media.session) {
    // Refused (488, 491, a timeout...): the session stays as it was, so the relay sends to where
    // it sent before the offer (RFC 3264 section 8), not to the address the offer proposed.
    if (media_.update(call.media.session, r.from, *r.prior, error)) flush_media();
    else spdlog::warn("[{}] the refused re-INVITE's media could not be put back: {}", call.call_id, error);
  }
  if (r.is_invite && status < 300 && sip) {
    // Its 2xx refreshes the other side's target likewise (RFC 3261 12.2.1.2).
    if (sip->sip_contact) nta_leg_client_reroute(leg_of(call, to), nullptr, sip->sip_contact, 0);
    ack_2xx(call, to, sip, r.sdp.empty() && has_body(sip));
    if (has_body(sip) && !anchor_sdp(call, to, sip, sdp, error))
      spdlog::warn("[{}] re-INVITE answer SDP unusable: {}", call.call_id, error);
    offer_relayed(call, to, sdp);  // a re-INVITE without SDP: the 2xx's offer, which the ACK answers
    mismatch = !sdp.empty() && !r.sdp.empty() && !conform_answer(r.sdp, sdp, error);
    if (mismatch) sdp.clear();
  }
  nta_incoming_treply(r.in, status, phrase_of(sip, "Relayed"),
                      TAG_IF(r.is_invite && status < 300, SIPTAG_CONTACT_STR(contact_for(call, r.from))),
                      TAG_IF(!sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                      TAG_IF(!sdp.empty(), SIPTAG_PAYLOAD_STR(sdp.c_str())), TAG_END());
  release_answered(call, r.from, r.in, r.is_invite && status < 300);
  nta_outgoing_destroy(orq);
  if (mismatch) {
    // The offerer got the 2xx its transaction needs, but no answer it could use.
    spdlog::warn("[{}] re-INVITE answer ends the call: {}", call.call_id, error);
    hang_up(call, cdr::HangupSide::system, "re-INVITE answer does not match the offer", -1);
  }
  return 0;
}

int CallServer::on_cancel(Call& call, nta_incoming_t*) {
  if (call.state == CallState::answered || call.state == CallState::ended) return 0;
  spdlog::info("[{}] cancelled by the caller", call.call_id);
  counters_.add(Counter::cancelled);
  terminate_invite(call, cdr::Disposition::cancelled, "CANCEL");
  return 0;
}

void CallServer::terminate_invite(Call& call, cdr::Disposition disposition, const char* reason) {
  // The caller's doing (CANCEL, or the Expires it set): end() CANCELs the target.
  call.disposition = disposition;
  call.hangup_side = cdr::HangupSide::caller;
  call.hangup_reason = reason;
  reply_a(call, 487, "Request Terminated");
  end(call);
}

}  // namespace tandem::control
