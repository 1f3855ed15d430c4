#include "control/sip/udp_backlog.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <cstring>

#include "control/sip/own_fds.h"

namespace tandem::control {

bool UdpBacklog::find(const std::string& address, uint16_t port) {
  in_addr wanted{};
  if (inet_pton(AF_INET, address.c_str(), &wanted) != 1) return false;
  for (const int fd : own_fds()) {
    int type = 0;
    socklen_t type_len = sizeof type;
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_DGRAM) continue;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0 || bound.sin_family != AF_INET) continue;
    if (ntohs(bound.sin_port) != port) continue;
    if (bound.sin_addr.s_addr == wanted.s_addr || bound.sin_addr.s_addr == htonl(INADDR_ANY)) {
      fd_ = fd;
      // Every datagram stamped on arrival; sofia-sip's reads ask for no control data and get none.
      const int on = 1;
      timestamps_ = setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0;
      return true;
    }
  }
  return false;
}

int64_t UdpBacklog::oldest_wait_us() const {
  if (fd_ < 0 || !timestamps_) return 0;
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (recvmsg(fd_, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC) < 0) return 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec arrived;
    std::memcpy(&arrived, CMSG_DATA(c), sizeof arrived);
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const int64_t us = (now.tv_sec - arrived.tv_sec) * 1000000 + (now.tv_nsec - arrived.tv_nsec) / 1000;
    return us > 0 ? us : 0;
  }
  return 0;
}

bool UdpBacklog::pending() const {
  // FIONREAD on a UDP socket: the size of the next datagram, 0 when none waits.
  int next = 0;
  return fd_ >= 0 && ioctl(fd_, FIONREAD, &next) == 0 && next > 0;
}

}  // namespace tandem::control
