// CallServer: the calls' media sessions on the dataplane. SDP anchored (the
// sender's leg updated, the SDP rewritten for the other side); updates and
// deletes sent in batches and their outcomes taken (a deleted session's final
// counters complete its call's CDR); the dataplane's events: media timeouts,
// and a lost connection that ends every call until it is reopened.
#include "control/server/call_server.h"

#include <spdlog/spdlog.h>

#include "control/server/sdp_rewrite.h"
#include "control/server/sip_checks.h"
#include "control/server/su_home.h"

namespace tandem::control {

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

}  // namespace tandem::control
