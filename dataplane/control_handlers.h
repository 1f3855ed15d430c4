// What each control message does, one handler per entry of
// TANDEM_CONTROL_MESSAGES; runs on the housekeeping thread.
#pragma once

#include "dataplane/control_server.h"
#include "dataplane/runtime.h"

namespace tandem::dp {

class ControlHandlers {
 public:
  explicit ControlHandlers(Runtime& rt) : rt_(rt) {}
  void attach(ControlServer* server) { server_ = server; }
  void handle(ControlClient& c, const proto::Header& h, const uint8_t* body);

  // Removes sessions and tells subscribers (idle timeouts).
  void expire(std::span<const uint64_t> ids);
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

  Runtime& rt_;
  ControlServer* server_ = nullptr;
};

}  // namespace tandem::dp
