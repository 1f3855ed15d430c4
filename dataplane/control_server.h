// The control socket's transport: a non-blocking Unix stream server for several
// clients, framing, bounded buffers. What a message means is the handler's job.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dataplane_protocol/codec.h"

namespace tandem::dp {

// A reply whose place in the client's order is kept while it is not ready
// (a delete waiting for the workers' grace period): replies go out in request
// order, so what the client asked after it waits behind it, and only that.
struct DeferredReply {
  uint64_t ticket;
  bool ready = false;
  std::vector<uint8_t> bytes;
};

struct ControlClient {
  int fd = -1;
  uint64_t id = 0;
  uint32_t events = 0;            // subscribed proto::kEvent* bits
  std::vector<uint8_t> in;
  std::vector<uint8_t> out;
  size_t out_sent = 0;
  std::deque<DeferredReply> deferred;  // the first is not ready; the rest wait behind it
  size_t deferred_bytes = 0;
  uint64_t next_ticket = 1;
  bool closing = false;           // flush `out` (and what is deferred), then close

  size_t pending() const { return out.size() - out_sent + deferred_bytes; }
};

class ControlServer {
 public:
  // Handles one well-framed message (header checked, body of `length` bytes)
  // and appends the reply to client.out.
  using Handler = std::function<void(ControlClient& client, const proto::Header& h, const uint8_t* body)>;

  ControlServer(Handler handler) : handler_(std::move(handler)) {}
  ~ControlServer();
  bool listen(const std::string& path, std::string& error);
  // Waits up to timeout_ms for socket activity and serves it. Returns whether
  // anything happened.
  bool poll(int timeout_ms);
  // Queues a message for every client subscribed to `event`; flush_delivered()
  // sends it (a mass timeout: one write per client, not one per session).
  void broadcast(uint32_t event, const std::vector<uint8_t>& message);

  // A reply to `c`, behind whatever it waits for.
  static void send(ControlClient& c, const std::vector<uint8_t>& message);
  // Keeps the next reply's place; deliver() fills it in (or drops it, when
  // the client is gone by then).
  static uint64_t defer(ControlClient& c);
  void deliver(uint64_t client_id, uint64_t ticket, std::vector<uint8_t> message);
  // Sends what deliver() and broadcast() made ready: one write and one epoll
  // change per client for a whole batch of settled deletes, not one per reply.
  void flush_delivered();

  uint32_t clients() const { return static_cast<uint32_t>(clients_.size()); }
  uint64_t errors() const { return errors_; }
  void count_error() { ++errors_; }

 private:
  void accept_clients();
  void on_readable(ControlClient& c);
  void on_writable(ControlClient& c);
  void close_client(int fd);
  void watch(ControlClient& c);
  void drop_output(ControlClient& c);
  void to_flush(uint64_t client_id);

  Handler handler_;
  std::string path_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  uint64_t next_id_ = 1;
  uint64_t errors_ = 0;
  std::vector<std::unique_ptr<ControlClient>> clients_;
  std::vector<uint64_t> delivered_;  // clients given output since flush_delivered()
};

}  // namespace tandem::dp
