// CallServer: the calls' media sessions on the dataplane. SDP anchored (the
// sender's leg updated, the SDP rewritten for the other side); updates and
// deletes sent in batches and their outcomes taken (a deleted session's final
// counters complete its call's CDR); the dataplane's events: media timeouts,
// and a lost connection: the calls keep going while the dataplane restarts
// (their sessions are created again), or end after the restore deadline.
#include "control/server/call_server.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>

#include "control/server/call_server_internal.h"
#include "control/server/sdp_rewrite.h"
#include "control/sip/sip_checks.h"
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
    if (o.deleted) {
      if (auto moving = moving_media_.find(o.session); moving != moving_media_.end()) {
        auto call = calls_.find(moving->second);
        moving_media_.erase(moving);
        if (call != calls_.end()) menu_media_moved(*call->second, o.quality);
        continue;
      }
    }
    if (!o.deleted || pending == awaiting_media_.end()) continue;
    pending->second.record.legs = Media::combined(pending->second.earlier, o.quality);
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
  spdlog::error("the dataplane closed its connection: {} call(s) wait up to {} s for it to come back", calls_.size(),
                config_.media_restore_deadline_s);
  su_root_deregister(root_, media_wait_index_);
  media_wait_index_ = -1;
  counters_.add(Counter::media_errors);
  media_lost_ms_ = internal::now_ms();
  media_given_up_ = false;
  media_.flush();  // fails what was awaited: deletes' records go with the counters known so far
  take_media_outcomes();
  if (!media_retry_) media_retry_ = su_timer_create(su_root_task(root_), kMediaRetryMs);
  su_timer_set_for_ever(media_retry_, media_retry_cb, reinterpret_cast<su_timer_arg_t*>(this));
}

void CallServer::media_retry_cb(su_root_magic_t*, su_timer_t*, su_timer_arg_t* self) {
  reinterpret_cast<CallServer*>(self)->retry_media();
}

void CallServer::retry_media() {
  const bool late = internal::now_ms() - media_lost_ms_ > int64_t{config_.media_restore_deadline_s} * 1000;
  if (!media_back_) {
    std::string error;
    if (!media_.reopen(error)) {
      spdlog::debug("dataplane: {}", error);
      // Past the deadline the calls end as soon as their BYEs can leave:
      // at once when signalling does not ride the dataplane.
      if (late && !media_given_up_ && sip_address_up()) give_up_media();
      return;
    }
    media_back_ = true;
    watch_media();
    if (!late && !media_given_up_) {
      restore_calls();
      return end_media_recovery();
    }
  }
  // Back after the deadline: the calls end once SIP can leave the node
  // again (its address may ride the dataplane's exception port, which the
  // operator or the supervisor sets up after the dataplane is up).
  if (!media_given_up_ && sip_address_up()) give_up_media();
  if (media_given_up_) end_media_recovery();
}

void CallServer::end_media_recovery() {
  su_timer_reset(media_retry_);
  media_lost_ms_ = -1;
  media_back_ = false;
  spdlog::info("dataplane connection restored");
}

void CallServer::restore_calls() {
  size_t restored = 0;
  for (const Media::Restored& r : media_.restore()) {
    auto it = by_media_session_.find(r.old_session);
    Call* call = it == by_media_session_.end() ? nullptr : it->second;
    if (call) by_media_session_.erase(it);
    if (r.session) {
      ++restored;
      if (!call) continue;
      call->media.session = r.session;
      by_media_session_[r.session] = call;
      continue;
    }
    spdlog::warn("session {}: {}", r.old_session, r.error);
    const auto quality = media_.forget(r.old_session);
    if (!call) continue;
    call->media.session = 0;
    call->quality = quality;
    hang_up(*call, cdr::HangupSide::system, "media relay lost", -1);
  }
  spdlog::info("dataplane restarted: {} session(s) restored, {} lost", restored, media_.tracked() - restored);
}

void CallServer::give_up_media() {
  media_given_up_ = true;
  std::vector<Call*> calls;
  for (auto& [serial, call] : calls_) calls.push_back(call.get());
  spdlog::warn("the dataplane did not come back within {} s: ending {} call(s)", config_.media_restore_deadline_s,
               calls.size());
  for (Call* call : calls) {
    if (call->media.session) {
      by_media_session_.erase(call->media.session);
      call->quality = media_.forget(call->media.session);
      call->media.session = 0;  // nothing to delete any more
    }
    hang_up(*call, cdr::HangupSide::system, "media relay lost", -1);
  }
}

bool CallServer::sip_address_up() const {
  in_addr want{};
  if (inet_pton(AF_INET, config_.sip.address.c_str(), &want) != 1) return false;
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return false;
  bool up = false;
  for (const ifaddrs* i = all; i && !up; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_RUNNING))
      continue;
    up = reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr == want.s_addr;
  }
  freeifaddrs(all);
  return up;
}

void CallServer::media_sample_cb(su_root_magic_t*, su_timer_t*, su_timer_arg_t* self) {
  auto* server = reinterpret_cast<CallServer*>(self);
  if (server->media_lost_ms_ >= 0 || server->media_.tracked() == 0) return;
  std::string error;
  if (!server->media_.sample(error)) spdlog::warn("{}", error);
}

}  // namespace tandem::control
