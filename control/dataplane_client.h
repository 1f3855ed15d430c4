// The control plane's side of the dataplane protocol (dataplane/control_protocol.h):
// a blocking client over the Unix socket, used by tandemctl and by the call
// server to program media sessions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/control_protocol.h"

namespace tandem::control {

namespace proto = tandem::dp::proto;

// The outcome of a request: the reply body, or why there is none.
template <typename T>
struct Reply {
  std::optional<T> value;
  std::string error;            // set when !value: the dataplane's message or a transport error
  uint32_t error_code = 0;      // proto::ErrorCode when the dataplane refused
  explicit operator bool() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  const T* operator->() const { return &*value; }
};

class DataplaneClient {
 public:
  ~DataplaneClient();
  bool connect(const std::string& path, std::string& error, int timeout_ms = 5000);
  void close();
  // The dataplane closed the connection (it stopped or restarted).
  bool peer_closed() const;

  Reply<proto::HelloReply> hello(const std::string& client_name);
  Reply<proto::SessionInfo> create(const proto::CreateRequest& r);
  Reply<proto::SessionInfo> update(const proto::UpdateLegRequest& r);
  Reply<proto::SessionInfo> remove(uint64_t session_id);
  Reply<proto::SessionInfo> query(uint64_t session_id);
  Reply<std::vector<proto::SessionInfo>> list_all();
  Reply<proto::HealthReply> health();
  Reply<proto::SubscribeRequest> subscribe(uint32_t events);
  // Waits for one pushed event; nullopt on timeout or a closed socket.
  std::optional<proto::TimeoutEvent> next_event(int timeout_ms);

  // Pipelining: send many requests, then collect their replies in order.
  bool send_raw(const std::vector<uint8_t>& message);
  struct RawReply {
    proto::Header header{};
    std::vector<uint8_t> body;
  };
  std::optional<RawReply> read_message(int timeout_ms);
  uint32_t next_seq() { return ++seq_; }
  // For an event loop that waits on the socket (subscribers).
  int fd() const { return fd_; }

 private:
  template <typename Resp, typename Req>
  Reply<Resp> call(proto::MsgType type, const Req& req);
  bool read_exact(void* buf, size_t n, int timeout_ms);

  int fd_ = -1;
  uint32_t seq_ = 0;
  std::vector<proto::TimeoutEvent> pending_events_;
};

}  // namespace tandem::control
