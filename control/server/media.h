// A call's media on tandem-dataplane: one session per call, leg 0 facing the
// caller and leg 1 the callee, each on the dataplane port of its side
// (providers and SBCs: external; customers' VMs: internal). The call server's
// SIP thread owns it; requests are synchronous on the dataplane's Unix socket
// (tens of microseconds) and a second connection carries its events.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cdr/record.h"
#include "control/dataplane_client.h"
#include "control/server/sdp_rewrite.h"

namespace tandem::control {

enum class Side : uint8_t { external, internal };

struct MediaAnchor {
  uint64_t session = 0;                 // 0: none
  std::array<uint16_t, 2> local_port{};  // per leg: where the relay receives
  std::array<std::string, 2> local_ip{}; // per leg, dotted quad: what SDP carries
};

class Media {
 public:
  // Connects both sockets and finds the ports by role ("" = the first port;
  // internal "" = the external one).
  bool open(const std::string& socket, const std::string& external_role, const std::string& internal_role,
            std::string& error);
  // After the dataplane went away: both connections again, as open() made them.
  bool reopen(std::string& error);
  // The dataplane closed the events connection (it stopped or restarted).
  bool lost() const { return events_.peer_closed(); }

  // Leg 0 towards the caller at `caller` (its side `caller_side`), leg 1 towards
  // the callee on the other side, its remote learnt from the answer.
  bool create(const MediaEndpoint& caller, Side caller_side, Side callee_side, MediaAnchor& anchor,
              std::string& error);
  bool update(const MediaAnchor& anchor, int leg, const MediaEndpoint& remote, std::string& error);
  // Deletes the session; its final counters, per leg.
  bool finish(MediaAnchor& anchor, std::array<cdr::LegQuality, 2>& quality, std::string& error);

  // The events connection: readable when the dataplane expired sessions.
  int event_fd() const;
  struct Expired {
    uint64_t session;
    std::array<cdr::LegQuality, 2> quality;
  };
  // The sessions the dataplane expired since the last call (reads what is there).
  std::vector<Expired> expired();

  static std::array<cdr::LegQuality, 2> quality_of(const proto::SessionInfo& info);

 private:
  uint8_t port_of(Side s) const { return s == Side::external ? external_port_ : internal_port_; }
  std::string socket_, external_role_, internal_role_;
  DataplaneClient requests_;
  DataplaneClient events_;
  uint8_t external_port_ = 0;
  uint8_t internal_port_ = 0;
  std::array<std::string, 2> side_ip_;   // by Side
};

}  // namespace tandem::control
