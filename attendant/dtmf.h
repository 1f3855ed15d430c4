// The caller's digits, the three ways they arrive: RFC 4733 telephone-event
// RTP packets (a detector per stream), and SIP INFO bodies of type
// application/dtmf-relay and application/dtmf (parsers). Pure: no sockets, no
// clock; what is malformed is counted or refused, never trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace tandem::attendant {

// RFC 4733 section 3.2's events 0-15 as the keys they stand for: '0'-'9', '*', '#', 'A'-'D'.
std::optional<char> dtmf_event_digit(uint8_t event);

// What a telephone-event packet was; the engine counts each outcome.
enum class DtmfOutcome : uint8_t {
  digit,          // a new event: its key is reported, once
  repeat,         // the same event again: its updates and retransmitted end packets
  stale,          // an event older than the last one (reordered, or a late retransmission)
  bad_length,     // a payload that is not whole 4-byte event blocks
  unknown_event,  // events 16-255 (tones, line events): not keys
};
inline constexpr size_t kDtmfOutcomes = 5;

struct DtmfResult {
  DtmfOutcome outcome = DtmfOutcome::repeat;
  char digit = 0;  // with DtmfOutcome::digit
};

// One per RTP stream. An event is identified by its RTP timestamp (RFC 4733
// 2.5.1: every packet of one event carries the timestamp of its start), so it
// is reported once, on its first packet (barge-in as soon as the key goes
// down), however many updates and end packets follow. A newer timestamp is a
// new event and ends the previous one, whose end packets may all have been lost.
class TelephoneEventDetector {
 public:
  // The payload of a packet of the negotiated telephone-event type and its RTP timestamp.
  DtmfResult on_packet(uint32_t rtp_timestamp, std::span<const uint8_t> payload);

 private:
  bool seen_ = false;
  uint32_t last_timestamp_ = 0;
};

// "Signal=5\r\nDuration=160" (application/dtmf-relay; also "Signal= #",
// lower-case keys, LF line ends). The key, or nothing if there is no valid Signal line.
std::optional<char> parse_dtmf_relay(std::string_view body);
// "5" (application/dtmf), surrounding white space allowed.
std::optional<char> parse_dtmf(std::string_view body);

}  // namespace tandem::attendant
