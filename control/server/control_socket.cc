#include "control/server/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <thread>

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

nlohmann::json error_json(const std::string& what) { return {{"error", what}}; }

}  // namespace

struct ControlSocket::Client {
  ControlSocket* owner = nullptr;
  int fd = -1;
  su_wait_t wait[1] = {};
  int index = -1;
  std::string buffer;
};

nlohmann::json call_json(const Call& call, bool detail) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  nlohmann::json j = {
      {"id", call.serial},
      {"call_id", call.call_id},
      {"state", name(call.state)},
      {"direction", cdr::name(call.plan.direction)},
      {"caller", call.plan.caller.empty() ? call.from_user : call.plan.caller},
      {"called", call.plan.called},
      {"customer", call.plan.customer},
      {"age_s", (now - call.start_ms) / 1000},
      {"answered_s", call.answer_ms ? (now - call.answer_ms) / 1000 : 0},
  };
  if (!call.plan.targets.empty()) {
    const Target& t = call.plan.targets[call.target];
    j["target"] = t.label;
    j["provider"] = t.provider;
  }
  if (!detail) return j;
  j["call_id_callee"] = call.call_id_b;
  j["decision"] = call.plan.why;
  j["target_index"] = call.target;
  nlohmann::json targets = nlohmann::json::array();
  for (const Target& t : call.plan.targets)
    targets.push_back({{"uri", t.uri}, {"label", t.label}, {"provider", t.provider}, {"timeout_s", t.timeout_s}});
  j["targets"] = targets;
  j["media"] = {{"session", call.media.session},
                {"caller_side", {{"relay", call.media.local_ip[kA]}, {"port", call.media.local_port[kA]}}},
                {"callee_side", {{"relay", call.media.local_ip[kB]}, {"port", call.media.local_port[kB]}}}};
  j["requests_in_flight"] = call.relayed.size();
  return j;
}

ControlSocket::ControlSocket(su_root_t* root, CallServer& server, rules::Reloader& rules, cdr::Writer& cdrs)
    : root_(root), server_(server), rules_(rules), cdrs_(cdrs) {}

ControlSocket::~ControlSocket() {
  for (std::thread& t : reloads_) t.join();
  if (listen_index_ > 0) su_root_deregister(root_, listen_index_);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
}

bool ControlSocket::open(const std::string& path, std::string& error) {
  path_ = path;
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    error = path + ": path too long for a Unix socket";
    return false;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
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

int ControlSocket::on_accept(su_root_magic_t*, su_wait_t* w, su_wakeup_arg_t* arg) {
  auto* self = reinterpret_cast<ControlSocket*>(arg);
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

int ControlSocket::on_readable(su_root_magic_t*, su_wait_t* w, su_wakeup_arg_t* arg) {
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

void ControlSocket::close_client(Client* c) {
  su_root_deregister(root_, c->index);
  if (c->fd >= 0) ::close(c->fd);
  delete c;
}

void ControlSocket::serve(Client& c) {
  nlohmann::json reply;
  if (c.buffer.size() > kMaxRequest) {
    ++bad_requests_;
    reply = error_json("request longer than 64 KiB");
  } else {
    auto request = nlohmann::json::parse(c.buffer.substr(0, c.buffer.find('\n')), nullptr, false);
    if (request.is_discarded() || !request.is_object() || !request.contains("cmd") || !request["cmd"].is_string()) {
      ++bad_requests_;
      reply = error_json("expected one JSON object with a \"cmd\" string, then a newline");
    } else if (request["cmd"] == "rules-reload") {
      // Loading a large Rules DB takes seconds: not on the SIP thread. The
      // client's socket goes to that thread, which answers and closes it.
      const int fd = c.fd;
      c.fd = -1;
      close_client(&c);
      reloads_.emplace_back([this, fd] {
        std::string error;
        const bool ok = rules_.reload(true, error);
        const auto stats = rules_.stats();
        nlohmann::json r = {{"ok", ok}, {"version", stats.version}, {"loads", stats.loads},
                            {"failed_loads", stats.failed_loads}};
        if (!ok) r["error"] = error;
        write_all(fd, r.dump() + "\n");
        ::close(fd);
      });
      return;
    } else {
      reply = handle(request);
    }
  }
  write_all(c.fd, reply.dump() + "\n");
  close_client(&c);
}

nlohmann::json ControlSocket::handle(const nlohmann::json& request) {
  const std::string cmd = request.value("cmd", "");
  if (cmd == "calls") {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& [serial, call] : server_.calls()) calls.push_back(call_json(*call, false));
    return {{"calls", calls}};
  }
  if (cmd == "call") {
    const std::string id = request.contains("id") && request["id"].is_string() ? request["id"].get<std::string>() : "";
    for (const auto& [serial, call] : server_.calls())
      if (std::to_string(serial) == id || call->call_id == id) return call_json(*call, true);
    return error_json("no live call " + id);
  }
  if (cmd == "cdr-stats") {
    const cdr::WriterStats s = cdrs_.stats();
    return {{"queued", s.queued}, {"overflowed", s.overflowed}, {"spooled", s.spooled}, {"written", s.written},
            {"batches", s.batches}, {"retried", s.retried}, {"rejected", s.rejected}, {"dropped", s.dropped},
            {"refused", s.refused}, {"spool_errors", s.spool_errors}, {"spool_full", s.spool_full},
            {"torn_entries", s.torn_entries}, {"corrupt_entries", s.corrupt_entries},
            {"spool_bytes", s.spool_bytes}, {"queue_depth", s.queue_depth}, {"db_up", s.db_up},
            {"alarm", s.alarm}};
  }
  if (cmd == "stats") {
    nlohmann::json counters;
    for (size_t i = 0; i < kCounterInfo.size(); ++i)
      counters[std::string(kCounterInfo[i].name)] = server_.counters().get(static_cast<Counter>(i));
    for (const auto& [k, v] : server_.stack_stats()) counters[k] = v;
    counters["control_bad_requests"] = bad_requests_;
    const auto r = rules_.stats();
    const cdr::WriterStats w = cdrs_.stats();
    return {{"active_calls", server_.active_calls()},
            {"capacity", server_.capacity()},
            {"counters", counters},
            {"rules", {{"version", r.version}, {"loads", r.loads}, {"failed_loads", r.failed_loads},
                       {"failed_polls", r.failed_polls}, {"last_error", r.last_error}}},
            {"cdr", {{"written", w.written}, {"queue_depth", w.queue_depth}, {"spool_bytes", w.spool_bytes},
                     {"db_up", w.db_up}, {"alarm", w.alarm}}}};
  }
  ++bad_requests_;
  return error_json("unknown cmd '" + cmd + "' (stats, calls, call, rules-reload, cdr-stats)");
}

}  // namespace tandem::control
