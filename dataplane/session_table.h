// The media session table: a fixed array of sessions and the direct-indexed
// index from (local address, even local port) to a leg (session_index.h). One
// writer, the control thread; lock-free readers, the workers. A removed
// session's slot, relay ports and index entries are reused only after every
// worker has passed a quiescent state (rte_rcu_qsbr), which is also when its
// counters become final.
#pragma once

#include <rte_rcu_qsbr.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane_protocol/codec.h"
#include "dataplane/leg.h"
#include "dataplane/relay_ports.h"
#include "dataplane/session_index.h"

namespace tandem::dp {

struct SessionTableParams {
  uint32_t max_sessions;
  uint16_t relay_port_min;
  uint16_t relay_port_max;
  // By DPDK port id: its relay addresses (network order); empty: not a port.
  std::vector<std::vector<uint32_t>> port_ips;
  rte_rcu_qsbr* rcu;               // workers' quiescent-state variable
  int socket_id;
};

class SessionTable {
 public:
  static std::unique_ptr<SessionTable> create(const SessionTableParams& p, std::string& error);
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // Workers.
  const SessionIndex& index() const { return *index_; }
  Session& at(uint32_t slot) { return sessions_[slot]; }

  // Control thread.
  struct Created {
    uint64_t id = 0;
    std::optional<proto::Error> error;
  };
  Created create(const proto::CreateRequest& r, uint32_t now_ms);
  std::optional<proto::Error> update(const proto::UpdateLegRequest& r, uint32_t now_ms);
  std::optional<proto::Error> info(uint64_t id, uint32_t now_ms, proto::SessionInfo& out) const;
  // Deleting is two steps so that nothing waits for the workers: retire()
  // takes the sessions out of the index (their ids are refused from then on)
  // and starts a grace period; once settled(), no worker holds a pointer to
  // them and finish() frees their slots, ports and index entries and hands
  // each one's final counters to `done`. Unknown ids are skipped. Retirements
  // share grace periods: one quiescent state of each worker settles every one
  // started before it.
  struct Retirement {
    std::vector<uint32_t> slots;
    uint64_t token = 0;  // rte_rcu_qsbr_start()'s
  };
  Retirement retire(std::span<const uint64_t> ids);
  bool settled(const Retirement& r) const;
  void finish(const Retirement& r, uint32_t now_ms, const std::function<void(const proto::SessionInfo&)>& done);
  // Live sessions from slot `cursor` on, in slot order; returns the next cursor or 0.
  uint64_t list(uint64_t cursor, uint32_t max, uint32_t now_ms, std::vector<proto::SessionInfo>& out) const;
  // Sessions whose legs both received nothing for `idle_ms`, or for `offer_ms` when a leg's
  // remote is not known (its call is not answered, or holds with c=0.0.0.0: no media is due);
  // a leg towards the node counts as known. 0: never.
  std::vector<uint64_t> idle(uint32_t now_ms, uint32_t idle_ms, uint32_t offer_ms) const;

  uint32_t size() const { return live_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t memory_per_session() const { return memory_per_session_; }

 private:
  struct Meta {
    uint32_t generation;  // odd while the slot is live
    // Live: when the session was created, in seconds. Free: the next free slot,
    // so that the free list costs no memory of its own.
    uint32_t created_s_or_next_free;
  };
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  SessionTable(uint32_t capacity, const SessionTableParams& p);
  std::optional<uint32_t> live_slot(uint64_t id) const;
  // The relay address and port a leg gets (RelayPorts' address number, the
  // address, the port in host order), or why none.
  struct Local {
    unsigned address;
    uint32_t ip;
    uint16_t port;
  };
  std::optional<Local> take_local(const proto::LegSpec& s, unsigned leg, std::optional<proto::Error>& error);
  unsigned address_of(uint8_t port, uint32_t ip) const { return address_numbers_.at((uint64_t{port} << 32) | ip); }
  void fill_info(uint32_t slot, uint32_t now_ms, proto::SessionInfo& out) const;
  void release_ports(uint32_t slot);
  void unindex(uint32_t slot, void (SessionIndex::*step)(uint32_t, uint16_t));

  uint32_t capacity_;
  std::vector<std::vector<uint32_t>> port_ips_;
  std::vector<unsigned> first_address_;     // by port: RelayPorts' number of its first address
  std::vector<unsigned> next_address_;      // by port: where the spreading of legs goes on
  std::unordered_map<uint64_t, unsigned> address_numbers_;  // port << 32 | ip -> RelayPorts' number
  rte_rcu_qsbr* rcu_;
  uint32_t* index_entries_ = nullptr;
  std::optional<SessionIndex> index_;
  Session* sessions_ = nullptr;
  std::vector<Meta> meta_;
  uint32_t free_head_ = kNoSlot;
  RelayPorts ports_;
  uint32_t live_ = 0;
  uint32_t memory_per_session_ = 0;
};

}  // namespace tandem::dp
