#include "control/sip/udp_backlog.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <filesystem>

namespace tandem::control {

bool UdpBacklog::find(const std::string& address, uint16_t port) {
  in_addr wanted{};
  if (inet_pton(AF_INET, address.c_str(), &wanted) != 1) return false;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const int fd = std::stoi(entry.path().filename().string());
    int type = 0;
    socklen_t type_len = sizeof type;
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_DGRAM) continue;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0 || bound.sin_family != AF_INET) continue;
    if (ntohs(bound.sin_port) != port) continue;
    if (bound.sin_addr.s_addr == wanted.s_addr || bound.sin_addr.s_addr == htonl(INADDR_ANY)) {
      fd_ = fd;
      return true;
    }
  }
  return false;
}

bool UdpBacklog::pending() const {
  // FIONREAD on a UDP socket: the size of the next datagram, 0 when none waits.
  int next = 0;
  return fd_ >= 0 && ioctl(fd_, FIONREAD, &next) == 0 && next > 0;
}

}  // namespace tandem::control
