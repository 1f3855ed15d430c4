// Sbc: OPTIONS to every server every --probe-interval. One probe per server
// in flight: one still unanswered when the next round starts is missed, or
// when datagrams wait unread in our socket (we are behind), when the round
// after starts. A
// good answer (2xx) brings the server's load (X-Tandem-Load) and whether it
// drains (X-Tandem-State), and marks it up; --probe-misses missed or failed
// probes in a row mark it down. Probes are transactions like any other on
// the SIP thread: they never wait, and calls never wait for them.
#include "control/sbc/sbc.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include <fmt/format.h>

#include <chrono>

#include "control/sip/load_header.h"

namespace tandem::control::sbc {

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

const char* header(const sip_t* sip, std::string_view name) {
  for (const sip_unknown_t* u = sip->sip_unknown; u; u = u->un_next)
    if (u->un_name && u->un_value && name.size() == std::strlen(u->un_name) &&
        strncasecmp(u->un_name, name.data(), name.size()) == 0)
      return u->un_value;
  return nullptr;
}

}  // namespace

void Sbc::probe_round_cb(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  reinterpret_cast<Sbc*>(arg)->probe_round();
}

void Sbc::probe_round() {
  const int64_t now = now_ms();
  next_probe_ms_ = now + config_.probe_interval_ms;
  rate_.forget_idle(now);
  const std::string from = fmt::format("<{}>;tag=probe", sip_url(config_.sip));
  for (Probe& p : probes_) {
    const ServerSpec& spec = config_.servers[p.server];
    if (p.orq && !p.waited && behind()) {
      // Its answer may wait unread among our datagrams: one round more before it counts as missed.
      p.waited = true;
      counters_.add(Counter::probes_waited);
      continue;
    }
    p.waited = false;
    if (p.orq) {
      nta_outgoing_destroy(p.orq);
      p.orq = nullptr;
      note_probe_missed(p.server, "no answer");
    }
    const std::string url = spec.url();
    const std::string call_id = fmt::format("probe-{}-{}@{}", p.server, ++probe_serial_, config_.sip.address);
    p.sent_ms = now;
    dispatcher_.probe_sent(p.server, p.sent_mark);
    p.orq = nta_outgoing_tcreate(leg_, probe_response_cb, reinterpret_cast<nta_outgoing_magic_t*>(&p),
                                 URL_STRING_MAKE(url.c_str()), SIP_METHOD_OPTIONS, URL_STRING_MAKE(url.c_str()),
                                 SIPTAG_FROM_STR(from.c_str()), SIPTAG_TO_STR(url.c_str()),
                                 SIPTAG_CALL_ID_STR(call_id.c_str()), SIPTAG_CSEQ_STR("1 OPTIONS"),
                                 SIPTAG_MAX_FORWARDS_STR("70"), SIPTAG_ACCEPT_STR("application/sdp"), TAG_END());
    counters_.add(Counter::probes_sent);
  }
}

int Sbc::probe_response_cb(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip) {
  Probe& p = *reinterpret_cast<Probe*>(magic);
  p.sbc->on_probe_response(p, orq, sip);
  return 0;
}

void Sbc::on_probe_response(Probe& p, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
  if (status < 200) return;
  nta_outgoing_destroy(p.orq);
  p.orq = nullptr;
  if (status >= 300 || !sip || nta_sip_is_internal(sip)) {
    note_probe_missed(p.server, fmt::format("{} {}", status, sip_status_phrase(status) ? sip_status_phrase(status) : ""));
    return;
  }
  const ServerStatus& s = dispatcher_.servers()[p.server];
  const State before = s.state(config_.probe_misses);
  Load load;
  if (const char* value = header(sip, kLoadHeader))
    if (auto parsed = parse_load(value)) load = *parsed;
  const char* state = header(sip, kStateHeader);
  const bool draining = state && strcasecmp(state, std::string(kDraining).c_str()) == 0;
  dispatcher_.probe_answered(p.server, load.calls, load.capacity, draining, static_cast<double>(now_ms() - p.sent_ms),
                             p.sent_mark);
  if (const State after = s.state(config_.probe_misses); after != before)
    spdlog::info("server {}: {} -> {} (load {}/{})", s.spec.name, name(before), name(after), load.calls, load.capacity);
}

void Sbc::note_probe_missed(size_t server, const std::string& why) {
  counters_.add(Counter::probes_missed);
  const ServerStatus& s = dispatcher_.servers()[server];
  const State before = s.state(config_.probe_misses);
  dispatcher_.probe_missed(server);
  const State after = s.state(config_.probe_misses);
  if (after == before) return;
  spdlog::warn("server {}: {} -> {} ({} probes missed, last: {})", s.spec.name, name(before), name(after), s.missed,
               why);
  if (after == State::down) take_back_invites(server);
}

}  // namespace tandem::control::sbc
