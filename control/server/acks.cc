// CallServer: the ACK of a 2xx to an INVITE we sent, and the delayed offer.
// An INVITE without SDP gets the offer in its 2xx; the ACK to that 2xx must
// carry the answer, which the other side's ACK brings, so ours waits for it
// (and nta hands the ACK of a 2xx to the INVITE transaction, which is kept),
// and that answer is made to match the offer as relayed (RFC 3264 section 6).
#include "control/server/call_server.h"

#include <spdlog/spdlog.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_tag.h>

#include "control/server/call_server_internal.h"
#include "control/server/sdp_rewrite.h"
#include "control/server/su_home.h"

namespace tandem::control {

using namespace internal;

void CallServer::ack_2xx(Call& call, int side, const sip_t* response, bool offer_in_2xx) {
  call.ack[side] = Call::Ack{response->sip_cseq->cs_seq, offer_in_2xx, {}, {}};
  send_ack(call, side);
}

void CallServer::offer_relayed(Call& call, int side, const std::string& sdp) {
  if (call.ack[side].waits) call.ack[side].offer = sdp;
}

void CallServer::send_ack(Call& call, int side) {
  const Call::Ack& a = call.ack[side];
  nta_leg_t* leg = leg_of(call, side);
  if (a.waits || !a.cseq || !leg) return;
  SuHome home = new_su_home();
  sip_cseq_t* cseq = sip_cseq_create(home.get(), a.cseq, SIP_METHOD_ACK);
  nta_outgoing_t* ack = nta_outgoing_tcreate(leg, nullptr, nullptr, nullptr, SIP_METHOD_ACK, nullptr, SIPTAG_CSEQ(cseq),
                                             TAG_IF(!a.sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                                             TAG_IF(!a.sdp.empty(), SIPTAG_PAYLOAD_STR(a.sdp.c_str())), TAG_END());
  if (ack) nta_outgoing_destroy(ack);
}

void CallServer::on_ack(Call& call, int from, const sip_t* sip) {
  if (call.menu && call.menu->awaits_answer && from == kA && call.state == CallState::answered)
    return menu_answer_in_ack(call, sip);
  const int to = 1 - from;
  Call::Ack& a = call.ack[to];
  if (!a.waits || call.state != CallState::answered) return;
  a.waits = false;
  std::string error;
  const char* reason = "no SDP answer in the ACK";
  if (has_body(sip) && anchor_sdp(call, from, sip, a.sdp, error)) {
    // RFC 3264 section 6, as for any answer (targets.cc, in_dialog.cc): mended, or the call ends.
    if (a.offer.empty() || conform_answer(a.offer, a.sdp, error)) {
      send_ack(call, to);
      return;
    }
    reason = "SDP answer in the ACK does not match the offer";
  }
  // The offerer gets its ACK, then a BYE: without an answer there is no media.
  a.sdp.clear();
  send_ack(call, to);
  counters_.add(Counter::refused_sdp);
  spdlog::warn("[{}] the ACK carries no usable SDP answer{}{}", call.call_id, error.empty() ? "" : ": ", error);
  hang_up(call, cdr::HangupSide::system, reason, -1);
}

void CallServer::on_no_ack(Call& call, int side) {
  // RFC 3261 13.3.1.4: the dialog stands but the session ends, for both sides: the other one answered too.
  counters_.add(Counter::no_ack);
  spdlog::warn("[{}] our 2xx to the {} got no ACK within 64*T1", call.call_id, side == kA ? "caller" : "callee");
  if (side == kA) {
    // The caller never confirmed the answer: it may never have had it (an SBC that died with the
    // 200 in hand, and the provider tried the other DC with the same call). Billed as answered,
    // the provider would pay twice for one call: the record says failed.
    call.answer_ms = 0;
    call.disposition = cdr::Disposition::failed;
  }
  hang_up(call, cdr::HangupSide::system, side == kA ? "no ACK from the caller" : "no ACK", -1);
}

void CallServer::release_answered(Call& call, int side, nta_incoming_t* irq, bool invite_2xx) {
  // The transaction is nta's now, unbound from the call, which may be gone when its ACK comes;
  // but an INVITE's 2xx keeps it until its ACK: cancel_cb hears the ACK (which brings the answer
  // when the 2xx carried an offer), or nta's timer H (64*T1) when none came.
  if (!invite_2xx) {
    nta_incoming_destroy(irq);
    return;
  }
  if (call.ack_irq[side]) nta_incoming_destroy(call.ack_irq[side]);
  call.ack_irq[side] = irq;
  nta_incoming_bind(irq, cancel_cb, reinterpret_cast<nta_incoming_magic_t*>(&call));
}

}  // namespace tandem::control
