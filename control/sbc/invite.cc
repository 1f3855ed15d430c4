// Sbc: a new INVITE, server after server. The provider hears 100 Trying at
// once, then whatever the chosen server answers, except what sends the call
// on to the next server (no answer within --server-timeout, a 503 with
// Retry-After before any ringing, a timeout or transport error of nta's): one
// INVITE from the provider, one final answer back, a 503 with Retry-After
// only when no server is left.
#include "control/sbc/sbc.h"

#include <spdlog/spdlog.h>

#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_string.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "control/sip/sip_checks.h"

namespace tandem::control::sbc {

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

bool over_tcp(const sip_t* sip) {
  const char* proto = sip->sip_via ? sip->sip_via->v_protocol : nullptr;
  return proto && su_casematch(proto, sip_transport_tcp);
}

}  // namespace

void Sbc::new_invite(nta_incoming_t* irq, const sip_t* sip, uint32_t source) {
  counters_.add(Counter::invites);
  if (!rate_.allow(source, now_ms())) {
    refuse(irq, sip, Counter::refused_rate, SIP_503_SERVICE_UNAVAILABLE, "over this source's --invite-rate");
    return;
  }
  if (overloaded()) {
    refuse(irq, sip, Counter::refused_overload, SIP_503_SERVICE_UNAVAILABLE, "overloaded: new calls shed");
    return;
  }
  auto owned = std::make_unique<Invite>();
  Invite& inv = *owned;
  inv.sbc = this;
  inv.id = next_invite_++;
  inv.irq = irq;
  inv.call_id = sip->sip_call_id->i_id;
  inv.tcp = over_tcp(sip);
  // Each server gets a copy of the request as it came, our Routes off (a re-sent INVITE of a
  // restarted dialog could name us); nta keeps the original to match retransmissions and CANCEL.
  msg_t* original = nta_incoming_getrequest(irq);
  inv.request = msg_copy(original);
  msg_destroy(original);
  if (!inv.request) {
    refuse(irq, sip, Counter::no_server, SIP_500_INTERNAL_SERVER_ERROR, "out of memory");
    return;
  }
  pop_our_routes(inv.request, sip_object(inv.request));
  invites_.emplace(inv.id, std::move(owned));
  nta_incoming_bind(irq, invite_cancel_cb, reinterpret_cast<nta_incoming_magic_t*>(&inv));
  nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());
  send_to_next(inv);
}

bool Sbc::overloaded() {
  // A call accepted behind such a queue would wait as long for each of its answers: past T1 the
  // provider retransmits, past --server-timeout servers look dead, and the queue only grows.
  // Refusing at once costs three datagrams instead of fourteen; the provider tries elsewhere.
  const int64_t waited_us = config_.shed_delay_ms ? backlog_.oldest_wait_us() : 0;
  const bool over = waited_us > int64_t{config_.shed_delay_ms} * 1000;
  if (over && shed_ == 0)
    spdlog::warn("overloaded: datagrams wait {} ms unread (--shed-delay {}): new INVITEs get 503", waited_us / 1000,
                 config_.shed_delay_ms);
  if (over) {
    ++shed_;
  } else if (shed_ > 0) {
    spdlog::warn("overload over: {} new INVITEs were refused", shed_);
    shed_ = 0;
  }
  return over;
}

void Sbc::send_to_next(Invite& inv) {
  while (true) {
    const auto chosen = dispatcher_.choose(inv.tried);
    if (!chosen) {
      counters_.add(Counter::no_server);
      const std::string why = inv.tried.empty() ? "no call server can take a call" : "every call server failed";
      spdlog::warn("[{}] 503: {}", inv.call_id, why);
      const std::string warn = warning(config_.sip.address, why);
      const std::string retry = std::to_string(retry_after_s());
      nta_incoming_treply(inv.irq, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_RETRY_AFTER_STR(retry.c_str()),
                          SIPTAG_WARNING_STR(warn.c_str()), TAG_END());
      finish(inv);
      return;
    }
    const size_t server = *chosen;
    inv.tried.push_back(server);
    const ServerSpec& spec = config_.servers[server];
    msg_t* msg = msg_copy(inv.request);
    sip_t* sip = msg ? sip_object(msg) : nullptr;
    if (sip) {
      if (sip->sip_max_forwards) --sip->sip_max_forwards->mf_count;
      else sip_add_tl(msg, sip, SIPTAG_MAX_FORWARDS_STR("70"), TAG_END());
      record_route(msg, sip, inv.tcp, spec.tcp);
      const std::string url = spec.url();
      // nta takes the message only when it creates the transaction.
      inv.orq = nta_outgoing_mcreate(agent_, invite_response_cb, reinterpret_cast<nta_outgoing_magic_t*>(&inv),
                                     URL_STRING_MAKE(url.c_str()), msg, TAG_END());
    }
    if (!inv.orq) msg_destroy(msg);
    dispatcher_.sent(server);
    if (inv.orq) {
      spdlog::info("[{}] to {} ({})", inv.call_id, spec.name, inv.tried.size() == 1 ? "first choice" : "failover");
      inv.timer = su_timer_create(su_root_task(root_), config_.server_timeout_ms);
      inv.put_off_ms = 0;
      su_timer_set(inv.timer, server_timeout_cb, reinterpret_cast<su_timer_arg_t*>(&inv));
      return;
    }
    dispatcher_.failed(server);
    spdlog::warn("[{}] cannot send to {}", inv.call_id, spec.name);
  }
}

int Sbc::invite_response_cb(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip) {
  Invite& inv = *reinterpret_cast<Invite*>(magic);
  return inv.sbc->on_invite_response(inv, orq, sip);
}

int Sbc::on_invite_response(Invite& inv, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
  const size_t server = inv.tried.back();
  stop_timer(inv);
  if (status < 200) {
    if (status > 100) {
      inv.ringing = true;
      relay_response(inv, orq);
    }
    return 0;
  }
  const bool ours = !sip || nta_sip_is_internal(sip);  // nta's timeout or transport error
  if ((ours || server_unavailable(inv, sip)) && !inv.cancelled) {
    fail_over(inv, fmt::format("{} {}", status, sip && sip->sip_status ? sip->sip_status->st_phrase : "").c_str());
    return 0;
  }
  if (status < 300) {
    dispatcher_.answered(server);
    counters_.add(Counter::calls_answered);
  } else {
    dispatcher_.refused(server);
    counters_.add(Counter::calls_refused_by_server);
  }
  spdlog::info("[{}] {} from {}", inv.call_id, status, config_.servers[server].name);
  if (ours) nta_incoming_treply(inv.irq, status, sip_status_phrase(status), TAG_END());
  else relay_response(inv, orq);
  // A 2xx retransmitted from now on is a stray of nta's: forwarded statelessly (on_stray).
  finish(inv);
  return 0;
}

bool Sbc::server_unavailable(const Invite& inv, const sip_t* sip) {
  // RFC 3261 21.5.4: a 503 says the server cannot take the call now, and with Retry-After when
  // it may again; without one it counts as a 500. RFC 3263 4.3: on a 503 the client tries the
  // next server. Any other answer, 5xx included, is the call's own: the call server relays its
  // callee's and providers' answers, and another server would get the same one, write a CDR
  // for the call again, and the first would be left out of the dispatch for nothing.
  // A server that has rung the provider's phone has taken the call: what it says next stands.
  return !inv.ringing && sip->sip_status->st_status == 503 && sip->sip_retry_after;
}

void Sbc::fail_over(Invite& inv, const std::string& why) {
  const size_t server = inv.tried.back();
  // Taken back from a server that went down before it answered at all, the INVITE still has its
  // --server-timeout running: it must not fire for the next server's INVITE, or after the end.
  stop_timer(inv);
  dispatcher_.failed(server);
  counters_.add(Counter::failovers);
  spdlog::warn("[{}] {} failed the call ({}): next server", inv.call_id, config_.servers[server].name, why);
  if (inv.orq) nta_outgoing_destroy(inv.orq);
  inv.orq = nullptr;
  send_to_next(inv);
}

void Sbc::server_timeout_cb(su_root_magic_t*, su_timer_t* timer, su_timer_arg_t* arg) {
  Invite& inv = *reinterpret_cast<Invite*>(arg);
  Sbc& sbc = *inv.sbc;
  if (!inv.cancelled && nta_outgoing_status(inv.orq) < 100 && sbc.behind() &&
      inv.put_off_ms < sbc.config_.server_timeout_ms) {
    // The server's answer may be among the datagrams not read yet: when the SBC's core is full
    // they wait longer than --server-timeout, and failing over then (a CANCEL, a second INVITE,
    // the server marked failed) only adds work and takes good servers out. Put off by a tenth,
    // at most --server-timeout in all, so a dead server is still left within twice the timeout.
    const int64_t step = std::max<int64_t>(20, sbc.config_.server_timeout_ms / 10);
    if (inv.put_off_ms == 0) sbc.counters_.add(Counter::server_timeouts_put_off);
    inv.put_off_ms += step;
    su_timer_set_interval(timer, server_timeout_cb, arg, static_cast<su_duration_t>(step));
    return;
  }
  sbc.stop_timer(inv);
  if (inv.cancelled || nta_outgoing_status(inv.orq) >= 100) return;
  sbc.counters_.add(Counter::server_timeouts);
  sbc.abandon(inv);
  sbc.fail_over(inv, fmt::format("no answer within {} ms", sbc.config_.server_timeout_ms + inv.put_off_ms));
}

void Sbc::take_back_invites(size_t server) {
  // Only the server's 100 Trying reached us (hop by hop: the provider heard ours): nothing of
  // these calls is known beyond the SBC, so they go on to another server.
  std::vector<Invite*> pending;
  for (auto& [id, inv] : invites_)
    if (inv->orq && !inv->ringing && !inv->cancelled && inv->tried.back() == server) pending.push_back(inv.get());
  for (Invite* inv : pending) {
    abandon(*inv);
    fail_over(*inv, "the server went down while it had the call");
  }
}

void Sbc::abandon(Invite& inv) {
  // nta sends the CANCEL once the server answers at all (RFC 3261 9.1), and keeps the transaction
  // until its final answer or timer B: a 2xx that comes anyway gets ACK and BYE (abandoned_cb).
  nta_outgoing_t* orq = inv.orq;
  inv.orq = nullptr;
  nta_outgoing_bind(orq, abandoned_cb, reinterpret_cast<nta_outgoing_magic_t*>(this));
  nta_outgoing_tcancel(orq, nullptr, nullptr, TAG_END());
  abandoned_.insert(orq);
}

int Sbc::abandoned_cb(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip) {
  Sbc& sbc = *reinterpret_cast<Sbc*>(magic);
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
  if (status < 200) return 0;
  if (status < 300 && sip && !nta_sip_is_internal(sip)) {
    sbc.counters_.add(Counter::late_2xx);
    spdlog::warn("[{}] a 2xx came after the call went to another server: ACK and BYE",
                 sip->sip_call_id ? sip->sip_call_id->i_id : "-");
    nta_msg_ackbye(sbc.agent_, nta_outgoing_getresponse(orq));
  }
  sbc.abandoned_.erase(orq);
  nta_outgoing_destroy(orq);
  return 0;
}

int Sbc::invite_cancel_cb(nta_incoming_magic_t* magic, nta_incoming_t*, const sip_t* sip) {
  Invite& inv = *reinterpret_cast<Invite*>(magic);
  if (!sip || !sip->sip_request || sip->sip_request->rq_method != sip_method_cancel) return 0;
  Sbc& sbc = *inv.sbc;
  sbc.counters_.add(Counter::cancelled);
  inv.cancelled = true;
  spdlog::info("[{}] cancelled by the caller", inv.call_id);
  // The server's 487 (or whatever final answer crosses the CANCEL) goes back to the caller.
  if (inv.orq) nta_outgoing_tcancel(inv.orq, nullptr, nullptr, TAG_END());
  return 200;
}

void Sbc::relay_response(Invite& inv, nta_outgoing_t* orq) {
  msg_t* response = nta_outgoing_getresponse(orq);
  if (!response) return;
  sip_via_remove(response, sip_object(response));
  nta_incoming_mreply(inv.irq, response);
}

void Sbc::stop_timer(Invite& inv) {
  if (inv.timer) su_timer_destroy(inv.timer);
  inv.timer = nullptr;
}

void Sbc::finish(Invite& inv) {
  stop_timer(inv);
  if (inv.orq) nta_outgoing_destroy(inv.orq);
  if (inv.irq) nta_incoming_destroy(inv.irq);
  msg_destroy(inv.request);
  invites_.erase(inv.id);
}

}  // namespace tandem::control::sbc
