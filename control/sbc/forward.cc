// Sbc: requests within a dialog (BYE, re-INVITE, INFO, UPDATE...) and the
// ACKs of 2xx answers. Their Route headers say where they go: ours on top
// (we record-route every dialog; without it, only from or to one of our
// servers) come off, the next hop is the next Route or the Request-URI (the
// other side's Contact), and a provider's request may only go to one of our
// servers: no open relay. Nothing of the dialog is looked up, so these still
// reach the other side after the SBC restarted. Each request is forwarded in
// a transaction of its own (responses relayed back); an ACK statelessly.
#include "control/sbc/sbc.h"

#include <spdlog/spdlog.h>

#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/sip_util.h>

#include "control/sip/peers.h"
#include "control/sip/sip_checks.h"

namespace tandem::control::sbc {

// A forwarded request in a dialog and the provider's or server's transaction it answers.
struct Sbc::Forward {
  Sbc* sbc = nullptr;
  nta_incoming_t* irq = nullptr;
  nta_outgoing_t* orq = nullptr;
};

Refusal Sbc::prepare_forward(msg_t* msg, bool from_server) {
  sip_t* sip = sip_object(msg);
  // We record-route every dialog we are in, but a UA that does not copy Record-Route into its
  // answer (RFC 3261 12.1.1) leaves the other side without our Route: such a request is forwarded
  // by its Request-URI when it comes from one of our servers or goes to one; anything else would
  // make us an open relay.
  const bool routed = sip->sip_route && is_us(sip->sip_route->r_url);
  if (!routed && !from_server && !is_server(sip->sip_request->rq_url))
    return {481, "Call/Transaction Does Not Exist", "not in a dialog routed through this SBC", {}};
  pop_our_routes(msg, sip);
  if (!sip->sip_route && is_us(sip->sip_request->rq_url))
    return {481, "Call/Transaction Does Not Exist", "no hop beyond this SBC", {}};
  const url_t* next = sip->sip_route ? sip->sip_route->r_url : sip->sip_request->rq_url;
  // nta sends to sip: hops only (sips: would need TLS); what it cannot send it would also leak.
  if (next->url_type != url_sip || !next->url_host)
    return {416, "Unsupported URI Scheme", "the next hop is no sip: URI", {}};
  // Every dialog through us has one of our servers at its far end, so a provider's request goes
  // to one: our Route on a request to anywhere else is forged, and forwarding it would send a
  // provider's calls on from our address, past the dispatcher, the rate limit and the CDRs.
  if (!from_server && !is_server(next))
    return {403, "Forbidden", "a provider's request in a dialog goes to a call server only", {}};
  if (sip->sip_max_forwards) --sip->sip_max_forwards->mf_count;
  else sip_add_tl(msg, sip, SIPTAG_MAX_FORWARDS_STR("70"), TAG_END());
  return {};
}

void Sbc::record_route(msg_t* msg, sip_t* sip, bool provider_tcp, bool server_tcp) const {
  // Record-Route is prepended: the server's route set starts with the entry that faces it, the
  // provider's (the reverse) with the one that faces the provider (RFC 5658 double routing).
  auto entry = [this](bool tcp) { return (tcp ? record_route_tcp_ : record_route_udp_).c_str(); };
  if (provider_tcp != server_tcp) sip_add_make(msg, sip, sip_record_route_class, entry(provider_tcp));
  sip_add_make(msg, sip, sip_record_route_class, entry(server_tcp));
}

void Sbc::forward_in_dialog(nta_incoming_t* irq, const sip_t* sip) {
  const bool ack = sip->sip_request->rq_method == sip_method_ack;
  const char* call_id = sip->sip_call_id ? sip->sip_call_id->i_id : "-";
  // A malformed request is never sent on.
  Refusal refusal = check_forwarded(sip);
  if (!refusal && sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0)
    refusal = Refusal{483, "Too Many Hops", "Max-Forwards reached 0", {}};
  msg_t* msg = nullptr;
  if (!refusal) {
    msg_t* original = nta_incoming_getrequest(irq);
    msg = msg_copy(original);
    msg_destroy(original);
    refusal = msg ? prepare_forward(msg, is_server(source_ip(irq)))
                  : Refusal{500, "Server Internal Error", "out of memory", {}};
  }
  if (refusal) {
    msg_destroy(msg);
    const Counter counter = refusal.status == 481 ? Counter::no_route : Counter::refused_request;
    spdlog::debug("[{}] {} not forwarded: {}", call_id, sip->sip_request->rq_method_name, refusal.why);
    if (!ack) return refuse(irq, sip, counter, refusal);  // an ACK cannot be answered
    counters_.add(counter);
    nta_incoming_destroy(irq);
    return;
  }
  if (ack) {
    counters_.add(Counter::acks);
    nta_msg_tsend(agent_, msg, nullptr, TAG_END());
    nta_incoming_destroy(irq);
    return;
  }
  counters_.add(Counter::in_dialog);
  // A re-INVITE hears from us at once, as a new INVITE does (RFC 3261 16.2): the server's own
  // 100 stops at us, and the far end may take longer than T1 to answer.
  if (sip->sip_request->rq_method == sip_method_invite) nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());
  auto* f = new Forward{this, irq, nullptr};
  // nta takes the message only when it creates the transaction.
  f->orq = nta_outgoing_mcreate(agent_, forwarded_response_cb, reinterpret_cast<nta_outgoing_magic_t*>(f), nullptr,
                                msg, TAG_END());
  if (!f->orq) {
    msg_destroy(msg);
    delete f;
    refuse(irq, sip, Counter::no_route, SIP_500_INTERNAL_SERVER_ERROR, "cannot forward");
    return;
  }
  forwards_.insert(f);
  // A CANCEL of a forwarded re-INVITE reaches its transaction here.
  nta_incoming_bind(irq, forward_cancel_cb, reinterpret_cast<nta_incoming_magic_t*>(f));
}

int Sbc::forwarded_response_cb(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip) {
  Forward* f = reinterpret_cast<Forward*>(magic);
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
  if (status == 100) return 0;
  if (!sip || nta_sip_is_internal(sip)) {
    nta_incoming_treply(f->irq, status, sip_status_phrase(status), TAG_END());
  } else if (msg_t* response = nta_outgoing_getresponse(orq)) {
    sip_via_remove(response, sip_object(response));
    nta_incoming_mreply(f->irq, response);
  }
  if (status >= 200) f->sbc->end_forward(f);
  return 0;
}

int Sbc::forward_cancel_cb(nta_incoming_magic_t* magic, nta_incoming_t*, const sip_t* sip) {
  Forward* f = reinterpret_cast<Forward*>(magic);
  if (sip && sip->sip_request && sip->sip_request->rq_method == sip_method_cancel) {
    nta_outgoing_tcancel(f->orq, nullptr, nullptr, TAG_END());
    return 200;
  }
  return 0;
}

void Sbc::end_forward(Forward* f) {
  forwards_.erase(f);
  nta_outgoing_destroy(f->orq);
  nta_incoming_destroy(f->irq);
  delete f;
}

}  // namespace tandem::control::sbc
