#include "dataplane_protocol/codec.h"

#include <algorithm>
#include <cstring>

namespace tandem::dp::proto {
namespace {

Error error(ErrorCode c, std::string message) { return {c, std::move(message)}; }

std::optional<Error> check_mode(uint8_t mode) {
  if (mode & ~kModeAll) return error(ErrorCode::bad_field, "mode has unknown bits");
  if ((mode & kModeLockPort) && !(mode & kModeLockAddress)) {
    return error(ErrorCode::bad_field, "mode: a locked port needs a locked address");
  }
  return std::nullopt;
}

std::optional<Error> check_remote(uint32_t ip, uint16_t port, uint16_t rtcp_port) {
  if ((ip == 0) != (port == 0)) {
    return error(ErrorCode::bad_field, "remote address and port must be given together");
  }
  if (rtcp_port != 0 && port == 0) return error(ErrorCode::bad_field, "remote RTCP port without an RTP port");
  const uint8_t first = static_cast<uint8_t>(ip);  // network order: first octet in the low byte
  if (ip != 0 && (first == 0 || first == 127 || first >= 224)) {
    return error(ErrorCode::bad_field, "remote address must be a unicast, non-loopback IPv4 address");
  }
  return std::nullopt;
}

}  // namespace

const char* error_name(ErrorCode c) {
  switch (c) {
#define TANDEM_X(name, num, text) \
  case ErrorCode::name:           \
    return #name;
    TANDEM_CONTROL_ERRORS(TANDEM_X)
#undef TANDEM_X
  }
  return "unknown";
}

const char* type_name(uint16_t type) {
  switch (static_cast<MsgType>(type & ~kReplyBit)) {
#define TANDEM_X(name, num, req, rep) \
  case MsgType::name:                 \
    return #name;
    TANDEM_CONTROL_MESSAGES(TANDEM_X)
#undef TANDEM_X
    case MsgType::event_session_timeout:
      return "event_session_timeout";
    case MsgType::error:
      return "error";
  }
  return "unknown";
}

Frame check_frame(const uint8_t* buf, size_t avail) {
  if (avail < sizeof(Header)) {
    // Refuse garbage as soon as the magic can be seen, not after 16 bytes of it.
    const size_t n = avail < sizeof(uint32_t) ? avail : sizeof(uint32_t);
    uint32_t magic = kMagic;
    std::memcpy(&magic, buf, n);
    if (std::memcmp(&magic, &kMagic, n) != 0) {
      return {FrameStatus::fatal, 0, error(ErrorCode::bad_magic, "not a Tandem control message")};
    }
    return {FrameStatus::need_more, 0, {}};
  }
  Header h;
  std::memcpy(&h, buf, sizeof h);
  if (h.magic != kMagic) return {FrameStatus::fatal, 0, error(ErrorCode::bad_magic, "not a Tandem control message")};
  if (h.version != kVersion) {
    return {FrameStatus::fatal, 0,
            error(ErrorCode::bad_version, "protocol version " + std::to_string(h.version) + " not supported; this "
                                          "dataplane speaks version " + std::to_string(kVersion))};
  }
  if (h.length < sizeof(Header)) return {FrameStatus::fatal, 0, error(ErrorCode::bad_length, "length below header")};
  if (h.length > kMaxRequest) {
    return {FrameStatus::fatal, 0,
            error(ErrorCode::too_large, "message of " + std::to_string(h.length) + " bytes exceeds " +
                                            std::to_string(kMaxRequest))};
  }
  if (avail < h.length) return {FrameStatus::need_more, 0, {}};
  return {FrameStatus::complete, h.length, {}};
}

std::optional<Error> check_body(const Header& h) {
  size_t expected = 0;
  switch (static_cast<MsgType>(h.type)) {
#define TANDEM_X(name, num, req, rep) \
  case MsgType::name:                 \
    expected = sizeof(req);           \
    break;
    TANDEM_CONTROL_MESSAGES(TANDEM_X)
#undef TANDEM_X
    default:
      return error(ErrorCode::unknown_type, "unknown message type " + std::to_string(h.type));
  }
  if (h.length != sizeof(Header) + expected) {
    return error(ErrorCode::bad_length, std::string(type_name(h.type)) + " body must be " +
                                            std::to_string(expected) + " bytes, got " +
                                            std::to_string(h.length - sizeof(Header)));
  }
  return std::nullopt;
}

std::optional<Error> validate(const CreateRequest& r, const Limits& l) {
  for (int i = 0; i < 2; ++i) {
    const LegSpec& s = r.legs[i];
    const std::string leg = "leg " + std::to_string(i) + ": ";
    if (s.port >= 32 || !(l.port_mask & (1u << s.port))) {
      return error(ErrorCode::bad_field, leg + "port " + std::to_string(s.port) + " is not a configured port");
    }
    if (auto e = check_mode(s.mode)) return error(e->code, leg + e->message);
    if (auto e = check_remote(s.remote_ip, s.remote_port, s.remote_rtcp_port)) return error(e->code, leg + e->message);
    if (s.local_port != 0 &&
        (s.local_port % 2 != 0 || s.local_port < l.relay_port_min || s.local_port > l.relay_port_max)) {
      return error(ErrorCode::port_unavailable, leg + "local port must be even and inside the relay range");
    }
    if (s.clock_khz > 192) return error(ErrorCode::bad_field, leg + "clock_khz must be 0..192");
    for (uint8_t b : s.reserved) {
      if (b) return error(ErrorCode::bad_field, leg + "reserved bytes must be zero");
    }
  }
  if (r.legs[0].port == r.legs[1].port && r.legs[0].local_ip == r.legs[1].local_ip && r.legs[0].local_port != 0 &&
      r.legs[0].local_port == r.legs[1].local_port) {
    return error(ErrorCode::port_unavailable, "both legs ask for the same local port");
  }
  return std::nullopt;
}

std::optional<Error> validate(const UpdateLegRequest& r, const Limits&) {
  if (r.leg > 1) return error(ErrorCode::bad_field, "leg must be 0 or 1");
  if (auto e = check_mode(r.mode)) return e;
  if (auto e = check_remote(r.remote_ip, r.remote_port, r.remote_rtcp_port)) return e;
  if (r.clock_khz > 192) return error(ErrorCode::bad_field, "clock_khz must be 0..192");
  if (r.reserved || r.reserved2) return error(ErrorCode::bad_field, "reserved fields must be zero");
  return std::nullopt;
}

std::optional<Error> validate(const ListRequest& r) {
  if (r.max_items == 0 || r.max_items > kMaxListItems) {
    return error(ErrorCode::bad_field, "max_items must be 1.." + std::to_string(kMaxListItems));
  }
  if (r.reserved) return error(ErrorCode::bad_field, "reserved fields must be zero");
  return std::nullopt;
}

std::optional<Error> validate(const SubscribeRequest& r) {
  if (r.events & ~kEventTimeouts) return error(ErrorCode::bad_field, "unknown event bits");
  if (r.reserved) return error(ErrorCode::bad_field, "reserved fields must be zero");
  return std::nullopt;
}

std::optional<Error> validate(const HealthRequest& r) {
  if (r.reserved[0] || r.reserved[1]) return error(ErrorCode::bad_field, "reserved fields must be zero");
  return std::nullopt;
}

std::optional<Error> validate(const OffendersRequest& r) {
  if (r.max_items == 0 || r.max_items > kMaxOffenders) {
    return error(ErrorCode::bad_field, "max_items must be 1.." + std::to_string(kMaxOffenders));
  }
  if (r.reserved) return error(ErrorCode::bad_field, "reserved fields must be zero");
  return std::nullopt;
}

std::vector<uint8_t> encode(uint16_t type, uint32_t seq, const void* body, size_t body_len) {
  std::vector<uint8_t> out(sizeof(Header) + body_len);
  Header h{kMagic, kVersion, type, static_cast<uint32_t>(out.size()), seq};
  std::memcpy(out.data(), &h, sizeof h);
  if (body_len) std::memcpy(out.data() + sizeof h, body, body_len);
  return out;
}

std::vector<uint8_t> encode_error(uint32_t seq, const Error& e) {
  ErrorReply r{};
  r.code = static_cast<uint32_t>(e.code);
  std::strncpy(r.message, e.message.c_str(), sizeof r.message - 1);
  return encode(static_cast<uint16_t>(MsgType::error), seq, r);
}

ErrorReply decode_error(const uint8_t* body, size_t size) {
  ErrorReply e{};
  std::memcpy(&e, body, std::min(sizeof e, size));
  e.message[sizeof e.message - 1] = 0;
  return e;
}

}  // namespace tandem::dp::proto
