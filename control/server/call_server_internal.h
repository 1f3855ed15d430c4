// Small helpers that the files of CallServer's implementation share; not for
// use outside them.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "control/server/call.h"

namespace tandem::control::internal {

inline int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline Call& call_of(void* magic) { return *static_cast<Call*>(magic); }

inline nta_leg_t* leg_of(const Call& call, int side) { return side == kA ? call.leg_a : call.leg_b; }

inline int status_of(nta_outgoing_t* orq, const sip_t* sip) {
  return sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
}

inline const char* phrase_of(const sip_t* sip, const char* fallback) {
  return sip && sip->sip_status && sip->sip_status->st_phrase ? sip->sip_status->st_phrase : fallback;
}

inline bool has_body(const sip_t* sip) { return sip->sip_payload && sip->sip_payload->pl_len > 0; }

}  // namespace tandem::control::internal
