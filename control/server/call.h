// One call through the B2BUA: the caller's side (A, whose INVITE we answer)
// and the callee's side (B, which we invite, target after target), the media
// session anchoring both, and what its CDR will say. Owned by the CallServer
// and touched only on its SIP thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#include "cdr/record.h"
#include "control/server/media.h"
#include "control/server/menu_call.h"
#include "control/server/routing.h"
#include "rules/snapshot.h"

namespace tandem::control {

#define TANDEM_CALL_STATES(X) X(routing) X(calling) X(ringing) X(answered) X(ended)
#define TANDEM_ENUM_ITEM(name) name,
enum class CallState : uint8_t { TANDEM_CALL_STATES(TANDEM_ENUM_ITEM) };
#undef TANDEM_ENUM_ITEM
std::string_view name(CallState s);

// Side indexes: also the dataplane leg that faces that side.
inline constexpr int kA = 0;
inline constexpr int kB = 1;

// A request relayed from one side to the other, waiting for its answer.
struct Relayed {
  nta_incoming_t* in = nullptr;   // on the side that sent it
  nta_outgoing_t* out = nullptr;  // on the other side
  int from = kA;
  bool is_invite = false;
  std::string sdp;                // as relayed: an INVITE's offer, which the 2xx must answer; none: the 2xx brings the offer
  // The sender's remote before its offer changed it: the session stays as it was when the offer
  // is refused (RFC 3264 section 8).
  std::optional<MediaEndpoint> prior;
};

class CallServer;

struct Call {
  CallServer* server = nullptr;
  uint64_t serial = 0;              // ours, for tandemctl call
  std::string call_id;              // the caller's Call-ID (logs, CDR)
  std::string call_id_b;            // the current callee leg's
  std::shared_ptr<const rules::Snapshot> rules;  // the snapshot the call started with
  Plan plan;
  size_t target = 0;                // plan.targets index being tried
  CallState state = CallState::routing;
  bool tcp_a = false;               // the caller reached us over TCP

  int64_t start_ms = 0, answer_ms = 0, end_ms = 0;
  uint64_t cdr_id = 0;              // given at the answer, when the writer journals the call as open
  int64_t expires_at_ms = 0;        // the caller's INVITE Expires (0: none)

  // Side A: the dialog we answer. invite_a until our final answer.
  nta_leg_t* leg_a = nullptr;
  nta_incoming_t* invite_a = nullptr;
  // Side B: the dialog we create per target. invite_b until its final answer.
  nta_leg_t* leg_b = nullptr;
  nta_outgoing_t* invite_b = nullptr;
  // What B's INVITE repeats of A's. privacy: the Privacy header's values (RFC 3323), as
  // "id;user"; "id" keeps the P-Asserted-Identity inside the trust domain (RFC 3325).
  std::string from_user, from_display, to_uri, pai, privacy;
  // The current target's provider counts this call (released once: it failed, or the call ended).
  bool provider_counted = false;
  uint32_t max_forwards = 70;
  std::string offer_to_b;           // our SDP offer to the targets (relay side B)

  su_timer_t* setup_timer = nullptr;  // the target said nothing
  su_timer_t* ring_timer = nullptr;   // the target rang too long
  su_timer_t* max_timer = nullptr;    // --max-call
  su_timer_t* expires_timer = nullptr;  // the caller's Expires ran out before a final answer

  MediaAnchor media;
  std::unique_ptr<MenuCall> menu;   // the attendant answered the caller (A is up before any target)
  bool b_up = false;                // the callee answered: B's dialog gets a BYE at the end
  Side side_of[2] = {Side::external, Side::internal};
  std::array<cdr::LegQuality, 2> quality{};

  std::vector<Relayed> relayed;     // in-dialog requests in flight

  // The ACK of a 2xx to an INVITE we sent to that side. When the INVITE had no
  // offer (delayed offer), the 2xx brings one and the ACK must carry the
  // answer, which the other side's ACK brings: it waits for it.
  struct Ack {
    uint32_t cseq = 0;
    bool waits = false;
    std::string sdp;                // the answer it carried (again for a retransmitted 2xx)
    std::string offer;              // the 2xx's offer as relayed to the other side: the answer must match it
  };
  std::array<Ack, 2> ack;
  // The INVITE transaction of that side that we answered 2xx, kept for its ACK
  // (nta gives the ACK of a 2xx to the transaction, not to the dialog, and
  // tells the transaction when timer H fired without one).
  std::array<nta_incoming_t*, 2> ack_irq{};

  // The outcome, for the CDR.
  cdr::Disposition disposition = cdr::Disposition::failed;
  uint16_t final_code = 0;
  cdr::HangupSide hangup_side = cdr::HangupSide::system;
  std::string hangup_reason;
  int last_target_code = 0;         // the last target's final answer
};

}  // namespace tandem::control
