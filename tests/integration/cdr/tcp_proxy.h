// A TCP proxy in front of MariaDB that breaks connections at a COMMIT:
// - lose_commit_replies: forwards the client's COMMIT, waits for the server's
//   answer (so the transaction is committed), then closes both sides without
//   passing the answer on, as when the DB fails over right after committing;
// - drop_commits: closes both sides instead of forwarding the COMMIT, so the
//   server rolls the transaction back, as when the DB fails over just before.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tandem::cdr::testing {

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t upstream_port) : upstream_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(listen_fd_, 16);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~TcpProxy() {
    stop_ = true;
    accept_thread_.join();
    std::lock_guard lock(mu_);
    for (auto& t : pumps_) t.join();
    ::close(listen_fd_);
  }

  uint16_t port() const { return port_; }
  // The next `n` COMMITs are committed by the server and their reply lost.
  void lose_commit_replies(int n) { armed_ = n; }
  // The next `n` COMMITs never reach the server.
  void drop_commits(int n) { drop_armed_ = n; }
  int lost() const { return lost_.load(); }
  int dropped() const { return dropped_.load(); }

 private:
  static int connect_to(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  static bool send_all(int fd, const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      const int server = connect_to(upstream_);
      if (server < 0) {
        ::close(client);
        continue;
      }
      std::lock_guard lock(mu_);
      pumps_.emplace_back([this, client, server] { pump(client, server); });
    }
  }

  // Client -> server is parsed into MySQL packets (3-byte length, sequence,
  // payload) to find COM_QUERY "COMMIT"; server -> client is passed as is.
  void pump(int client, int server) {
    std::string pending;   // client bytes not yet a whole packet
    char buf[65536];
    bool open = true;
    while (open && !stop_) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(p, 2, 50) <= 0) continue;
      if (p[1].revents) {
        const ssize_t n = ::recv(server, buf, sizeof buf, 0);
        if (n <= 0 || !send_all(client, buf, static_cast<size_t>(n))) break;
      }
      if (p[0].revents) {
        const ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) break;
        pending.append(buf, static_cast<size_t>(n));
        while (pending.size() >= 4) {
          const size_t len = static_cast<uint8_t>(pending[0]) |
                             (static_cast<size_t>(static_cast<uint8_t>(pending[1])) << 8) |
                             (static_cast<size_t>(static_cast<uint8_t>(pending[2])) << 16);
          if (pending.size() < 4 + len) break;
          std::string payload = pending.substr(4, len);
          if (is_commit(payload) && drop_armed_.load() > 0) {
            --drop_armed_;
            ++dropped_;
            open = false;
            break;
          }
          const bool commit = is_commit(payload) && armed_.load() > 0;
          if (!send_all(server, pending.data(), 4 + len)) {
            open = false;
            break;
          }
          pending.erase(0, 4 + len);
          if (commit) {
            --armed_;
            // Wait for the server's answer: then it has committed. Drop it.
            pollfd s{server, POLLIN, 0};
            if (::poll(&s, 1, 10000) > 0) (void)::recv(server, buf, sizeof buf, 0);
            ++lost_;
            open = false;
            break;
          }
        }
      }
    }
    ::close(client);
    ::close(server);
  }

  static bool is_commit(const std::string& payload) {
    if (payload.size() != 7 || payload[0] != 0x03) return false;
    std::string q = payload.substr(1);
    std::transform(q.begin(), q.end(), q.begin(), [](unsigned char c) { return std::tolower(c); });
    return q == "commit";
  }

  uint16_t upstream_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> armed_{0};
  std::atomic<int> lost_{0};
  std::atomic<int> drop_armed_{0};
  std::atomic<int> dropped_{0};
  std::mutex mu_;
  std::vector<std::thread> pumps_;
  std::thread accept_thread_;
};

}  // namespace tandem::cdr::testing
