// The attendant's SDP: it answers a caller itself (no callee yet), so it picks
// what it can play: G.711 (PCMU or PCMA, in the caller's order of preference)
// and RFC 4733 telephone-event for the digits. After the menu, the callee is
// offered exactly what the caller agreed to, so that the caller's stream can
// go on unchanged when the relay starts carrying it to the callee.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "attendant/prompt.h"

namespace tandem::control {

struct AttendantCodecs {
  attendant::Codec codec = attendant::Codec::pcmu;
  int telephone_event_pt = -1;  // the caller's payload type for telephone-event/8000; -1: none offered
};

// From the caller's offer (an SDP that ParsedSdp accepted): false and `error`
// when its first audio stream offers neither PCMU nor PCMA.
bool choose_codecs(std::string_view offer, AttendantCodecs& out, std::string& error);

// The answer to `offer` (its first audio stream taken with `codecs` on
// ip:port, every other m= line refused with port 0, as RFC 3264 6 wants).
std::string attendant_answer(std::string_view offer, const AttendantCodecs& codecs, std::string_view ip,
                             uint16_t port, uint64_t session_id);
// An offer of just `codecs` on ip:port: to the callee after the menu.
std::string attendant_offer(const AttendantCodecs& codecs, std::string_view ip, uint16_t port, uint64_t session_id);
// Our offer to a caller whose INVITE had none (a delayed offer, answered in its
// ACK): both laws and telephone-event on ip:port.
inline constexpr int kOfferedTelephoneEvent = 101;
std::string attendant_delayed_offer(std::string_view ip, uint16_t port, uint64_t session_id);

}  // namespace tandem::control
