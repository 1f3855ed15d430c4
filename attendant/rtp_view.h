// The fields of a received RTP packet the attendant reads, found without
// copying and bounds-checked (CSRCs, a header extension, padding), because the
// caller's packets are read straight from the session's socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tandem::attendant {

struct RtpView {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::span<const uint8_t> payload;
};

// False if the bytes are not a whole RTP version 2 packet.
bool parse_rtp(std::span<const uint8_t> packet, RtpView& out);

}  // namespace tandem::attendant
