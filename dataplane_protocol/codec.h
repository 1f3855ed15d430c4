// Framing and validation of control messages: pure functions over bytes, so
// that every refusal is unit-tested without a socket or EAL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane_protocol/protocol.h"

namespace tandem::dp::proto {

struct Error {
  ErrorCode code;
  std::string message;
};

// What the server checks requests against.
struct Limits {
  uint32_t port_mask;         // bit n set: DPDK port n is a configured wire port
  uint16_t relay_port_min;
  uint16_t relay_port_max;
};

enum class FrameStatus { need_more, complete, fatal };

struct Frame {
  FrameStatus status;
  uint32_t length;            // complete: bytes of this message
  Error error;                // fatal: why; the connection must be closed
};

// Looks at the start of a receive buffer.
Frame check_frame(const uint8_t* buf, size_t avail);

// For a complete frame: is the type known and the body the size it names?
std::optional<Error> check_body(const Header& h);

std::optional<Error> validate(const CreateRequest& r, const Limits& l);
std::optional<Error> validate(const UpdateLegRequest& r, const Limits& l);
std::optional<Error> validate(const ListRequest& r);
std::optional<Error> validate(const SubscribeRequest& r);
std::optional<Error> validate(const HealthRequest& r);
std::optional<Error> validate(const OffendersRequest& r);

// Builds one message (header + body) ready to send.
// `type` is a MsgType, or a MsgType | kReplyBit.
std::vector<uint8_t> encode(uint16_t type, uint32_t seq, const void* body, size_t body_len);
std::vector<uint8_t> encode_error(uint32_t seq, const Error& e);
// The ErrorReply in an error message's body (short bodies zero-filled), its message terminated.
ErrorReply decode_error(const uint8_t* body, size_t size);

template <typename T>
std::vector<uint8_t> encode(uint16_t type, uint32_t seq, const T& body) {
  return encode(type, seq, &body, sizeof body);
}

inline uint16_t reply_type(MsgType t) { return static_cast<uint16_t>(static_cast<uint16_t>(t) | kReplyBit); }

const char* type_name(uint16_t type);

}  // namespace tandem::dp::proto
