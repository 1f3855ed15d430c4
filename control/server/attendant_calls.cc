// CallServer: the automated attendant. A menu call is answered here: its media
// session's callee leg is this node (proto::kModeNode), so the caller's RTP
// reaches the prompt engine, bound on the caller's relay address and port,
// through the dataplane's exception port, and the prompt leaves the same way;
// the caller sees only the relay. Digits come from the engine (RFC 4733) or
// in SIP INFO; an entry decided acts: another menu, the prompt again, hang up,
// or a transfer. A transfer keeps the caller's dialog and relay port: the
// attendant's session is deleted and the callee's created on that port once the
// dataplane released it, and the targets are invited as for any call (ring
// plans, provider failover), offered the codec the caller agreed to.
#include "control/server/call_server.h"

#include <spdlog/spdlog.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include <fmt/format.h>

#include "attendant/dtmf.h"
#include "control/server/call_server_internal.h"
#include "control/server/su_home.h"
#include "control/sip/sip_checks.h"
#include "dataplane_protocol/address.h"

namespace tandem::control {

using namespace internal;

namespace {

// Menus that lead to menus without end (a loop in the rules, or a prompt that
// cannot be read whose timeout action is "repeat") end the call after this many.
constexpr uint32_t kMaxMenuSteps = 32;
// No telephone-event offered: no RTP packet has this payload type (7 bits), so
// every digit must come by SIP INFO.
constexpr uint8_t kNoTelephoneEvent = 0xff;

}  // namespace

void CallServer::watch_attendant() {
  su_wait_create(attendant_wait_, attendant_.event_fd(), SU_WAIT_IN);
  su_root_register(root_, attendant_wait_, attendant_event_cb, reinterpret_cast<su_wakeup_arg_t*>(this), 0);
}

int CallServer::attendant_event_cb(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t* self) {
  auto* server = reinterpret_cast<CallServer*>(self);
  while (auto e = server->attendant_.next_event()) {
    auto it = server->by_caller_.find(e->caller);
    if (it == server->by_caller_.end()) continue;  // the call ended, or left the menus, meanwhile
    Call& call = *it->second;
    if (e->kind == attendant::EventKind::prompt_finished) {
      server->prompt_finished(call);
    } else {
      if (e->barge_in) call.menu->playing = false;
      server->on_digit(call, e->digit);
    }
  }
  return 0;
}

void CallServer::answer_menu(Call& call, const sip_t* sip) {
  SuHome home = new_su_home();
  std::string error;
  const std::string body = sdp_body(home.get(), sip, error);
  auto menu = std::make_unique<MenuCall>();
  std::unique_ptr<ParsedSdp> offer;
  // No SDP at all: a delayed offer. Ours goes in the 200, the caller's answer comes in its ACK.
  menu->awaits_answer = body.empty() && error.empty();
  if (!menu->awaits_answer &&
      (!error.empty() || !(offer = ParsedSdp::parse(body, error)) || !choose_codecs(body, menu->codecs, error)))
    return refuse_call(call, Counter::refused_sdp, 488, "Not Acceptable Here", error, warn_code(error));
  if (offer) menu->caller_media = offer->endpoint();

  // The callee leg is this node: the relay hands the caller's media to the kernel, where the engine listens.
  const Media::CreateOptions node{.caller_port = 0, .callee_is_node = true};
  const bool created = media_.create(menu->caller_media, call.side_of[kA], call.side_of[kA], call.media, error, node);
  take_media_outcomes();
  if (!created) return refuse_unavailable(call, Counter::media_errors, "media relay: " + error);
  by_media_session_[call.media.session] = &call;
  const std::string& relay_ip = call.media.local_ip[kA];
  const uint16_t relay_port = call.media.local_port[kA];
  menu->answer_sdp = menu->awaits_answer ? attendant_delayed_offer(relay_ip, relay_port, call.serial)
                                         : attendant_answer(body, menu->codecs, relay_ip, relay_port, call.serial);
  call.menu = std::move(menu);
  if (!call.menu->awaits_answer && !open_attendant(call)) return;

  call.expires_at_ms = 0;  // answered at once: the caller's Expires is met
  call.state = CallState::answered;
  call.answer_ms = now_ms();
  call.disposition = cdr::Disposition::answered;
  call.target = 0;
  open_record(call);
  counters_.add(Counter::calls_answered);
  counters_.add(Counter::menu_calls);
  reply_a(call, 200, "OK", call.menu->answer_sdp);
  start_timer(call, call.max_timer, uint64_t{config_.max_call_s} * 1000, max_timeout);
  if (!call.menu->awaits_answer) play_menu(call, call.plan.menu_id, false);
}

bool CallServer::open_attendant(Call& call) {
  MenuCall& m = *call.menu;
  attendant::CallerMedia media;
  media.local = {call.media.local_ip[kA], call.media.local_port[kA]};
  media.remote = {dp::proto::format_ipv4(m.caller_media.ip), m.caller_media.rtp_port};
  media.codec = m.codecs.codec;
  media.telephone_event_pt =
      m.codecs.telephone_event_pt >= 0 ? static_cast<uint8_t>(m.codecs.telephone_event_pt) : kNoTelephoneEvent;
  const attendant::OpenResult opened = attendant_.open(media);
  if (!opened.id) {
    const std::string why = "attendant: " + opened.error;
    if (call.state == CallState::answered) {
      counters_.add(Counter::media_errors);
      hang_up(call, cdr::HangupSide::system, why, -1);
    } else {
      refuse_unavailable(call, Counter::media_errors, why);
    }
    return false;
  }
  m.caller = opened.id;
  by_caller_[opened.id] = &call;
  return true;
}

void CallServer::menu_answer_in_ack(Call& call, const sip_t* ack) {
  MenuCall& m = *call.menu;
  m.awaits_answer = false;
  SuHome home = new_su_home();
  std::string error;
  const std::string body = sdp_body(home.get(), ack, error);
  std::unique_ptr<ParsedSdp> answer;
  if (body.empty() && error.empty()) error = "no SDP answer in the ACK";
  if (!error.empty() || !(answer = ParsedSdp::parse(body, error)) || !choose_codecs(body, m.codecs, error)) {
    counters_.add(Counter::refused_sdp);
    spdlog::warn("[{}] the ACK carries no answer the attendant can use: {}", call.call_id, error);
    return hang_up(call, cdr::HangupSide::system, "no usable SDP answer in the ACK", -1);
  }
  // Our offer had telephone-event at one payload type: an answer must keep it (RFC 3264 6.1).
  if (m.codecs.telephone_event_pt != kOfferedTelephoneEvent) m.codecs.telephone_event_pt = -1;
  m.caller_media = answer->endpoint();
  if (!media_.update(call.media.session, kA, m.caller_media, error)) {
    counters_.add(Counter::media_errors);
    return hang_up(call, cdr::HangupSide::system, "media relay: " + error, -1);
  }
  flush_media();
  if (open_attendant(call)) play_menu(call, call.plan.menu_id, false);
}

void CallServer::play_menu(Call& call, rules::Id menu_id, bool again) {
  MenuCall& m = *call.menu;
  stop_timer(m.digit_timer);
  const rules::Menu* menu = call.rules->menu(menu_id);
  if (!menu) return hang_up(call, cdr::HangupSide::system, fmt::format("menu {} does not exist", menu_id), -1);
  if (++m.steps > kMaxMenuSteps)
    return hang_up(call, cdr::HangupSide::system, fmt::format("more than {} menus played", kMaxMenuSteps), -1);
  if (!again) m.retry = 0;
  m.menu = menu;
  m.entry.emplace(*menu);
  m.keys.clear();
  attendant::PromptResult prompt = prompts_.get(menu->prompt);
  if (!prompt.prompt) {
    // Never silence for ever: what the menu does when nobody keys anything.
    counters_.add(Counter::menu_prompt_errors);
    spdlog::error("[{}] menu {} ({}): cannot play the prompt: {}; its timeout action follows", call.call_id, menu->id,
                  menu->name, prompt.error);
    m.path += fmt::format("{}:prompt-error ", menu->id);
    return menu_action(call, menu->timeout_action);
  }
  spdlog::info("[{}] menu {} ({}){}", call.call_id, menu->id, menu->name, again ? fmt::format(", again ({})", m.retry) : "");
  m.playing = true;
  attendant_.play(m.caller, std::move(prompt.prompt));
}

void CallServer::prompt_finished(Call& call) {
  MenuCall& m = *call.menu;
  m.playing = false;
  // The caller keys on from the prompt's end; an entry already begun has its inter-digit timer.
  if (m.entry && m.keys.empty())
    start_timer(call, m.digit_timer, uint64_t{m.menu->timeout_s} * 1000, digit_timeout);
}

void CallServer::digit_timeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* c) {
  Call& call = call_of(c);
  MenuCall& m = *call.menu;
  call.server->stop_timer(m.digit_timer);
  if (!m.entry) return;
  if (m.keys.empty()) return call.server->entry_decided(call, rules::MenuOutcome::timeout);
  const bool option = m.entry->ended() == rules::EntryMatch::option;
  call.server->entry_decided(call, option ? rules::MenuOutcome::option : rules::MenuOutcome::invalid);
}

void CallServer::on_digit(Call& call, char digit) {
  MenuCall& m = *call.menu;
  if (!m.entry || m.transferred) return;  // keyed after the entry was decided
  counters_.add(Counter::menu_digits);
  if (m.playing) {  // barge-in for an INFO digit; the engine stopped the prompt itself for an RFC 4733 one
    attendant_.stop(m.caller);
    m.playing = false;
  }
  stop_timer(m.digit_timer);
  m.keys += digit;
  switch (m.entry->key(digit)) {
    case rules::EntryMatch::more:
      start_timer(call, m.digit_timer, uint64_t{m.menu->inter_digit_timeout_s} * 1000, digit_timeout);
      return;
    case rules::EntryMatch::option: return entry_decided(call, rules::MenuOutcome::option);
    case rules::EntryMatch::invalid: return entry_decided(call, rules::MenuOutcome::invalid);
  }
}

void CallServer::entry_decided(Call& call, rules::MenuOutcome outcome) {
  MenuCall& m = *call.menu;
  const rules::Menu& menu = *m.menu;
  const std::string digits = m.keys;
  const rules::MenuOption* option = m.entry->option();
  m.entry.reset();
  m.path += fmt::format("{}:{} ", menu.id, outcome == rules::MenuOutcome::timeout ? "timeout" : digits);
  spdlog::info("[{}] menu {}: {} {}", call.call_id, menu.id, rules::name(outcome), digits);
  if (outcome == rules::MenuOutcome::option) return menu_action(call, option->action);
  counters_.add(outcome == rules::MenuOutcome::timeout ? Counter::menu_timeouts : Counter::menu_invalid);
  if (m.retry < menu.retries) {
    ++m.retry;
    counters_.add(Counter::menu_retries);
    return play_menu(call, menu.id, true);
  }
  menu_action(call, outcome == rules::MenuOutcome::timeout ? menu.timeout_action : menu.invalid_action);
}

void CallServer::menu_action(Call& call, const rules::Action& action) {
  switch (action.kind) {
    case rules::ActionKind::menu: return play_menu(call, action.menu_id, false);
    case rules::ActionKind::repeat: return play_menu(call, call.menu->menu->id, false);
    case rules::ActionKind::hangup:
      return hang_up(call, cdr::HangupSide::system, fmt::format("menu {}: hang up", call.menu->menu->id), -1);
    case rules::ActionKind::reject:
      return hang_up(call, cdr::HangupSide::system, fmt::format("menu {}: reject", call.menu->menu->id), -1);
    default: return transfer(call, action);
  }
}

void CallServer::transfer(Call& call, const rules::Action& action) {
  MenuCall& m = *call.menu;
  const rules::Customer* customer = call.rules->customer(m.menu->customer_id);
  if (!customer) return hang_up(call, cdr::HangupSide::system, "the menu's customer does not exist", -1);
  Plan base;
  base.direction = call.plan.direction;
  base.caller = call.plan.caller;
  base.called = call.plan.called;
  base.customer = call.plan.customer;
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  Plan next = plan_action(*call.rules, *customer, action, fmt::format("menu {} ({})", m.menu->id, m.menu->name), now,
                          this, std::move(base));
  spdlog::info("[{}] {}", call.call_id, next.why);
  if (next.targets.empty()) return hang_up(call, cdr::HangupSide::system, next.why, -1);
  counters_.add(Counter::menu_transfers);
  call.plan = std::move(next);
  call.target = 0;
  call.side_of[kB] = call.plan.targets.front().provider.empty() ? Side::internal : Side::external;
  close_menu(call);
  m.transferred = true;

  // The caller's relay address and port go to the callee's session once the dataplane released them.
  proto::parse_ipv4(call.media.local_ip[kA], m.caller_ip);
  m.caller_port = call.media.local_port[kA];
  m.moving_session = call.media.session;
  by_media_session_.erase(call.media.session);
  moving_media_[call.media.session] = call.serial;
  media_.finish(call.media.session);
  call.media.session = 0;
  flush_media();
}

void CallServer::menu_media_moved(Call& call, const std::array<cdr::LegQuality, 2>& menu_quality) {
  MenuCall& m = *call.menu;
  m.moving_session = 0;
  m.menu_quality = menu_quality;
  std::string error;
  const Media::CreateOptions keep{.caller_ip = m.caller_ip, .caller_port = m.caller_port, .callee_is_node = false};
  const bool created = media_.create(m.caller_media, call.side_of[kA], call.side_of[kB], call.media, error, keep);
  take_media_outcomes();
  if (!created) {
    counters_.add(Counter::media_errors);
    return hang_up(call, cdr::HangupSide::system, "media relay: " + error, -1);
  }
  by_media_session_[call.media.session] = &call;
  call.offer_to_b = attendant_offer(m.codecs, call.media.local_ip[kB], call.media.local_port[kB], call.serial);
  send_invite(call);
}

void CallServer::on_menu_request(Call& call, nta_incoming_t* irq, const sip_t* sip) {
  auto reply = [&](int status, const char* phrase, tag_type_t tag = tag_skip, tag_value_t value = 0) {
    nta_incoming_treply(irq, status, phrase, tag, value, TAG_END());
    nta_incoming_destroy(irq);
  };
  switch (sip->sip_request->rq_method) {
    case sip_method_info: {
      const std::string_view body = sip->sip_payload ? std::string_view(sip->sip_payload->pl_data, sip->sip_payload->pl_len)
                                                     : std::string_view();
      std::optional<char> digit;
      if (content_type_is(sip->sip_content_type, "application/dtmf-relay")) {
        digit = attendant::parse_dtmf_relay(body);
      } else if (content_type_is(sip->sip_content_type, "application/dtmf")) {
        digit = attendant::parse_dtmf(body);
      } else {
        counters_.add(Counter::menu_bad_info);
        return reply(415, "Unsupported Media Type", SIPTAG_ACCEPT_STR("application/dtmf-relay, application/dtmf"));
      }
      if (!digit) {
        counters_.add(Counter::menu_bad_info);
        return reply(400, "No Digit In The Body");
      }
      reply(200, "OK");
      return on_digit(call, *digit);
    }
    case sip_method_invite: {
      // A session refresh or a hold while in the menus: the attendant's media stays as it is, in the
      // codec it plays; an offer without it is refused.
      SuHome home = new_su_home();
      std::string error;
      const std::string body = sdp_body(home.get(), sip, error);
      AttendantCodecs codecs;
      if (!body.empty() && !(choose_codecs(body, codecs, error) && codecs.codec == call.menu->codecs.codec)) {
        counters_.add(Counter::refused_sdp);
        return reply(488, "Not Acceptable Here");
      }
      const std::string sdp = body.empty() ? call.menu->answer_sdp
                                           : attendant_answer(body, call.menu->codecs, call.media.local_ip[kA],
                                                              call.media.local_port[kA], call.serial);
      nta_incoming_treply(irq, SIP_200_OK, SIPTAG_CONTACT_STR(contact_for(call, kA)),
                          SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp.c_str()), TAG_END());
      return release_answered(call, kA, irq, true);
    }
    case sip_method_options: return reply(200, "OK", SIPTAG_ALLOW_STR(std::string(kAllow).c_str()));
    default: return reply(405, "Method Not Allowed", SIPTAG_ALLOW_STR(std::string(kAllow).c_str()));
  }
}

void CallServer::close_menu(Call& call) {
  if (!call.menu) return;
  MenuCall& m = *call.menu;
  stop_timer(m.digit_timer);
  m.entry.reset();
  if (!m.caller) return;
  attendant_.close(m.caller);
  by_caller_.erase(m.caller);
  m.caller = 0;
}

}  // namespace tandem::control
