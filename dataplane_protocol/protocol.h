// The control <-> dataplane protocol (version 4), owned by the dataplane.
//
// Transport: a Unix stream socket; several clients at once. Every message is a
// Header followed by the body its type names. Integers are in host order (both
// ends share the host) except IPv4 addresses, which are in network order as in
// packets. Ports are in host order. The client picks `seq`; the reply echoes it,
// carries type | kReplyBit, or kError with an ErrorReply. Requests may be
// pipelined: replies come back in request order. Events (kEventSessionTimeout)
// are pushed with seq 0 to clients that subscribed.
//
// A message that cannot be framed (bad magic, version or length) gets an error
// reply and the connection is closed, since the stream cannot be resynchronised;
// a well-framed message with a bad field gets an error reply and the connection
// stays open.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane_protocol/drop_reasons.h"

namespace tandem::dp::proto {

inline constexpr uint32_t kMagic = 0x54445043;  // "TDPC"
inline constexpr uint16_t kVersion = 4;
inline constexpr uint32_t kMaxRequest = 4096;
inline constexpr uint32_t kMaxListItems = 128;
inline constexpr uint16_t kReplyBit = 0x8000;
inline constexpr uint32_t kMaxPorts = 8;
inline constexpr uint32_t kMaxWorkers = 16;
inline constexpr uint32_t kMaxDropReasons = 32;
inline constexpr uint32_t kMaxOffenders = 16;
static_assert(kDropReasonCount <= kMaxDropReasons, "HealthReply::drops has room for every drop reason");

// Every request type once: name, number, request body, reply body.
#define TANDEM_CONTROL_MESSAGES(X)                                   \
  X(hello, 1, HelloRequest, HelloReply)                              \
  X(create_session, 2, CreateRequest, SessionInfo)                   \
  X(update_leg, 3, UpdateLegRequest, SessionInfo)                    \
  X(delete_session, 4, SessionRequest, SessionInfo)                  \
  X(query_session, 5, SessionRequest, SessionInfo)                   \
  X(list_sessions, 6, ListRequest, ListReply)                        \
  X(subscribe, 7, SubscribeRequest, SubscribeRequest)                \
  X(health, 8, HealthRequest, HealthReply)                          \
  X(punt_offenders, 9, OffendersRequest, OffendersReply)

enum class MsgType : uint16_t {
#define TANDEM_X(name, num, req, rep) name = num,
  TANDEM_CONTROL_MESSAGES(TANDEM_X)
#undef TANDEM_X
  event_session_timeout = 0x4001,
  error = 0x7fff,
};

#define TANDEM_CONTROL_ERRORS(X)                                           \
  X(bad_magic, 1, "not a Tandem control message")                          \
  X(bad_version, 2, "protocol version not supported")                      \
  X(bad_length, 3, "length does not match the message type")               \
  X(too_large, 4, "message larger than the limit")                         \
  X(unknown_type, 5, "unknown message type")                               \
  X(bad_field, 6, "a field is out of range")                               \
  X(no_such_session, 7, "no such session")                                 \
  X(table_full, 8, "session table full")                                   \
  X(port_unavailable, 9, "relay port in use or out of range")              \
  X(no_free_port, 10, "no free relay port")

enum class ErrorCode : uint32_t {
#define TANDEM_X(name, num, text) name = num,
  TANDEM_CONTROL_ERRORS(TANDEM_X)
#undef TANDEM_X
};

const char* error_name(ErrorCode c);

struct Header {
  uint32_t magic;
  uint16_t version;
  uint16_t type;
  uint32_t length;  // header included
  uint32_t seq;
};

struct ErrorReply {
  uint32_t code;          // ErrorCode
  char message[124];      // NUL-terminated
};

struct HelloRequest {
  char client[32];        // NUL-terminated name, for logs
};

struct HelloReply {
  uint16_t version;
  uint16_t workers;
  uint32_t max_sessions;
  uint16_t port_count;
  uint16_t relay_port_min;
  uint16_t relay_port_max;
  uint16_t reserved;
  uint32_t port_ip[kMaxPorts];  // by DPDK port id, network order, its first address; 0 = not a configured port
  char port_role[kMaxPorts][16];  // operator's label (public, private...), NUL-terminated
};

// Leg mode bits, set by control (LegSpec::mode, UpdateLegRequest::mode).
inline constexpr uint8_t kModeLearn = 0x01;   // latch the remote from the first packet
inline constexpr uint8_t kModeStrict = 0x02;  // after latching, drop other sources
// When control gave a remote (from the SDP), only its address may latch the
// leg (the port may differ: NAT); with kModeLockPort its port too. Without
// either, anyone may latch a learning leg (the SDP's address is known wrong).
inline constexpr uint8_t kModeLockAddress = 0x04;
inline constexpr uint8_t kModeLockPort = 0x08;
// The leg's far end is the node itself (the attendant's media endpoint in
// tandem-control, bound on the other leg's relay address and port): the other
// leg's packets go to the node's kernel as they came, through the exception
// port, and nothing is sent from this leg. Clearing it (an update) makes the
// leg an ordinary one: the caller's relay port stays the same.
inline constexpr uint8_t kModeNode = 0x40;
inline constexpr uint8_t kModeDefault = kModeLearn | kModeStrict | kModeLockAddress;
inline constexpr uint8_t kModeAll = kModeLearn | kModeStrict | kModeLockAddress | kModeLockPort | kModeNode;
// LegInfo::flags: the mode bits and what the dataplane found.
inline constexpr uint8_t kFlagLatchedRtp = 0x10;
inline constexpr uint8_t kFlagLatchedRtcp = 0x20;

struct LegSpec {
  uint32_t remote_ip;         // network order; 0 = not known yet (learn, or update later)
  // One of the port's addresses (network order), or 0: the dataplane chooses
  // (spreading legs over the port's addresses; the first when local_port is given).
  uint32_t local_ip;
  uint16_t remote_port;       // 0 = not known yet
  uint16_t remote_rtcp_port;  // 0 = remote_port + 1; equal to remote_port for rtcp-mux
  uint16_t local_port;        // 0 = allocate; else even and inside the relay range
  uint8_t port;               // DPDK port id of a configured --port
  uint8_t mode;               // kMode* bits
  uint8_t clock_khz;          // RTP clock for jitter; 0 = 8 kHz
  uint8_t reserved[3];
};

struct CreateRequest {
  LegSpec legs[2];
};

struct UpdateLegRequest {
  uint64_t session_id;
  uint8_t leg;                // 0 or 1
  uint8_t mode;
  uint8_t clock_khz;          // 0 = unchanged
  uint8_t reserved;
  uint32_t remote_ip;         // network order
  uint16_t remote_port;
  uint16_t remote_rtcp_port;  // 0 = remote_port + 1
  uint32_t reserved2;
};

struct SessionRequest {
  uint64_t session_id;
};

struct LegInfo {
  uint32_t local_ip;          // network order
  uint32_t remote_ip;         // network order
  uint16_t local_port;
  uint16_t remote_port;
  uint16_t remote_rtcp_port;
  uint8_t port;
  uint8_t flags;              // kMode* | kFlagLatched* bits
  uint64_t packets;
  uint64_t bytes;
  uint32_t rtcp_packets;
  uint32_t drop_source;
  uint32_t drop_bad_rtp;
  uint32_t idle_ms;           // since this leg last received
  uint64_t rtp_expected;
  uint64_t rtp_received;
  int64_t rtp_lost;
  uint32_t jitter_us;
  uint32_t jitter_max_us;
  uint32_t jitter_mean_us;
  uint32_t ssrc;
  uint16_t ssrc_changes;
  uint8_t clock_khz;
  uint8_t worker;             // the worker that owns the leg + 1; 0 = none yet, or one worker only
  uint8_t reserved[4];
};

struct SessionInfo {
  uint64_t session_id;
  uint32_t age_s;
  uint32_t reserved;
  LegInfo legs[2];
};

struct ListRequest {
  uint64_t cursor;            // 0 to start; then the reply's next_cursor
  uint32_t max_items;         // 1..kMaxListItems
  uint32_t reserved;
};

struct ListReply {
  uint64_t next_cursor;       // 0: no more
  uint32_t count;             // SessionInfo items that follow
  uint32_t total_sessions;
};

inline constexpr uint32_t kEventTimeouts = 1;

struct SubscribeRequest {
  uint32_t events;            // kEvent* bits; the reply echoes the accepted set
  uint32_t reserved;
};

struct HealthRequest {
  uint32_t reserved[2];
};

struct PortHealth {
  uint64_t rx_packets;
  uint64_t tx_packets;
  uint64_t rx_missed;         // dropped by the NIC: its RX ring was full (rte_eth_stats.imissed)
  uint64_t rx_nombuf;         // dropped at RX: no mbuf to receive into (rte_eth_stats.rx_nombuf)
  uint64_t rx_errors;
  uint64_t tx_errors;
  uint64_t punted;            // to the kernel through the exception port
  uint64_t injected;          // from the kernel out of this port
  uint32_t ip;                // network order
  uint8_t link_up;
  uint8_t port_id;            // DPDK port id
  uint8_t reserved[2];
};

struct WorkerHealth {
  uint64_t rx;
  uint64_t tx;
  uint64_t relayed;
  uint64_t busy_polls;        // polls that found packets
  uint64_t idle_polls;
  uint64_t sleeps;
  uint64_t handed_off;        // packets of legs another worker owns, passed to it
  // Time asleep (adaptive mode), microseconds: 1 - its rate is the share of its
  // core the worker used. Polls that found packets / all polls is no load
  // figure under the budget policy, whose wakes nearly all find some.
  uint64_t sleep_us;
};

struct HealthReply {
  uint32_t uptime_s;
  uint32_t sessions;
  uint32_t max_sessions;
  uint32_t session_memory_bytes;  // table, lookup index and metadata, per session
  uint16_t workers;
  uint16_t ports;
  uint32_t clients;
  uint32_t mbufs_in_use;
  uint32_t mbufs_total;
  uint32_t neighbors;
  uint32_t timeouts;              // sessions removed by the idle timeout
  uint64_t control_errors;        // malformed or refused control messages
  uint64_t sessions_created;
  uint64_t sessions_deleted;
  uint64_t drops[kMaxDropReasons];
  PortHealth port[kMaxPorts];
  WorkerHealth worker[kMaxWorkers];
};

struct OffendersRequest {
  uint32_t max_items;         // 1..kMaxOffenders
  uint32_t reserved;
};

// A source whose packets to the kernel were dropped by the exception path's
// policing (per source or global), summed over the workers.
struct PuntOffender {
  uint32_t ip;                // network order; 0 = frames that are not IPv4
  uint32_t last_drop_ms;      // since its last drop
  uint64_t dropped;
  uint64_t passed;            // to the kernel
};

struct OffendersReply {
  uint32_t count;             // offenders that follow, most drops first
  uint32_t sources;           // sources the workers keep a bucket for now
  uint64_t evictions;         // buckets taken over by a new source, the table being full
  PuntOffender offenders[kMaxOffenders];
};

struct TimeoutEvent {
  SessionInfo info;
};

// The layout is the protocol: it must not change without a version bump.
static_assert(sizeof(Header) == 16);
static_assert(sizeof(ErrorReply) == 128);
static_assert(sizeof(HelloRequest) == 32);
static_assert(sizeof(HelloReply) == 48 + 16 * kMaxPorts);
static_assert(sizeof(LegSpec) == 20);
static_assert(sizeof(CreateRequest) == 40);
static_assert(sizeof(UpdateLegRequest) == 24);
static_assert(sizeof(SessionRequest) == 8);
static_assert(sizeof(LegInfo) == 96);
static_assert(sizeof(SessionInfo) == 208);
static_assert(sizeof(ListRequest) == 16);
static_assert(sizeof(ListReply) == 16);
static_assert(sizeof(SubscribeRequest) == 8);
static_assert(sizeof(HealthRequest) == 8);
static_assert(sizeof(PortHealth) == 72);
static_assert(sizeof(WorkerHealth) == 64);
static_assert(sizeof(HealthReply) == 64 + 8 * kMaxDropReasons + 72 * kMaxPorts + 64 * kMaxWorkers);
static_assert(sizeof(OffendersRequest) == 8);
static_assert(sizeof(PuntOffender) == 24);
static_assert(sizeof(OffendersReply) == 16 + 24 * kMaxOffenders);

// Session ids carry a generation so that a stale id never reaches a reused slot.
inline constexpr uint64_t make_session_id(uint32_t slot, uint32_t generation) {
  return (uint64_t{generation} << 32) | slot;
}
inline constexpr uint32_t session_slot(uint64_t id) { return static_cast<uint32_t>(id); }
inline constexpr uint32_t session_generation(uint64_t id) { return static_cast<uint32_t>(id >> 32); }

}  // namespace tandem::dp::proto
