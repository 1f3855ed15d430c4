#include "tests/support/rtp_receivers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

namespace tandem::testing {

namespace {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

sockaddr_in loopback(uint16_t port, uint32_t host = INADDR_LOOPBACK) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(host);
  return a;
}

void put16(std::vector<uint8_t>& p, uint16_t v) {
  p.push_back(static_cast<uint8_t>(v >> 8));
  p.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& p, uint32_t v) { put16(p, static_cast<uint16_t>(v >> 16)), put16(p, static_cast<uint16_t>(v)); }

}  // namespace

RtpReceivers::RtpReceivers(size_t count, bool keep_payload, uint32_t host)
    : keep_payload_(keep_payload), received_(count) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < count; ++i) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(0, host);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot bind a UDP socket on 127.0.0.1");
    }
    const int buf = 1 << 20;  // a stall of the test's thread must not lose packets
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    fds_.push_back(fd);
    ports_.push_back(ntohs(a.sin_port));
  }
  thread_ = std::thread([this] { run(); });
}

RtpReceivers::~RtpReceivers() {
  stop_ = true;
  thread_.join();
  for (int fd : fds_) close(fd);
  close(epoll_fd_);
}

void RtpReceivers::run() {
  std::array<epoll_event, 64> ready{};
  std::array<uint8_t, 2048> buf{};
  while (!stop_) {
    const int n = epoll_wait(epoll_fd_, ready.data(), static_cast<int>(ready.size()), 50);
    for (int k = 0; k < n; ++k) {
      const size_t i = ready[static_cast<size_t>(k)].data.u64;
      ssize_t len;
      while ((len = recv(fds_[i], buf.data(), buf.size(), 0)) >= 12) {
        // Another session's RTCP (oRTP sends it to PORT+1, which may be one of
        // ours): told apart by its packet type as RFC 5761 does, and left out.
        if (buf[1] >= 200 && buf[1] <= 204) {
          rtcp_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        ReceivedRtp r;
        r.arrival_ns = now_ns();
        r.marker = (buf[1] & 0x80) != 0;
        r.payload_type = buf[1] & 0x7f;
        r.sequence = static_cast<uint16_t>(buf[2] << 8 | buf[3]);
        r.timestamp = uint32_t{buf[4]} << 24 | uint32_t{buf[5]} << 16 | uint32_t{buf[6]} << 8 | buf[7];
        r.ssrc = uint32_t{buf[8]} << 24 | uint32_t{buf[9]} << 16 | uint32_t{buf[10]} << 8 | buf[11];
        if (keep_payload_) r.payload.assign(buf.begin() + 12, buf.begin() + len);  // the engine sends no CSRC
        std::lock_guard lock(mutex_);
        received_[i].push_back(std::move(r));
      }
    }
  }
}

size_t RtpReceivers::count(size_t i) const {
  std::lock_guard lock(mutex_);
  return received_[i].size();
}

std::vector<ReceivedRtp> RtpReceivers::packets(size_t i) const {
  std::lock_guard lock(mutex_);
  return received_[i];
}

void RtpReceivers::send(size_t i, uint16_t port, const std::vector<uint8_t>& datagram) const {
  const sockaddr_in to = loopback(port);
  sendto(fds_[i], datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
}

std::vector<uint8_t> telephone_event_packet(uint8_t payload_type, uint16_t sequence, uint32_t timestamp,
                                            uint32_t ssrc, uint8_t event, bool end, uint16_t duration) {
  std::vector<uint8_t> p = {0x80, payload_type};
  put16(p, sequence);
  put32(p, timestamp);
  put32(p, ssrc);
  p.push_back(event);
  p.push_back(static_cast<uint8_t>((end ? 0x80 : 0) | 10));  // volume -10 dBm0
  put16(p, duration);
  return p;
}

PacingReport inter_arrival(const std::vector<std::vector<ReceivedRtp>>& streams, int64_t period_ns) {
  std::vector<double> errors;
  for (const auto& s : streams) {
    for (size_t k = 1; k < s.size(); ++k) {
      errors.push_back(std::abs(static_cast<double>(s[k].arrival_ns - s[k - 1].arrival_ns - period_ns)) / 1e6);
    }
  }
  PacingReport r;
  r.gaps = errors.size();
  if (errors.empty()) return r;
  std::sort(errors.begin(), errors.end());
  const auto at = [&](double q) { return errors[std::min(errors.size() - 1, static_cast<size_t>(q * static_cast<double>(errors.size())))]; };
  r.p50_ms = at(0.50);
  r.p99_ms = at(0.99);
  r.max_ms = errors.back();
  return r;
}

}  // namespace tandem::testing
