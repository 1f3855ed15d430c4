// CallServer: the end of a call. BYE or CANCEL to the sides still up, the
// requests in flight answered, the CDR handed to the writer (after the media
// session's final counters), the nta legs reaped on the next loop turn.
#include "control/server/call_server.h"

#include <spdlog/spdlog.h>

#include <sofia-sip/sip_tag.h>

#include "control/server/call_record.h"
#include "control/server/call_server_internal.h"

namespace tandem::control {

using namespace internal;

void CallServer::hang_up(Call& call, cdr::HangupSide side, const std::string& reason, int from_side) {
  if (call.state == CallState::ended) return;
  call.hangup_side = side;
  call.hangup_reason = reason.substr(0, cdr::kMaxName);
  spdlog::info("[{}] hang-up by {}: {}", call.call_id, cdr::name(side), reason);
  if (call.state == CallState::answered) {
    for (int s : {kA, kB})
      if (s != from_side && (s == kA || call.b_up)) send_bye(call, s);
  } else {
    // Not answered yet (the caller's BYE on the early dialog, a media timeout, shutdown): the
    // caller gets a final answer, 487 to its own BYE (RFC 3261 15.1.2), the callee a CANCEL (in end()).
    const bool by_caller = side == cdr::HangupSide::caller;
    call.disposition = by_caller ? cdr::Disposition::cancelled : cdr::Disposition::failed;
    if (by_caller) reply_a(call, 487, "Request Terminated");
    else reply_a(call, 480, "Temporarily Unavailable");
  }
  end(call);
}

void CallServer::end(Call& call) {
  call.state = CallState::ended;
  call.end_ms = now_ms();
  stop_timer(call.setup_timer);
  stop_timer(call.ring_timer);
  stop_timer(call.max_timer);
  stop_timer(call.expires_timer);
  drop_transactions(call);
  close_menu(call);
  const bool answered = call.answer_ms != 0;
  if (call.invite_b) {
    if (nta_outgoing_status(call.invite_b) < 200) nta_outgoing_cancel(call.invite_b);
    nta_outgoing_destroy(call.invite_b);
    call.invite_b = nullptr;
    release_provider(call);
  } else if (answered) {
    release_provider(call);
  }
  if (call.invite_a) reply_a(call, 500, "Server Internal Error");
  counters_.add(Counter::calls_ended);
  hand_off_record(call);
  // The legs go on the next loop turn: nta may still be inside one of their callbacks.
  graveyard_.push_back(std::move(calls_.at(call.serial)));
  calls_.erase(call.serial);
}

void CallServer::drop_transactions(Call& call) {
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
}

void CallServer::hand_off_record(Call& call) {
  cdr::Record record = call_record(call, config_.dc, config_.node);
  const std::array<cdr::LegQuality, 2> earlier = call.menu ? call.menu->menu_quality : std::array<cdr::LegQuality, 2>{};
  if (call.menu && call.menu->moving_session) {
    // Ended while the attendant's session was being deleted: its deletion brings the counters.
    moving_media_.erase(call.menu->moving_session);
    awaiting_media_.emplace(call.menu->moving_session, PendingRecord{std::move(record), call.call_id, earlier});
    call.menu->moving_session = 0;
  } else if (call.media.session) {
    // The record waits for the session's final counters, which its deletion returns.
    by_media_session_.erase(call.media.session);
    media_.finish(call.media.session);
    awaiting_media_.emplace(call.media.session, PendingRecord{std::move(record), call.call_id, earlier});
    call.media.session = 0;
    schedule_media_flush();
  } else {
    submit_cdr(std::move(record), call.call_id);
  }
}

void CallServer::send_bye(Call& call, int side) {
  nta_leg_t* leg = leg_of(call, side);
  if (!leg) return;
  nta_outgoing_t* bye = nta_outgoing_tcreate(leg, nullptr, nullptr, nullptr, SIP_METHOD_BYE, nullptr,
                                             TAG_IF(call.hangup_side == cdr::HangupSide::system,
                                                    SIPTAG_REASON_STR(("SIP;cause=200;text=\"" + call.hangup_reason + "\"").c_str())),
                                             TAG_END());
  if (bye) nta_outgoing_destroy(bye);
}

void CallServer::open_record(Call& call) {
  std::string error;
  call.cdr_id = cdrs_.new_id(error);
  if (call.cdr_id && cdrs_.open_call(call_record(call, config_.dc, config_.node), tariff(call), error)) return;
  counters_.add(Counter::cdr_errors);
  spdlog::error("[{}] CDR: the answered call is not kept as open (a crash would leave it unbilled): {}",
                call.call_id, error);
}

void CallServer::submit_cdr(cdr::Record r, const std::string& call_id) {
  std::string error;
  if (!r.id) r.id = cdrs_.new_id(error);
  if (!r.id) {
    counters_.add(Counter::cdr_errors);
    spdlog::error("[{}] CDR: no record id: {}", call_id, error);
    return;
  }
  histograms_.observe(r);
  const cdr::SubmitResult result = cdrs_.submit(std::move(r), &error);
  if (result == cdr::SubmitResult::rejected || result == cdr::SubmitResult::dropped) {
    counters_.add(Counter::cdr_errors);
    spdlog::error("[{}] CDR refused: {}", call_id, error);
  }
}

void CallServer::reap() {
  for (auto& call : graveyard_) {
    if (call->leg_a) nta_leg_destroy(call->leg_a);
    if (call->leg_b) nta_leg_destroy(call->leg_b);
  }
  graveyard_.clear();
  exit_if_drained();
}

}  // namespace tandem::control
