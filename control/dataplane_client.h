// The control plane's side of the dataplane protocol (dataplane_protocol/protocol.h):
// a client over the Unix socket, used by tandemctl and by the call server to
// program media sessions. Requests are synchronous, or queued (enqueue) to go
// out together with the next one: the call server sends its updates and deletes
// that way, so that the dataplane, which shares a core with it in small setups,
// is woken once for several of them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dataplane_protocol/protocol.h"

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
  // The sources whose packets to the kernel the dataplane drops most.
  Reply<proto::OffendersReply> punt_offenders(uint32_t max_items = proto::kMaxOffenders);
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

  // Queued requests: appended here, sent by flush() or with the next
  // synchronous request. Their replies (in order, identified by the returned
  // seq) go to the handler as they are read: by drain(), or while a
  // synchronous request waits for its own. The body is valid during the call.
  using ReplyHandler = std::function<void(const proto::Header&, const uint8_t* body, size_t size)>;
  void on_queued_reply(ReplyHandler handler) { queued_handler_ = std::move(handler); }
  template <typename Req>
  uint32_t enqueue(proto::MsgType type, const Req& req) {
    const uint32_t seq = next_seq();
    append_request(static_cast<uint16_t>(type), seq, &req, sizeof req);
    return seq;
  }
  bool flush();
  // Reads the replies already there, without waiting; false if the connection broke.
  bool drain();
  bool has_queued() const { return !out_.empty(); }

 private:
  template <typename Resp, typename Req>
  Reply<Resp> call(proto::MsgType type, const Req& req);
  void append_request(uint16_t type, uint32_t seq, const void* body, size_t size);
  // One complete message from the input buffer, reading the socket as needed
  // for up to timeout_ms; valid until the next call.
  struct Frame {
    proto::Header header;
    const uint8_t* body;
    size_t size;
  };
  std::optional<Frame> next_frame(int timeout_ms);
  enum class Fill { data, nothing, broken };
  Fill fill(int timeout_ms);
  void dispatch_queued(const Frame& f);

  int fd_ = -1;
  uint32_t seq_ = 0;
  bool broken_ = false;                  // closed by the peer or unframeable input
  std::vector<uint8_t> in_;              // bytes read, in_[in_begin_..] not yet consumed
  size_t in_begin_ = 0;
  std::vector<uint8_t> out_;             // queued requests not yet sent
  ReplyHandler queued_handler_;
  std::vector<proto::TimeoutEvent> pending_events_;
};

}  // namespace tandem::control
