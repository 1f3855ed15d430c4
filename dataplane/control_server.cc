#include "dataplane/control_server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tandem::dp {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// A client that stops reading its replies is cut off rather than allowed to
// grow our memory without bound.
constexpr size_t kMaxPendingOut = 64u << 20;
constexpr int kMaxClients = 256;
constexpr int kMaxEvents = 64;

}  // namespace

ControlServer::~ControlServer() {
  for (auto& c : clients_) ::close(c->fd);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

bool ControlServer::listen(const std::string& path, std::string& error) {
  path_ = path;
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);

  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // A socket file left by a crashed dataplane is stale if nobody answers on it.
  if (::connect(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    error = "another dataplane is serving " + path;
    ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  ::close(listen_fd_);
  ::unlink(path.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    error = "cannot listen on " + path + ": " + std::strerror(errno);
    return false;
  }
  ::chmod(path.c_str(), 0660);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  return true;
}

void ControlServer::send(ControlClient& c, const std::vector<uint8_t>& message) {
  if (c.deferred.empty()) {
    c.out.insert(c.out.end(), message.begin(), message.end());
    return;
  }
  c.deferred.push_back({c.next_ticket++, true, message});
  c.deferred_bytes += message.size();
}

uint64_t ControlServer::defer(ControlClient& c) {
  c.deferred.push_back({c.next_ticket, false, {}});
  return c.next_ticket++;
}

void ControlServer::deliver(uint64_t client_id, uint64_t ticket, std::vector<uint8_t> message) {
  auto it = std::find_if(clients_.begin(), clients_.end(), [client_id](const auto& c) { return c->id == client_id; });
  if (it == clients_.end()) return;
  ControlClient& c = **it;
  auto d = std::find_if(c.deferred.begin(), c.deferred.end(), [ticket](const auto& x) { return x.ticket == ticket; });
  if (d == c.deferred.end()) return;  // its output was dropped (a broken connection)
  c.deferred_bytes += message.size();
  d->bytes = std::move(message);
  d->ready = true;
  while (!c.deferred.empty() && c.deferred.front().ready) {
    const auto& bytes = c.deferred.front().bytes;
    c.out.insert(c.out.end(), bytes.begin(), bytes.end());
    c.deferred_bytes -= bytes.size();
    c.deferred.pop_front();
  }
  to_flush(client_id);
}

void ControlServer::to_flush(uint64_t client_id) {
  if (std::find(delivered_.begin(), delivered_.end(), client_id) == delivered_.end()) delivered_.push_back(client_id);
}

void ControlServer::flush_delivered() {
  for (uint64_t id : delivered_) {
    auto it = std::find_if(clients_.begin(), clients_.end(), [id](const auto& c) { return c->id == id; });
    if (it == clients_.end()) continue;
    ControlClient& c = **it;
    on_writable(c);
    if (c.closing && c.out.empty() && c.deferred.empty()) {
      close_client(c.fd);
    } else {
      watch(c);
    }
  }
  delivered_.clear();
}

void ControlServer::drop_output(ControlClient& c) {
  c.out.clear();
  c.out_sent = 0;
  c.deferred.clear();
  c.deferred_bytes = 0;
}

void ControlServer::watch(ControlClient& c) {
  epoll_event ev{};
  // A closing client is only flushed: its end of input would wake us forever.
  ev.events = (c.closing ? 0u : EPOLLIN | EPOLLRDHUP) | (c.out.size() > c.out_sent ? EPOLLOUT : 0u);
  ev.data.fd = c.fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void ControlServer::accept_clients() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (clients_.size() >= kMaxClients) {
      spdlog::warn("control: refusing a client, {} connected already", clients_.size());
      ++errors_;
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<ControlClient>();
    c->fd = fd;
    c->id = next_id_++;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    spdlog::debug("control: client {} connected", c->id);
    clients_.push_back(std::move(c));
  }
}

void ControlServer::close_client(int fd) {
  auto it = std::find_if(clients_.begin(), clients_.end(), [fd](const auto& c) { return c->fd == fd; });
  if (it == clients_.end()) return;
  spdlog::debug("control: client {} gone", (*it)->id);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  clients_.erase(it);
}

void ControlServer::on_readable(ControlClient& c) {
  for (;;) {
    const size_t old = c.in.size();
    c.in.resize(old + kReadChunk);
    const ssize_t n = ::read(c.fd, c.in.data() + old, kReadChunk);
    c.in.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
    if (n == 0) {
      c.closing = true;  // the peer is done sending: answer what it sent, then close
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      c.closing = true;  // broken: nothing more to read or to send
      drop_output(c);
      break;
    }
    if (n < 0) break;
    // Serve every complete message now so the buffer never holds more than one
    // read chunk plus one partial message.
    size_t off = 0;
    while (c.pending() <= kMaxPendingOut) {
      const proto::Frame f = proto::check_frame(c.in.data() + off, c.in.size() - off);
      if (f.status == proto::FrameStatus::need_more) break;
      if (f.status == proto::FrameStatus::fatal) {
        ++errors_;
        spdlog::warn("control: client {}: {}; closing", c.id, f.error.message);
        send(c, proto::encode_error(0, f.error));
        c.closing = true;
        break;
      }
      proto::Header h;
      std::memcpy(&h, c.in.data() + off, sizeof h);
      handler_(c, h, c.in.data() + off + sizeof h);
      off += f.length;
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(off));
    if (c.closing || c.pending() > kMaxPendingOut) break;
  }
}

void ControlServer::on_writable(ControlClient& c) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      c.closing = true;
      drop_output(c);
      return;
    }
    c.out_sent += static_cast<size_t>(n);
  }
  if (c.out_sent == c.out.size()) {
    c.out.clear();
    c.out_sent = 0;
  }
}

bool ControlServer::poll(int timeout_ms) {
  epoll_event events[kMaxEvents];
  const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == listen_fd_) {
      accept_clients();
      continue;
    }
    auto it = std::find_if(clients_.begin(), clients_.end(), [fd](const auto& c) { return c->fd == fd; });
    if (it == clients_.end()) continue;
    ControlClient& c = **it;
    if (!c.closing && (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) on_readable(c);
    on_writable(c);
    if (c.pending() > kMaxPendingOut) {
      spdlog::warn("control: client {} does not read its replies; closing", c.id);
      ++errors_;
      c.closing = true;
      drop_output(c);
    }
    if (c.closing && c.out.empty() && c.deferred.empty()) {
      close_client(fd);
    } else {
      watch(c);
    }
  }
  return n > 0;
}

void ControlServer::broadcast(uint32_t event, const std::vector<uint8_t>& message) {
  for (auto& c : clients_) {
    if (!(c->events & event) || c->closing) continue;
    c->out.insert(c->out.end(), message.begin(), message.end());
    to_flush(c->id);
  }
}

}  // namespace tandem::dp
