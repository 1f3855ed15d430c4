#include "attendant/media_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <ortp/ortp.h>

#include <cstring>
#include <random>

namespace tandem::attendant {

namespace {

bool to_sockaddr(const Endpoint& e, sockaddr_storage& out) {
  out = {};
  auto& v4 = reinterpret_cast<sockaddr_in&>(out);
  if (inet_pton(AF_INET, e.ip.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(e.port);
    return true;
  }
  auto& v6 = reinterpret_cast<sockaddr_in6&>(out);
  if (inet_pton(AF_INET6, e.ip.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(e.port);
    return true;
  }
  return false;
}

}  // namespace

uint32_t random_rtp_start() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return static_cast<uint32_t>(gen());
}

std::unique_ptr<MediaSession> MediaSession::open(const CallerMedia& media, std::string& error) {
  std::unique_ptr<MediaSession> m(new MediaSession);
  sockaddr_storage local{};
  if (!to_sockaddr(media.local, local) || !to_sockaddr(media.remote, m->remote_) ||
      local.ss_family != m->remote_.ss_family) {
    error = "local " + media.local.ip + " and remote " + media.remote.ip + " must be IP literals of one family";
    return nullptr;
  }
  if (media.remote.port == 0 || media.remote.port == 65535) {
    error = "remote port " + std::to_string(media.remote.port) + " (RTCP takes PORT+1)";
    return nullptr;
  }
  // Not send-only: oRTP would then try to read the RTCP socket on every send,
  // a system call per packet; the engine reads it only when something arrived.
  m->session_ = rtp_session_new(RTP_SESSION_SENDRECV);
  RtpSession* s = m->session_;
  rtp_session_set_scheduling_mode(s, FALSE);  // the engine paces; oRTP's scheduler thread stays off
  rtp_session_set_blocking_mode(s, FALSE);
  const int port = media.local.port == 0 ? -1 : media.local.port;
  if (rtp_session_set_local_addr(s, media.local.ip.c_str(), port, port < 0 ? -1 : port + 1) < 0) {
    error = "cannot bind RTP on " + media.local.ip + ":" + std::to_string(media.local.port) + ": " +
            std::strerror(errno);
    return nullptr;
  }
  if (rtp_session_set_remote_addr_full(s, media.remote.ip.c_str(), media.remote.port, media.remote.ip.c_str(),
                                       media.remote.port + 1) < 0) {
    error = "cannot use remote " + media.remote.ip + ":" + std::to_string(media.remote.port);
    return nullptr;
  }
  rtp_session_set_symmetric_rtp(s, FALSE);  // the relay's address is known; latching is the dataplane's job
  rtp_session_set_payload_type(s, static_cast<int>(media.codec));
  rtp_session_set_ssrc(s, random_rtp_start());
  rtp_session_set_seq_number(s, static_cast<uint16_t>(random_rtp_start()));
  m->fd_ = rtp_session_get_rtp_socket(s);
  m->rtcp_fd_ = rtp_session_get_rtcp_socket(s);
  m->local_port_ = static_cast<uint16_t>(rtp_session_get_local_port(s));
  return m;
}

MediaSession::~MediaSession() {
  if (session_ != nullptr) rtp_session_destroy(session_);  // closes both sockets
}

bool MediaSession::send(std::span<const uint8_t> payload, uint32_t timestamp, bool marker) {
  mblk_t* mp = rtp_session_create_packet(session_, RTP_FIXED_HEADER_SIZE, payload.data(), payload.size());
  if (marker) rtp_set_markbit(mp, 1);
  return rtp_session_sendm_with_ts(session_, mp, timestamp) >= 0;  // frees mp
}

bool MediaSession::from_caller(const sockaddr_storage& from) {
  if (from.ss_family != remote_.ss_family) return false;
  in_port_t* port = nullptr;
  in_port_t from_port = 0;
  if (from.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(from);
    auto& b = reinterpret_cast<sockaddr_in&>(remote_);
    if (a.sin_addr.s_addr != b.sin_addr.s_addr) return false;
    port = &b.sin_port;
    from_port = a.sin_port;
  } else {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(from);
    auto& b = reinterpret_cast<sockaddr_in6&>(remote_);
    if (std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) != 0) return false;
    port = &b.sin6_port;
    from_port = a.sin6_port;
  }
  if (*port == from_port) {
    latched_ = true;
    return true;
  }
  if (latched_) return false;
  // The first packet from the caller's address: its port is where the caller listens.
  latched_ = true;
  *port = from_port;
  char host[INET6_ADDRSTRLEN] = {};
  const void* addr = from.ss_family == AF_INET
                         ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in&>(from).sin_addr)
                         : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6&>(from).sin6_addr);
  inet_ntop(from.ss_family, addr, host, sizeof host);
  const int rtp = ntohs(from_port);
  rtp_session_set_remote_addr_full(session_, host, rtp, host, rtp == 65535 ? rtp : rtp + 1);
  return true;
}

}  // namespace tandem::attendant
