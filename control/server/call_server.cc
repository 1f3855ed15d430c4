// CallServer's SIP stack: the nta agent and the sofia-sip settings that matter,
// the default leg, the reaper's loop hook; shutdown; the stack's own counts.
// The calls themselves: new_call.cc, targets.cc, in_dialog.cc, acks.cc,
// teardown.cc, call_media.cc.
#include "control/server/call_server.h"

#include <spdlog/spdlog.h>

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/tport_tag.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "control/server/sip_message_class.h"

namespace tandem::control {

CallServer::CallServer(const ServerConfig& config, su_root_t* root, Media& media, rules::Reloader& rules,
                       cdr::Writer& cdrs)
    : config_(config), root_(root), media_(media), rules_(rules), cdrs_(cdrs) {}

CallServer::~CallServer() {
  shutdown();
  if (default_leg_) nta_leg_destroy(default_leg_);
  if (agent_) nta_agent_destroy(agent_);
}

bool CallServer::start(std::string& error) {
  const std::string url = fmt::format("sip:{}:{}", config_.sip_address, config_.sip_port);
  contact_udp_ = fmt::format("<{}>", url);
  contact_tcp_ = fmt::format("<{};transport=tcp>", url);
  agent_ = nta_agent_create(root_, URL_STRING_MAKE(url.c_str()), stray_cb, reinterpret_cast<nta_agent_magic_t*>(this),
                            // Answers go where the request came from (rport for everyone: NATs).
                            NTATAG_UA(1), NTATAG_SERVER_RPORT(2), NTATAG_MAXSIZE(config_.max_message_bytes),
                            // Request lines sofia-sip cannot read reach nta's 400 or our checks, not the void.
                            NTATAG_MCLASS(sip_message_class()),
                            NTATAG_USE_SRV(0), NTATAG_USE_NAPTR(0),
                            // sofia derives no 64*T1 from T1: both, so that timer H follows --sip-t1.
                            NTATAG_SIP_T1(config_.sip_t1_ms), NTATAG_SIP_T1X64(64 * config_.sip_t1_ms),
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
