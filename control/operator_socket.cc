#include "control/operator_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tandem::control {

namespace {

constexpr size_t kMaxRequest = 64 * 1024;

// su_wait_create made the socket non-blocking: wait for room, bounded.
bool write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 2000) <= 0) return false;  // a client that does not read
      continue;
    }
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

struct OperatorSocket::Client {
  OperatorSocket* owner = nullptr;
  int fd = -1;
  su_wait_t wait[1] = {};
  int index = -1;
  std::string buffer;
};

OperatorSocket::OperatorSocket(su_root_t* root) : root_(root) {}

OperatorSocket::~OperatorSocket() {
  for (std::thread& t : slow_threads_) t.join();
  if (listen_index_ > 0) su_root_deregister(root_, listen_index_);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
}

void OperatorSocket::on(const std::string& cmd, Handler handler) { handlers_[cmd] = std::move(handler); }

void OperatorSocket::on_slow(const std::string& cmd, Handler handler) { slow_[cmd] = std::move(handler); }

bool OperatorSocket::open(const std::string& path, std::string& error) {
  path_ = path;
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    error = path + ": path too long for a Unix socket";
    return false;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  // As the dataplane does with its socket's: /run/tandem is a unit's RuntimeDirectory, and
  // missing when the process is started by hand.
  std::error_code ec;
  if (const auto dir = std::filesystem::path(path).parent_path(); !dir.empty()) std::filesystem::create_directories(dir, ec);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::unlink(path.c_str());
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      ::listen(listen_fd_, 64) < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  ::chmod(path.c_str(), 0660);
  su_wait_create(listen_wait_, listen_fd_, SU_WAIT_ACCEPT);
  listen_index_ = su_root_register(root_, listen_wait_, on_accept, reinterpret_cast<su_wakeup_arg_t*>(this), 0);
  if (listen_index_ < 0) {
    error = "cannot watch " + path;
    return false;
  }
  return true;
}

int OperatorSocket::on_accept(su_root_magic_t*, su_wait_t* w, su_wakeup_arg_t* arg) {
  auto* self = reinterpret_cast<OperatorSocket*>(arg);
  su_wait_events(w, self->listen_fd_);
  const int fd = ::accept4(self->listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return 0;
  auto* c = new Client{self, fd, {}, -1, {}};
  su_wait_create(c->wait, fd, SU_WAIT_IN);
  c->index = su_root_register(self->root_, c->wait, on_readable, reinterpret_cast<su_wakeup_arg_t*>(c), 0);
  if (c->index < 0) {
    ::close(fd);
    delete c;
  }
  return 0;
}

int OperatorSocket::on_readable(su_root_magic_t*, su_wait_t* w, su_wakeup_arg_t* arg) {
  auto* c = reinterpret_cast<Client*>(arg);
  su_wait_events(w, c->fd);
  char buf[4096];
  const ssize_t n = ::recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    c->owner->close_client(c);
    return 0;
  }
  if (n < 0) return 0;
  c->buffer.append(buf, static_cast<size_t>(n));
  if (c->buffer.find('\n') != std::string::npos || c->buffer.size() > kMaxRequest) c->owner->serve(*c);
  return 0;
}

void OperatorSocket::close_client(Client* c) {
  su_root_deregister(root_, c->index);
  if (c->fd >= 0) ::close(c->fd);
  delete c;
}

nlohmann::json OperatorSocket::refuse(const std::string& why) {
  ++bad_requests_;
  return {{"error", why}};
}

void OperatorSocket::serve(Client& c) {
  nlohmann::json reply;
  if (c.buffer.size() > kMaxRequest) {
    reply = refuse("request longer than 64 KiB");
  } else {
    auto request = nlohmann::json::parse(c.buffer.substr(0, c.buffer.find('\n')), nullptr, false);
    const std::string cmd = request.is_object() && request.contains("cmd") && request["cmd"].is_string()
                                ? request["cmd"].get<std::string>() : "";
    if (auto slow = slow_.find(cmd); slow != slow_.end()) {
      // The client's socket goes to that thread, which answers and closes it.
      const int fd = c.fd;
      c.fd = -1;
      close_client(&c);
      slow_threads_.emplace_back([handler = slow->second, request, fd] {
        write_all(fd, handler(request).dump() + "\n");
        ::close(fd);
      });
      return;
    }
    reply = handle(request);
  }
  write_all(c.fd, reply.dump() + "\n");
  close_client(&c);
}

nlohmann::json OperatorSocket::handle(const nlohmann::json& request) {
  if (request.is_discarded() || !request.is_object() || !request.contains("cmd") || !request["cmd"].is_string())
    return refuse("expected one JSON object with a \"cmd\" string, then a newline");
  const std::string cmd = request["cmd"].get<std::string>();
  // A field of the wrong type ({"exit": "yes"}) is the client's mistake, not a reason to die.
  try {
    if (auto h = handlers_.find(cmd); h != handlers_.end()) return h->second(request);
    if (auto h = slow_.find(cmd); h != slow_.end()) return h->second(request);
  } catch (const nlohmann::json::exception& e) {
    return refuse(cmd + ": " + e.what());
  }
  std::string known;
  for (const auto* table : {&handlers_, &slow_})
    for (const auto& [name, handler] : *table) known += (known.empty() ? "" : ", ") + name;
  return refuse("unknown cmd '" + cmd + "' (" + known + ")");
}

}  // namespace tandem::control
