// A call that the attendant answered: the menu it is in, the entry being
// keyed, the path it took (for the CDR), and, once an entry chose a target,
// the caller's relay port moving from the attendant's media session to the
// callee's. Part of a Call; touched only on the SIP thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <sofia-sip/su_wait.h>

#include "attendant/prompt_engine.h"
#include "cdr/record.h"
#include "control/server/attendant_sdp.h"
#include "control/server/sdp_rewrite.h"
#include "rules/menu.h"

namespace tandem::control {

struct MenuCall {
  AttendantCodecs codecs;
  MediaEndpoint caller_media;               // from the caller's offer
  std::string answer_sdp;                   // ours: the answer, or the offer of a delayed-offer call
  bool awaits_answer = false;               // a delayed offer: the caller's ACK brings the answer
  attendant::CallerId caller = 0;           // the engine's session; 0: closed
  const rules::Menu* menu = nullptr;        // in the call's rules snapshot
  std::optional<rules::Entry> entry;        // the entry being keyed in `menu`
  std::string keys;                         // as keyed for it, '#' included: the CDR's entry
  uint8_t retry = 0;                        // prompts again after a timeout or invalid entry
  uint32_t steps = 0;                       // menus played, bounded: a loop of menus ends
  bool playing = false;                     // the prompt is being sent (an INFO digit stops it)
  su_timer_t* digit_timer = nullptr;        // the first-digit or the inter-digit timeout
  std::string path;                         // "MENU:ENTRY ..." as the CDR keeps it
  bool transferred = false;                 // an entry chose a target: the menus are over
  uint64_t moving_session = 0;              // the attendant's session, being deleted
  uint32_t caller_ip = 0;                   // the caller's relay address (network order) and port,
  uint16_t caller_port = 0;                 // kept for the callee's session
  std::array<cdr::LegQuality, 2> menu_quality{};  // the attendant's session's counters
};

}  // namespace tandem::control
