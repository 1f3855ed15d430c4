// Media anchoring in SDP: a B2BUA passes each side's offer and answer on with
// the relay's address in place of the author's, so that media flows through
// the dataplane and never directly between the two sides.
//
// Parsed with sofia-sip's SDP parser and printed back with its printer (the
// lines it knows are reprinted in RFC 4566 order; unknown attributes are kept).
// The first audio stream is anchored; every other stream is refused (port 0),
// which the answerer mirrors. ICE attributes go: their candidates would take
// the media around the relay.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tandem::control {

enum class MediaMode : uint8_t { sendrecv, sendonly, recvonly, inactive };
std::string_view name(MediaMode m);

// Where the author of an SDP receives its audio.
struct MediaEndpoint {
  uint32_t ip = 0;          // network order; 0 with c=0.0.0.0 (RFC 2543 hold)
  uint16_t rtp_port = 0;
  uint16_t rtcp_port = 0;   // a=rtcp or rtp_port + 1; rtp_port with rtcp-mux
  bool rtcp_mux = false;
  MediaMode mode = MediaMode::sendrecv;
  uint8_t clock_khz = 8;    // of the first payload type offered
};

// The warn-code (RFC 3261 section 20.43) of the Warning header that explains a
// parse() refusal `error`: 301 "incompatible network address formats" for
// media on IPv6 or a host name, 399 (miscellaneous) for the rest.
uint16_t warn_code(std::string_view error);

class ParsedSdp {
 public:
  // nullptr and `error` when the body is not SDP we can anchor: syntax, no m=
  // line, no RTP audio stream, audio not on IPv4, a port out of range.
  static std::unique_ptr<ParsedSdp> parse(std::string_view body, std::string& error);
  ~ParsedSdp();
  ParsedSdp(const ParsedSdp&) = delete;
  ParsedSdp& operator=(const ParsedSdp&) = delete;

  const MediaEndpoint& endpoint() const { return endpoint_; }

  // The SDP as the other side must see it: the relay's `ip` (dotted quad) and
  // `rtp_port` in o=, c=, the audio m= line and a=rtcp.
  std::string with_relay(std::string_view ip, uint16_t rtp_port) const;

 private:
  struct Impl;
  explicit ParsedSdp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  MediaEndpoint endpoint_;
};

// RFC 3264 section 6: an answer has the offer's m= lines, in order, each of
// the offered media type and transport. Both SDPs as with_relay printed them
// (one stream relayed, the others refused): `answer` is mended where only
// refused streams differ (a line the offer lacks is dropped, one the answer
// lacks is added refused, with port 0). False and `error` when the relayed
// stream itself is answered elsewhere or on another transport.
bool conform_answer(std::string_view offer, std::string& answer, std::string& error);

}  // namespace tandem::control
