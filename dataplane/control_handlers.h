// What each control message does, one handler per entry of
// TANDEM_CONTROL_MESSAGES; runs on the housekeeping thread.
#pragma once

#include <deque>

#include "dataplane/control_server.h"
#include "dataplane/runtime.h"

namespace tandem::dp {

class ControlHandlers {
 public:
  explicit ControlHandlers(Runtime& rt) : rt_(rt) {}
  void attach(ControlServer* server) { server_ = server; }
  void handle(ControlClient& c, const proto::Header& h, const uint8_t* body);

  // Removes sessions and, once settle() finishes them, tells subscribers
  // (idle timeouts).
  void expire(std::span<const uint64_t> ids);
  // Finishes the deletes whose grace period is over: replies, events. Returns
  // whether it did anything; retiring() says whether some still wait.
  bool settle();
  bool retiring() const { return !retiring_.empty(); }
  void fill_health(proto::HealthReply& out) const;

 private:
#define TANDEM_X(name, num, req, rep) void on_##name(ControlClient& c, uint32_t seq, const proto::req& r);
  TANDEM_CONTROL_MESSAGES(TANDEM_X)
#undef TANDEM_X
  void reply_error(ControlClient& c, uint32_t seq, const proto::Error& e);
  template <typename T>
  void reply(ControlClient& c, proto::MsgType t, uint32_t seq, const T& body);
  proto::Limits limits() const;
  void resolve_early(const proto::LegInfo& leg);

  // A delete (client != 0: its reply's place) or idle timeouts (client 0).
  struct Retiring {
    SessionTable::Retirement sessions;
    uint64_t client;
    uint64_t ticket;
    uint32_t seq;
  };

  Runtime& rt_;
  ControlServer* server_ = nullptr;
  std::deque<Retiring> retiring_;
};

}  // namespace tandem::dp
