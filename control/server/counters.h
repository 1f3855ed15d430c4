// The call server's counters, as tandemctl stats shows them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "control/counter_table.h"

namespace tandem::control {

#define TANDEM_SERVER_COUNTERS(X)                                                   \
  X(invites, "new INVITEs received")                                                \
  X(options, "OPTIONS answered")                                                    \
  X(refused_peer, "requests from hosts that are no configured peer (403)")          \
  X(refused_capacity, "calls refused at capacity (503)")                            \
  X(refused_request, "requests refused by the RFC 3261 checks (400, 405, 420...)")  \
  X(refused_loop, "requests that looped back to us (482)")                          \
  X(refused_sdp, "INVITEs whose SDP cannot be anchored (488)")                      \
  X(refused_by_rules, "calls the rules refused or could not route")                 \
  X(calls_answered, "calls answered")                                               \
  X(calls_ended, "calls ended (any outcome)")                                        \
  X(cancelled, "calls cancelled by the caller")                                     \
  X(expired, "INVITEs whose Expires ran out before a final answer (487)")            \
  X(busy, "calls ended busy")                                                       \
  X(no_answer, "callees cancelled after ringing too long")                          \
  X(failed, "calls that failed at every target")                                    \
  X(failovers, "next target tried after a failure or timeout")                      \
  X(reinvites, "re-INVITEs relayed")                                                \
  X(media_errors, "dataplane requests that failed")                                 \
  X(media_timeouts, "calls ended by the dataplane's media timeout")                 \
  X(max_duration, "calls ended at --max-call")                                      \
  X(no_ack, "calls ended because a 2xx got no ACK within 64*T1 (RFC 3261 13.3.1.4)") \
  X(menu_calls, "calls answered by the attendant")                                   \
  X(menu_digits, "digits keyed in menus (RFC 4733 and SIP INFO)")                    \
  X(menu_retries, "menu prompts played again after a timeout or an invalid entry")  \
  X(menu_timeouts, "menu entries that timed out")                                    \
  X(menu_invalid, "menu entries that are no option")                                \
  X(menu_transfers, "calls sent from a menu to a target")                            \
  X(menu_prompt_errors, "menu prompts that could not be read (timeout action taken)") \
  X(menu_bad_info, "SIP INFO in a menu without a digit we can read")                 \
  X(cdr_errors, "CDRs the writer refused")                                          \
  X(stray, "stray messages (responses to no transaction of ours)")

TANDEM_COUNTER_TABLE(TANDEM_SERVER_COUNTERS)

// Written by the SIP thread, read by the control socket's.
class Counters {
 public:
  void add(Counter c, uint64_t n = 1) { v_[static_cast<size_t>(c)].fetch_add(n, std::memory_order_relaxed); }
  uint64_t get(Counter c) const { return v_[static_cast<size_t>(c)].load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Counter::count)> v_{};
};

}  // namespace tandem::control
