// Finding our SIP socket among the process's descriptors, and its backlog.
#include "control/sip/udp_backlog.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace tandem::control {
namespace {

struct Socket {
  explicit Socket(int type) : fd(socket(AF_INET, type, 0)) {}
  ~Socket() { close(fd); }
  uint16_t bind_loopback() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  int fd;
};

TEST(UdpBacklog, SeesDatagramsWaitingOnTheBoundSocket) {
  Socket sip(SOCK_DGRAM);
  const uint16_t port = sip.bind_loopback();
  UdpBacklog backlog;
  ASSERT_TRUE(backlog.find("127.0.0.1", port));
  EXPECT_FALSE(backlog.pending());

  Socket peer(SOCK_DGRAM);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // The kernel turns receive timestamps on from a work queue, a little after the first socket
  // asks: until then a datagram is stamped when read. Wait until one is stamped on arrival.
  char buf[64];
  bool stamped = false;
  for (int i = 0; i < 100 && !stamped; ++i) {
    ASSERT_EQ(sendto(peer.fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stamped = backlog.oldest_wait_us() >= 4000;
    ASSERT_EQ(recv(sip.fd, buf, sizeof buf, 0), 1);
  }
  ASSERT_TRUE(stamped);
  EXPECT_EQ(backlog.oldest_wait_us(), 0);
  ASSERT_EQ(sendto(peer.fd, "SIP/2.0 200 OK", 14, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 14);
  EXPECT_TRUE(backlog.pending());
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ASSERT_EQ(sendto(peer.fd, "SIP/2.0 180 Ringing", 19, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 19);
  EXPECT_GE(backlog.oldest_wait_us(), 30000);  // the first one's wait: peeked, not read
  ASSERT_EQ(recv(sip.fd, buf, sizeof buf, 0), 14);  // the socket's reader still gets it whole
  EXPECT_LT(backlog.oldest_wait_us(), 30000);       // now the second one's
  ASSERT_EQ(recv(sip.fd, buf, sizeof buf, 0), 19);
  EXPECT_FALSE(backlog.pending());
  EXPECT_EQ(backlog.oldest_wait_us(), 0);
}

TEST(UdpBacklog, OnlyAUdpSocketOnThatAddressAndPort) {
  Socket tcp(SOCK_STREAM);
  const uint16_t port = tcp.bind_loopback();
  UdpBacklog backlog;
  EXPECT_FALSE(backlog.find("127.0.0.1", port));  // TCP on that port: not it
  EXPECT_FALSE(backlog.find("127.0.0.2", port));
  EXPECT_FALSE(backlog.find("not an address", port));
  EXPECT_FALSE(backlog.found());
  EXPECT_FALSE(backlog.pending());
  EXPECT_EQ(backlog.oldest_wait_us(), 0);
}

}  // namespace
}  // namespace tandem::control
