// One caller's RTP endpoint on the media thread: an oRTP RtpSession that
// sends the prompt, and the socket it owns, from which the engine reads the
// caller's packets itself. Why not oRTP's receive path: it is a playout
// buffer that locks on one SSRC, drops packets it finds too old, queues
// telephone events for its own detector, and does not tell which address a
// packet came from; the attendant needs each packet as it came, and its source.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "attendant/prompt_engine.h"

typedef struct _RtpSession RtpSession;

namespace tandem::attendant {

// An SSRC, first sequence number or first timestamp: random (RFC 3550 5.1),
// so that a new stream cannot be taken for an old one.
uint32_t random_rtp_start();

class MediaSession {
 public:
  // Binds media.local and aims at media.remote; null with why on failure.
  static std::unique_ptr<MediaSession> open(const CallerMedia& media, std::string& error);
  ~MediaSession();
  MediaSession(const MediaSession&) = delete;
  MediaSession& operator=(const MediaSession&) = delete;

  int fd() const { return fd_; }
  int rtcp_fd() const { return rtcp_fd_; }
  uint16_t local_port() const { return local_port_; }
  // The RTP packet of one frame at `timestamp` (the session numbers it); false if the send failed.
  bool send(std::span<const uint8_t> payload, uint32_t timestamp, bool marker);
  // Whether a datagram from `from` is the caller's: from the address media.remote
  // named. Its port is the one the first such datagram came from (symmetric
  // RTP, RFC 4961: a caller behind NAT sends from another port than its SDP
  // says), and the prompt goes there from then on; the dataplane's address
  // latch lets through only that address anyway.
  bool from_caller(const sockaddr_storage& from);

 private:
  MediaSession() = default;
  RtpSession* session_ = nullptr;
  int fd_ = -1;
  int rtcp_fd_ = -1;
  uint16_t local_port_ = 0;
  sockaddr_storage remote_{};
  bool latched_ = false;
};

}  // namespace tandem::attendant
