// CallServer's SIP stack: the nta agent and the sofia-sip settings that matter,
// the default leg, the reaper's loop hook; shutdown; the stack's own counts.
// The calls themselves: new_call.cc, targets.cc, in_dialog.cc, acks.cc,
// teardown.cc, call_media.cc.
#include "control/server/call_server.h"

#include <spdlog/spdlog.h>

#include <sofia-sip/nta_tag.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>


namespace tandem::control {

CallServer::CallServer(const ServerConfig& config, su_root_t* root, Media& media, rules::Reloader& rules,
                       cdr::Writer& cdrs, attendant::PromptEngine& attendant)
    : config_(config), root_(root), media_(media), rules_(rules), cdrs_(cdrs), attendant_(attendant) {}

CallServer::~CallServer() {
  shutdown();
  if (default_leg_) nta_leg_destroy(default_leg_);
  if (agent_) nta_agent_destroy(agent_);
}

bool CallServer::start(std::string& error) {
  const std::string url = sip_url(config_.sip);
  contact_udp_ = fmt::format("<{}>", url);
  contact_tcp_ = fmt::format("<{};transport=tcp>", url);
  agent_ = create_agent(root_, config_.sip, true, stray_cb, reinterpret_cast<nta_agent_magic_t*>(this));
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
  watch_attendant();
  if (config_.media_sample_s) {
    media_sample_ = su_timer_create(su_root_task(root_), config_.media_sample_s * 1000);
    su_timer_set_for_ever(media_sample_, media_sample_cb, reinterpret_cast<su_timer_arg_t*>(this));
  }
  // Ended calls go at the start of the next loop turn, outside nta's callbacks.
  su_root_add_prepoll(root_, [](void* self, su_root_t*) { static_cast<CallServer*>(self)->reap(); }, this);
  spdlog::info("SIP on {} (UDP and TCP), capacity {} calls", url, config_.capacity);
  return true;
}

int CallServer::stray_cb(nta_agent_magic_t* self, nta_agent_t* agent, msg_t* msg, sip_t*) {
  reinterpret_cast<CallServer*>(self)->counters_.add(Counter::stray);
  nta_msg_discard(agent, msg);
  return 0;
}

const char* CallServer::contact_for(const Call& call, int side) const {
  return (side == kA && call.tcp_a) ? contact_tcp_.c_str() : contact_udp_.c_str();
}

void CallServer::shutdown() {
  shutting_down_ = true;
  stop_timer(drain_deadline_);
  for (su_timer_t** t : {&media_retry_, &media_sample_}) {
    if (*t) su_timer_destroy(*t);
    *t = nullptr;
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

void CallServer::set_draining(bool on) {
  if (on != draining_) spdlog::info("{}: {} calls in progress", on ? "draining" : "taking new calls again", calls_.size());
  draining_ = on;
  if (!on && exit_when_drained_) {
    spdlog::info("the exit once drained is cancelled");
    exit_when_drained_ = false;
    stop_timer(drain_deadline_);
  }
}

void CallServer::exit_when_drained(uint32_t deadline_s) {
  set_draining(true);
  if (!exit_ || exit_when_drained_) return;
  exit_when_drained_ = true;
  spdlog::info("exiting once the {} calls in progress have ended, {} s at most", calls_.size(), deadline_s);
  drain_deadline_ = su_timer_create(su_root_task(root_), deadline_s * 1000);
  su_timer_set(drain_deadline_, drain_deadline_cb, reinterpret_cast<su_timer_arg_t*>(this));
}

void CallServer::drain_deadline_cb(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  CallServer& server = *reinterpret_cast<CallServer*>(arg);
  server.stop_timer(server.drain_deadline_);
  spdlog::warn("drain deadline: {} calls still up are ended now", server.calls_.size());
  server.exit_when_drained_ = false;
  server.exit_();
}

void CallServer::exit_if_drained() {
  if (!exit_when_drained_ || !calls_.empty()) return;
  spdlog::info("drained: no call left, exiting");
  exit_when_drained_ = false;
  stop_timer(drain_deadline_);
  exit_();
}

uint32_t CallServer::active_calls(rules::Id provider) const {
  auto it = provider_calls_.find(provider);
  return it == provider_calls_.end() ? 0 : it->second;
}

}  // namespace tandem::control
