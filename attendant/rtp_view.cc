#include "attendant/rtp_view.h"

namespace tandem::attendant {

namespace {

constexpr size_t kFixedHeader = 12;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t{be16(p)} << 16 | be16(p + 2); }

}  // namespace

bool parse_rtp(std::span<const uint8_t> packet, RtpView& out) {
  if (packet.size() < kFixedHeader || packet[0] >> 6 != 2) return false;
  const uint8_t* p = packet.data();
  size_t header = kFixedHeader + 4 * size_t{p[0] & 0x0fu};
  if (p[0] & 0x10) {  // extension: 4 bytes of profile and length, then length words
    if (packet.size() < header + 4) return false;
    header += 4 + 4 * size_t{be16(p + header + 2)};
  }
  size_t end = packet.size();
  if (p[0] & 0x20) {  // padding: its count is the last byte
    const uint8_t pad = p[end - 1];
    if (pad == 0 || pad > end) return false;
    end -= pad;
  }
  if (header > end) return false;
  out.marker = (p[1] & 0x80) != 0;
  out.payload_type = p[1] & 0x7f;
  out.sequence = be16(p + 2);
  out.timestamp = be32(p + 4);
  out.ssrc = be32(p + 8);
  out.payload = packet.subspan(header, end - header);
  return true;
}

}  // namespace tandem::attendant
