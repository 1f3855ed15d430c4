// Sbc: the nta agent (a proxy, not a UA), the source check, RFC 3261's checks,
// what is addressed to the SBC itself (OPTIONS), and stray 2xx retransmissions.
// The calls: invite.cc (new INVITEs), forward.cc (in dialog); probes.cc.
#include "control/sbc/sbc.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/sip_util.h>

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include "control/sip/peers.h"
#include "control/sip/sip_checks.h"

namespace tandem::control::sbc {

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

uint32_t ipv4(const std::string& host) {
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 ? ntohl(a.s_addr) : 0;
}

// The IPv4 address of a provider's "sip:HOST[:PORT]" or "HOST[:PORT]"; 0 if none.
uint32_t uri_ip(std::string_view uri) {
  if (uri.substr(0, 4) == "sip:") uri.remove_prefix(4);
  if (const auto at = uri.find('@'); at != std::string_view::npos) uri.remove_prefix(at + 1);
  return ipv4(std::string(uri.substr(0, uri.find_first_of(":;>"))));
}

}  // namespace

Sbc::Sbc(const SbcConfig& config, su_root_t* root, rules::Reloader* rules)
    : config_(config), root_(root), rules_(rules), dispatcher_(config.servers, config.probe_misses),
      rate_(config.invite_rate, config.invite_burst) {
  for (const ServerSpec& s : config.servers) server_ips_.push_back(ipv4(s.host));
}

Sbc::~Sbc() {
  if (probe_timer_) su_timer_destroy(probe_timer_);
  for (Probe& p : probes_)
    if (p.orq) nta_outgoing_destroy(p.orq);
  while (!invites_.empty()) {
    Invite& inv = *invites_.begin()->second;
    if (inv.irq) nta_incoming_treply(inv.irq, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
    finish(inv);
  }
  for (nta_outgoing_t* orq : abandoned_) nta_outgoing_destroy(orq);
  while (!forwards_.empty()) end_forward(*forwards_.begin());
  if (leg_) nta_leg_destroy(leg_);
  if (agent_) nta_agent_destroy(agent_);
}

bool Sbc::start(std::string& error) {
  agent_ = create_agent(root_, config_.sip, false, stray_cb, reinterpret_cast<nta_agent_magic_t*>(this));
  if (!agent_) {
    error = "cannot listen for SIP on " + sip_url(config_.sip) + " (UDP and TCP): " + std::strerror(errno);
    return false;
  }
  leg_ = nta_leg_tcreate(agent_, request_cb, reinterpret_cast<nta_leg_magic_t*>(this), NTATAG_NO_DIALOG(1), TAG_END());
  if (!leg_) {
    error = "cannot create the SIP default leg";
    return false;
  }
  if (!backlog_.find(config_.sip.address, config_.sip.port))
    spdlog::warn("SIP UDP socket not found: an overloaded SBC will blame servers for its own backlog");
  record_route_udp_ = fmt::format("<{};lr>", sip_url(config_.sip));
  record_route_tcp_ = fmt::format("<{};transport=tcp;lr>", sip_url(config_.sip));
  probes_.resize(config_.servers.size());
  for (size_t i = 0; i < probes_.size(); ++i) probes_[i] = Probe{this, i, nullptr, 0, 0, false};
  probe_timer_ = su_timer_create(su_root_task(root_), config_.probe_interval_ms);
  probe_round();
  su_timer_set_for_ever(probe_timer_, probe_round_cb, reinterpret_cast<su_timer_arg_t*>(this));
  spdlog::info("SIP on {} (UDP and TCP), {} servers, probes every {} ms", sip_url(config_.sip),
               config_.servers.size(), config_.probe_interval_ms);
  return true;
}

int Sbc::request_cb(nta_leg_magic_t* self, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) {
  return reinterpret_cast<Sbc*>(self)->on_request(irq, sip);
}

int Sbc::stray_cb(nta_agent_magic_t* self, nta_agent_t*, msg_t* msg, sip_t* sip) {
  return reinterpret_cast<Sbc*>(self)->on_stray(msg, sip);
}

bool Sbc::is_server(uint32_t ip) const {
  for (uint32_t s : server_ips_)
    if (s == ip) return true;
  return false;
}

bool Sbc::is_server(const url_t* url) const {
  if (!url || !url->url_host) return false;
  const unsigned port = url->url_port ? static_cast<unsigned>(std::atoi(url->url_port)) : 5060;
  for (const ServerSpec& s : config_.servers)
    if (s.host == url->url_host && s.port == port) return true;
  return false;
}

bool Sbc::allowed(uint32_t ip) {
  if (find_peer(config_.sip.peers, ip) || is_server(ip)) return true;
  if (!rules_) return false;
  if (auto snapshot = rules_->current(); snapshot && snapshot->version() != providers_version_) {
    provider_ips_.clear();
    for (const auto& p : snapshot->data().providers)
      if (const uint32_t pip = uri_ip(p.sip_address)) provider_ips_.insert(pip);
    providers_version_ = snapshot->version();
  }
  return provider_ips_.count(ip) > 0;
}

bool Sbc::is_us(const url_t* url) const {
  if (!url || !url->url_host || config_.sip.address != url->url_host) return false;
  const unsigned port = url->url_port ? static_cast<unsigned>(std::atoi(url->url_port)) : 5060;
  return port == config_.sip.port;
}

void Sbc::refuse(nta_incoming_t* irq, const sip_t* sip, Counter counter, int status, const char* phrase,
                 const std::string& why) {
  refuse(irq, sip, counter, Refusal{status, phrase, why, {}});
}

void Sbc::refuse(nta_incoming_t* irq, const sip_t* sip, Counter counter, const Refusal& r) {
  counters_.add(counter);
  spdlog::debug("[{}] {} refused {} {}: {}", sip && sip->sip_call_id ? sip->sip_call_id->i_id : "-",
                sip && sip->sip_request ? sip->sip_request->rq_method_name : "?", r.status, r.phrase, r.why);
  const std::string warn = warning(config_.sip.address, r.why);
  const std::string retry = std::to_string(retry_after_s());
  const std::string allow(kAllow);
  nta_incoming_treply(irq, r.status, r.phrase.c_str(), SIPTAG_WARNING_STR(warn.c_str()),
                      TAG_IF(r.status == 503, SIPTAG_RETRY_AFTER_STR(retry.c_str())),
                      TAG_IF(r.status == 420, SIPTAG_UNSUPPORTED_STR(r.unsupported.c_str())),
                      TAG_IF(r.status == 405, SIPTAG_ALLOW_STR(allow.c_str())), TAG_END());
  nta_incoming_destroy(irq);
}

int Sbc::retry_after_s() const {
  // A server can come back with the next probe round at the earliest.
  const int64_t wait = std::max<int64_t>(next_probe_ms_ - now_ms(), 0) + config_.probe_interval_ms;
  return static_cast<int>(std::max<int64_t>((wait + 999) / 1000, 1));
}

int Sbc::on_request(nta_incoming_t* irq, const sip_t* sip) {
  const sip_method_t method = sip->sip_request ? sip->sip_request->rq_method : sip_method_invalid;
  if (!allowed(source_ip(irq))) {
    if (method == sip_method_ack) {
      counters_.add(Counter::refused_peer);
      nta_incoming_destroy(irq);
      return 0;
    }
    refuse(irq, sip, Counter::refused_peer, SIP_403_FORBIDDEN, "not a provider, server or peer of this SBC");
    return 0;
  }
  const bool in_dialog = sip->sip_to && sip->sip_to->a_tag;
  if (in_dialog || method == sip_method_ack) {
    forward_in_dialog(irq, sip);
    return 0;
  }
  // An OPTIONS with no Route beyond us is for us (monitoring, a provider's dispatcher): we
  // answer it as its user agent; anything else we check as the proxy that forwards it.
  const bool for_us = method == sip_method_options && (!sip->sip_route || is_us(sip->sip_route->r_url));
  if (Refusal r = check_request(sip, for_us ? CheckedAs::user_agent : CheckedAs::proxy)) {
    refuse(irq, sip, Counter::refused_request, r);
    return 0;
  }
  if (Refusal r = refuse_sips(sip)) {
    refuse(irq, sip, Counter::refused_request, r);
    return 0;
  }
  if (for_us) {
    answer_options(irq);
    return 0;
  }
  if (method != sip_method_invite) {
    refuse(irq, sip, Counter::refused_request, SIP_405_METHOD_NOT_ALLOWED, "only INVITE and OPTIONS outside a dialog");
    return 0;
  }
  new_invite(irq, sip, source_ip(irq));
  return 0;
}

void Sbc::answer_options(nta_incoming_t* irq) {
  // A provider's dispatcher probing us: 503 when no server could take its call, so that it
  // sends to the other DC without waiting for our 503s.
  counters_.add(Counter::options);
  const bool open = dispatcher_.any_available();
  const std::string retry = std::to_string(retry_after_s());
  nta_incoming_treply(irq, open ? 200 : 503, open ? "OK" : "Service Unavailable",
                      SIPTAG_ALLOW_STR(std::string(kAllow).c_str()), SIPTAG_ACCEPT_STR("application/sdp"),
                      SIPTAG_SUPPORTED_STR(std::string(kSupported).c_str()),
                      TAG_IF(!open, SIPTAG_RETRY_AFTER_STR(retry.c_str())), TAG_END());
  nta_incoming_destroy(irq);
}

void Sbc::pop_our_routes(msg_t* msg, sip_t* sip) const {
  while (sip->sip_route && is_us(sip->sip_route->r_url)) sip_route_remove(msg, sip);
}

int Sbc::on_stray(msg_t* msg, sip_t* sip) {
  // A 2xx retransmitted after its transaction ended goes on statelessly (RFC 3261 16.7 and
  // 16.11), when the Via below ours says where, and only from those who may send to us: from
  // anyone else it would be a datagram of theirs sent on from our address.
  const bool ours = sip && sip->sip_status && sip->sip_via && sip->sip_via->v_next &&
                    sip->sip_via->v_host && config_.sip.address == sip->sip_via->v_host &&
                    allowed(source_ip(msg));
  if (ours && sip->sip_status->st_status >= 200 && sip->sip_status->st_status < 300 && sip->sip_cseq &&
      sip->sip_cseq->cs_method == sip_method_invite) {
    counters_.add(Counter::stray_2xx);
    nta_msg_tsend(agent_, msg, nullptr, TAG_END());
    return 0;
  }
  counters_.add(Counter::stray);
  nta_msg_discard(agent_, msg);
  return 0;
}

}  // namespace tandem::control::sbc
