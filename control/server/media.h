// A call's media on tandem-dataplane: one session per call, leg 0 facing the
// caller and leg 1 the callee, each on the dataplane port of its side
// (providers and SBCs: external; customers' VMs: internal). The call server's
// SIP thread owns it. Creating a session waits for the dataplane (the SDP needs
// the relay's ports); updates and deletes are queued and go out with the next
// request or flush(), their outcomes collected later: one wake-up of the
// dataplane serves several. A second connection carries the dataplane's events.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
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
  // `latch`: the lock bits of the legs' mode (proto::latch_mode_bits): who
  // may latch a leg whose remote the SDP gave.
  explicit Media(uint8_t latch = proto::kModeLockAddress) : mode_(proto::kModeLearn | proto::kModeStrict | latch) {}

  // Connects both sockets and finds the ports by role ("" = the first port;
  // internal "" = the external one).
  bool open(const std::string& socket, const std::string& external_role, const std::string& internal_role,
            std::string& error);
  // After the dataplane went away: both connections again, as open() made them.
  bool reopen(std::string& error);
  // The dataplane closed the events connection (it stopped or restarted).
  bool lost() const { return events_.peer_closed(); }

  struct CreateOptions {
    // Not 0: leg 0 on this relay address and port (the caller's, kept across the attendant).
    uint32_t caller_ip = 0;       // network order
    uint16_t caller_port = 0;
    bool callee_is_node = false;  // leg 1 is the attendant: leg 0's media goes to the node (proto::kModeNode)
  };
  // Leg 0 towards the caller at `caller` (its side `caller_side`), leg 1 towards
  // the callee on the other side, its remote learnt from the answer.
  bool create(const MediaEndpoint& caller, Side caller_side, Side callee_side, MediaAnchor& anchor,
              std::string& error, const CreateOptions& options);
  bool create(const MediaEndpoint& caller, Side caller_side, Side callee_side, MediaAnchor& anchor,
              std::string& error) {
    return create(caller, caller_side, callee_side, anchor, error, CreateOptions{});
  }
  // Queued: the leg's remote from the SDP of its side (checked here as the
  // dataplane checks it).
  bool update(uint64_t session, int leg, const MediaEndpoint& remote, std::string& error);
  // The leg's remote as signalled last (address, ports, clock), to put back when an offer
  // that changed it is refused; none for a session not tracked.
  std::optional<MediaEndpoint> remote(uint64_t session, int leg) const;
  // Queued: deletes the session; its final counters come as an Outcome.
  void finish(uint64_t session);
  // Sends what is queued and reads the replies already there.
  void flush();
  // Requests queued or replies awaited: flush() again later.
  bool busy() const { return requests_.has_queued() || !awaited_.empty(); }
  // Waits until every queued request has its reply or failed (at shutdown;
  // bounded by the client's reply timeout).
  void settle();
  struct Outcome {
    uint64_t session = 0;
    bool deleted = false;                    // a finish(); quality holds the final counters
    std::array<cdr::LegQuality, 2> quality{};
    std::string error;                       // why the request failed, empty if it did not
  };
  // What the queued requests came to since the last call.
  std::vector<Outcome> outcomes() { return std::exchange(outcomes_, {}); }

  // The events connection: readable when the dataplane expired sessions.
  int event_fd() const;
  struct Expired {
    uint64_t session;
    std::array<cdr::LegQuality, 2> quality;
  };
  // The sessions the dataplane expired since the last call (reads what is there).
  std::vector<Expired> expired();

  // Surviving a dataplane restart. Media keeps every live session as the
  // dataplane should have it (legs, relay ports, remotes from signalling) and
  // what it had counted: sample() reads every session's counters (a restart
  // loses what was counted since the last sample); restore(), after
  // reopen(), creates them all again on the same relay ports with the same
  // remotes, the counters so far carried into the final ones.
  bool sample(std::string& error);
  struct Restored {
    uint64_t old_session;
    uint64_t session;  // 0: the dataplane refused (`error`); forget() the old one
    std::string error;
  };
  std::vector<Restored> restore();
  // What is known of a session the dataplane lost (its counters so far), and
  // no more tracking of it.
  std::array<cdr::LegQuality, 2> forget(uint64_t session);
  size_t tracked() const { return sessions_.size(); }
  // Before and after a restart: sums, the larger maximum jitter, the mean
  // weighted by packets.
  static std::array<cdr::LegQuality, 2> combined(const std::array<cdr::LegQuality, 2>& before,
                                                 const std::array<cdr::LegQuality, 2>& after);

  static std::array<cdr::LegQuality, 2> quality_of(const proto::SessionInfo& info);

 private:
  uint8_t port_of(Side s) const { return s == Side::external ? external_port_ : internal_port_; }
  proto::LegSpec leg_spec(const MediaEndpoint& e, uint8_t port) const;
  void on_reply(const proto::Header& h, const uint8_t* body, size_t size);
  // The connection is gone: every awaited request fails with `why`.
  void fail_awaited(const std::string& why);

  struct Awaited {
    uint32_t seq;
    uint64_t session;
    bool deleted;
  };
  void fail_one(const Awaited& a, const std::string& why);
  std::deque<Awaited> awaited_;  // in request order, as the replies come
  std::vector<Outcome> outcomes_;
  std::string socket_, external_role_, internal_role_;
  DataplaneClient requests_;
  DataplaneClient events_;
  // Samples of every session's counters, on a connection of their own: a
  // synchronous list there neither waits behind nor swallows the replies
  // queued on requests_.
  DataplaneClient samples_;
  uint8_t external_port_ = 0;
  uint8_t internal_port_ = 0;
  std::array<std::string, 2> side_ip_;   // by Side
  uint8_t mode_;  // the legs' mode bits
  struct Tracked {
    proto::CreateRequest spec;                  // relay ports filled in, remotes as signalled last
    std::array<cdr::LegQuality, 2> before{};    // counted by dataplanes that are gone
    std::array<cdr::LegQuality, 2> sampled{};   // the last sample of the current one
  };
  std::unordered_map<uint64_t, Tracked> sessions_;
  // A session's final counters: what it had before restarts plus `last`.
  std::array<cdr::LegQuality, 2> settle_counters(uint64_t session, const std::array<cdr::LegQuality, 2>& last);
};

}  // namespace tandem::control
