// The SBC's counters, as tandemctl stats shows them.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "control/counter_table.h"

namespace tandem::control::sbc {

#define TANDEM_SBC_COUNTERS(X)                                                            \
  X(invites, "new INVITEs received")                                                      \
  X(calls_answered, "calls answered by a server (2xx relayed)")                           \
  X(calls_refused_by_server, "calls a server answered with 3xx/4xx/6xx (relayed)")        \
  X(failovers, "calls sent on to the next server after a timeout, a transport error or a 503 with Retry-After") \
  X(server_timeouts, "servers that did not answer an INVITE within --server-timeout")     \
  X(server_timeouts_put_off, "--server-timeout expiries put off: datagrams waited unread in our socket") \
  X(no_server, "calls refused with 503 because no server could take them")                \
  X(refused_peer, "requests from addresses that are no provider, server or peer (403)")   \
  X(refused_rate, "INVITEs over their source's --invite-rate (503)")                      \
  X(refused_overload, "INVITEs refused (503) while datagrams waited over --shed-delay")  \
  X(refused_request, "requests refused by the RFC 3261 checks (400, 405, 416, 420, 483...)") \
  X(cancelled, "INVITEs cancelled by the caller before a final answer")                   \
  X(in_dialog, "requests within a dialog forwarded (BYE, re-INVITE, INFO...)")            \
  X(acks, "ACKs of 2xx forwarded")                                                        \
  X(no_route, "in-dialog requests without our Route or a hop beyond us (481; ACKs dropped)")  \
  X(stray_2xx, "2xx retransmissions forwarded statelessly")                              \
  X(late_2xx, "2xx from a server after its call went elsewhere: ACKed and BYEd")          \
  X(options, "OPTIONS answered by the SBC itself")                                       \
  X(probes_sent, "OPTIONS probes sent to the servers")                                   \
  X(probes_missed, "probes unanswered by the next round or answered with an error")     \
  X(probes_waited, "unanswered probes given a round more: datagrams waited unread in our socket") \
  X(stray, "stray responses dropped (not ours to forward)")

TANDEM_COUNTER_TABLE(TANDEM_SBC_COUNTERS)

// Everything runs on the SIP thread: plain integers.
class Counters {
 public:
  void add(Counter c, uint64_t n = 1) { v_[static_cast<size_t>(c)] += n; }
  uint64_t get(Counter c) const { return v_[static_cast<size_t>(c)]; }

 private:
  std::array<uint64_t, static_cast<size_t>(Counter::count)> v_{};
};

}  // namespace tandem::control::sbc
