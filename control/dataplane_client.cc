#include "control/dataplane_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dataplane_protocol/codec.h"

namespace tandem::control {
namespace {

constexpr int kReplyTimeoutMs = 10000;
constexpr uint32_t kMaxReply = 1u << 20;
constexpr size_t kReadChunk = 64 * 1024;

template <typename T>
Reply<T> failure(std::string message, uint32_t code = 0) {
  Reply<T> r;
  r.error = std::move(message);
  r.error_code = code;
  return r;
}

}  // namespace

DataplaneClient::~DataplaneClient() { close(); }

void DataplaneClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  broken_ = false;
  in_.clear();
  in_begin_ = 0;
  out_.clear();
  pending_events_.clear();
}

bool DataplaneClient::peer_closed() const {
  if (fd_ < 0) return true;
  char c;
  const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool DataplaneClient::connect(const std::string& path, std::string& error, int timeout_ms) {
  close();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    error = "socket path too long: " + path;
    return false;
  }
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  // The dataplane may still be starting: retry until the deadline.
  for (int waited = 0;; waited += 50) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (waited >= timeout_ms || (err != ENOENT && err != ECONNREFUSED)) {
      error = "cannot connect to the dataplane at " + path + ": " + std::strerror(err);
      return false;
    }
    ::usleep(50 * 1000);
  }
}

bool DataplaneClient::send_raw(const std::vector<uint8_t>& m) {
  size_t off = 0;
  while (off < m.size()) {
    const ssize_t n = ::send(fd_, m.data() + off, m.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void DataplaneClient::append_request(uint16_t type, uint32_t seq, const void* body, size_t size) {
  const std::vector<uint8_t> m = proto::encode(type, seq, body, size);
  out_.insert(out_.end(), m.begin(), m.end());
}

bool DataplaneClient::flush() {
  if (out_.empty()) return true;
  if (fd_ < 0) return false;
  const bool sent = send_raw(out_);
  out_.clear();
  return sent;
}

DataplaneClient::Fill DataplaneClient::fill(int timeout_ms) {
  if (fd_ < 0 || broken_) return Fill::broken;
  if (in_begin_ == in_.size()) {
    in_.clear();
    in_begin_ = 0;
  } else if (in_begin_ >= kReadChunk) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_begin_));
    in_begin_ = 0;
  }
  const size_t old = in_.size();
  in_.resize(old + kReadChunk);
  // Read first: on a shared core the dataplane has often answered already.
  for (;;) {
    const ssize_t n = ::recv(fd_, in_.data() + old, kReadChunk, MSG_DONTWAIT);
    if (n > 0) {
      in_.resize(old + static_cast<size_t>(n));
      return Fill::data;
    }
    const int err = n == 0 ? 0 : errno;
    if (err == EINTR) continue;
    if (n == 0 || (err != EAGAIN && err != EWOULDBLOCK)) {
      in_.resize(old);
      broken_ = true;
      return Fill::broken;
    }
    pollfd pfd{fd_, POLLIN, 0};
    const int rc = timeout_ms == 0 ? 0 : ::poll(&pfd, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      in_.resize(old);
      return Fill::nothing;
    }
  }
}

std::optional<DataplaneClient::Frame> DataplaneClient::next_frame(int timeout_ms) {
  for (;;) {
    const size_t have = in_.size() - in_begin_;
    if (have >= sizeof(proto::Header)) {
      Frame f{};
      std::memcpy(&f.header, in_.data() + in_begin_, sizeof f.header);
      if (f.header.magic != proto::kMagic || f.header.length < sizeof f.header || f.header.length > kMaxReply) {
        broken_ = true;  // the stream cannot be resynchronised
        return std::nullopt;
      }
      if (have >= f.header.length) {
        f.body = in_.data() + in_begin_ + sizeof f.header;
        f.size = f.header.length - sizeof f.header;
        in_begin_ += f.header.length;
        return f;
      }
    }
    // A partial message completes soon: the dataplane writes whole replies.
    if (fill(have ? kReplyTimeoutMs : timeout_ms) != Fill::data) return std::nullopt;
  }
}

std::optional<DataplaneClient::RawReply> DataplaneClient::read_message(int timeout_ms) {
  auto f = next_frame(timeout_ms);
  if (!f) return std::nullopt;
  return RawReply{f->header, std::vector<uint8_t>(f->body, f->body + f->size)};
}

void DataplaneClient::dispatch_queued(const Frame& f) {
  if (f.header.type == static_cast<uint16_t>(proto::MsgType::event_session_timeout)) {
    if (f.size == sizeof(proto::TimeoutEvent)) {
      proto::TimeoutEvent e;
      std::memcpy(&e, f.body, sizeof e);
      pending_events_.push_back(e);
    }
    return;
  }
  if (queued_handler_) queued_handler_(f.header, f.body, f.size);
}

bool DataplaneClient::drain() {
  while (auto f = next_frame(0)) dispatch_queued(*f);
  return !broken_;
}

template <typename Resp, typename Req>
Reply<Resp> DataplaneClient::call(proto::MsgType type, const Req& req) {
  if (fd_ < 0) return failure<Resp>("not connected");
  const uint32_t seq = enqueue(type, req);
  if (!flush()) return failure<Resp>(std::string("cannot send to the dataplane: ") + std::strerror(errno));
  for (;;) {
    auto f = next_frame(kReplyTimeoutMs);
    if (!f) return failure<Resp>("no reply from the dataplane (connection closed or timed out)");
    // seq 0 is an error about the framing of what we sent, which ends the connection.
    if (f->header.seq != seq && f->header.seq != 0) {
      dispatch_queued(*f);
      continue;
    }
    if (f->header.type == static_cast<uint16_t>(proto::MsgType::event_session_timeout)) {
      dispatch_queued(*f);
      continue;
    }
    if (f->header.type == static_cast<uint16_t>(proto::MsgType::error)) {
      const proto::ErrorReply e = proto::decode_error(f->body, f->size);
      return failure<Resp>(e.message, e.code);
    }
    if (f->header.type != proto::reply_type(type) || f->size != sizeof(Resp)) {
      return failure<Resp>(std::string("unexpected reply to ") + proto::type_name(static_cast<uint16_t>(type)));
    }
    Reply<Resp> r;
    r.value.emplace();
    std::memcpy(&*r.value, f->body, sizeof(Resp));
    return r;
  }
}

Reply<proto::HelloReply> DataplaneClient::hello(const std::string& client_name) {
  proto::HelloRequest r{};
  std::strncpy(r.client, client_name.c_str(), sizeof r.client - 1);
  auto reply = call<proto::HelloReply>(proto::MsgType::hello, r);
  if (reply && reply->version != proto::kVersion) {
    return failure<proto::HelloReply>("dataplane speaks protocol version " + std::to_string(reply->version));
  }
  return reply;
}

Reply<proto::SessionInfo> DataplaneClient::create(const proto::CreateRequest& r) {
  return call<proto::SessionInfo>(proto::MsgType::create_session, r);
}

Reply<proto::SessionInfo> DataplaneClient::update(const proto::UpdateLegRequest& r) {
  return call<proto::SessionInfo>(proto::MsgType::update_leg, r);
}

Reply<proto::SessionInfo> DataplaneClient::remove(uint64_t id) {
  return call<proto::SessionInfo>(proto::MsgType::delete_session, proto::SessionRequest{id});
}

Reply<proto::SessionInfo> DataplaneClient::query(uint64_t id) {
  return call<proto::SessionInfo>(proto::MsgType::query_session, proto::SessionRequest{id});
}

Reply<proto::HealthReply> DataplaneClient::health() {
  return call<proto::HealthReply>(proto::MsgType::health, proto::HealthRequest{});
}

Reply<proto::OffendersReply> DataplaneClient::punt_offenders(uint32_t max_items) {
  return call<proto::OffendersReply>(proto::MsgType::punt_offenders, proto::OffendersRequest{max_items, 0});
}

Reply<proto::SubscribeRequest> DataplaneClient::subscribe(uint32_t events) {
  return call<proto::SubscribeRequest>(proto::MsgType::subscribe, proto::SubscribeRequest{events, 0});
}

Reply<std::vector<proto::SessionInfo>> DataplaneClient::list_all() {
  Reply<std::vector<proto::SessionInfo>> out;
  out.value.emplace();
  proto::ListRequest req{0, proto::kMaxListItems, 0};
  do {
    const uint32_t seq = next_seq();
    if (!send_raw(proto::encode(static_cast<uint16_t>(proto::MsgType::list_sessions), seq, req))) {
      return failure<std::vector<proto::SessionInfo>>("cannot send to the dataplane");
    }
    std::optional<RawReply> m;
    do {
      m = read_message(kReplyTimeoutMs);
    } while (m && m->header.seq != seq);
    if (!m) return failure<std::vector<proto::SessionInfo>>("no reply from the dataplane");
    proto::ListReply head{};
    if (m->header.type != proto::reply_type(proto::MsgType::list_sessions) || m->body.size() < sizeof head) {
      return failure<std::vector<proto::SessionInfo>>("unexpected reply to list_sessions");
    }
    std::memcpy(&head, m->body.data(), sizeof head);
    if (m->body.size() != sizeof head + head.count * sizeof(proto::SessionInfo)) {
      return failure<std::vector<proto::SessionInfo>>("list reply of the wrong size");
    }
    const size_t old = out.value->size();
    out.value->resize(old + head.count);
    if (head.count) std::memcpy(out.value->data() + old, m->body.data() + sizeof head, head.count * sizeof(proto::SessionInfo));
    req.cursor = head.next_cursor;
  } while (req.cursor != 0);
  return out;
}

std::optional<proto::TimeoutEvent> DataplaneClient::next_event(int timeout_ms) {
  if (!pending_events_.empty()) {
    auto e = pending_events_.front();
    pending_events_.erase(pending_events_.begin());
    return e;
  }
  auto m = read_message(timeout_ms);
  if (!m || m->header.type != static_cast<uint16_t>(proto::MsgType::event_session_timeout) ||
      m->body.size() != sizeof(proto::TimeoutEvent)) {
    return std::nullopt;
  }
  proto::TimeoutEvent e;
  std::memcpy(&e, m->body.data(), sizeof e);
  return e;
}

}  // namespace tandem::control
