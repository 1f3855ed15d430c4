// The attendant's media: one thread that plays prompts to many callers and
// listens for their digits. Per caller an oRTP RtpSession (its sockets, SSRC,
// sequence numbers, RTP header and RTCP sender reports) bound on the address
// the dataplane relays the caller's media to; the thread sends each playing
// caller a 20 ms G.711 frame on an absolute 1 ms tick schedule (CLOCK_MONOTONIC
// timerfd, so no drift), reads the caller's RTP from the session's socket
// (RFC 4733 digits to a TelephoneEventDetector, RTP from any other source than
// the caller's ignored and counted), stops the prompt at the first digit
// (barge-in) and reports digits and finished prompts through a queue whose
// eventfd the call server's loop can wait on.
//
// Every method is thread-safe; none touches oRTP outside the media thread.
// Memory per caller is fixed: the session, the caller's state and the socket
// buffers; prompts are shared (attendant/prompt.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "attendant/prompt.h"

namespace tandem::attendant {

using CallerId = uint64_t;

struct Endpoint {
  std::string ip;     // an IPv4 or IPv6 literal
  uint16_t port = 0;  // local: 0 lets oRTP choose a free port (RTCP binds PORT+1 otherwise)
};

struct CallerMedia {
  Endpoint local;   // where the caller's RTP arrives
  Endpoint remote;  // where the prompt goes (RTCP to PORT+1), and the only source whose RTP is read
  Codec codec = Codec::pcmu;
  uint8_t telephone_event_pt = 101;  // as negotiated in the SDP
};

struct OpenResult {
  CallerId id = 0;  // 0 on error
  uint16_t local_port = 0;
  std::string error;
};

enum class EventKind : uint8_t {
  digit,            // a key: RFC 4733 on the caller's RTP
  prompt_finished,  // the whole prompt was sent: the call server starts its first-digit timer
};

struct Event {
  CallerId caller = 0;
  EventKind kind = EventKind::digit;
  char digit = 0;         // with EventKind::digit
  bool barge_in = false;  // the digit stopped a prompt that was playing
};

struct EngineStats {
  uint64_t callers = 0;
  uint64_t frames_sent = 0;
  uint64_t send_errors = 0;
  uint64_t prompts_finished = 0;
  uint64_t barge_ins = 0;
  uint64_t digits = 0;
  uint64_t dtmf_repeats = 0;        // repeated and retransmitted packets of an event already reported
  uint64_t dtmf_stale = 0;          // packets of an event older than the last
  uint64_t dtmf_bad_length = 0;
  uint64_t dtmf_unknown_event = 0;
  uint64_t foreign_source = 0;      // RTP from an address other than the caller's
  uint64_t not_rtp = 0;             // datagrams that are not RTP version 2
  uint64_t other_payload = 0;       // the caller's audio, comfort noise: read and dropped
  uint64_t rtcp_dropped = 0;        // the caller's RTCP: read so that it does not queue, not used
  uint64_t ticks_skipped = 0;       // ticks given up after a stall longer than the catch-up window
  uint64_t events_dropped = 0;      // the event queue was full (nobody reads it)
  uint64_t pacing_p50_us = 0;       // how late frames left against their deadline
  uint64_t pacing_p99_us = 0;
  uint64_t pacing_max_us = 0;       // the upper edge of the latest bucket with a frame in it
  uint64_t thread_cpu_ns = 0;       // the media thread's CPU time
  bool realtime = false;            // the media thread runs SCHED_FIFO
};

struct EngineOptions {
  // Not 0: the media thread asks for SCHED_FIFO at this priority (1-99), so
  // that compilers and batch jobs on the same cores do not delay the frames;
  // EngineStats::realtime says whether it got it (needs CAP_SYS_NICE).
  int realtime_priority = 0;
};

class PromptEngine {
 public:
  explicit PromptEngine(const EngineOptions& options = {});  // starts the media thread
  ~PromptEngine();  // stops it; every caller's session is closed
  PromptEngine(const PromptEngine&) = delete;
  PromptEngine& operator=(const PromptEngine&) = delete;

  // Binds the caller's session (waits for the media thread, well under a tick):
  // the port goes in the SDP answer.
  OpenResult open(const CallerMedia& media);
  // Plays the prompt from its start, marker bit on its first packet; replaces one playing.
  void play(CallerId caller, std::shared_ptr<const Prompt> prompt);
  // Stops the prompt; the caller's digits are still read.
  void stop(CallerId caller);
  // Closes the caller's session: nothing more is sent or read, mid-prompt or not.
  void close(CallerId caller);

  std::optional<Event> next_event();
  // Readable while next_event() has something (for the call server's poll loop).
  int event_fd() const;
  EngineStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::attendant
