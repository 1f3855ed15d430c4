#include "dataplane/session_table.h"

#include <arpa/inet.h>
#include <rte_malloc.h>

#include <algorithm>
#include <cstring>

#include "dataplane/session_info.h"
#include "dataplane_protocol/address.h"

namespace tandem::dp {
namespace {

size_t heap_allocated(int socket) {
  rte_malloc_socket_stats s{};
  rte_malloc_get_socket_stats(socket, &s);
  return s.heap_allocsz_bytes;
}

proto::Error error(proto::ErrorCode c, std::string m) { return {c, std::move(m)}; }

void init_leg(LegPath& leg, LegCounters& c, const proto::LegSpec& s, uint32_t local_ip, uint16_t local_port_host,
              uint32_t now_ms) {
  std::memset(static_cast<void*>(&leg), 0, sizeof leg);
  std::memset(static_cast<void*>(&c), 0, sizeof c);
  Remote r{s.remote_ip, htons(s.remote_port),
           htons(s.remote_rtcp_port ? s.remote_rtcp_port : static_cast<uint16_t>(s.remote_port + 1))};
  if (!s.remote_port) r = Remote{};
  leg.remote.store(r.pack(), std::memory_order_relaxed);
  leg.local_ip = local_ip;
  leg.local_port = htons(local_port_host);
  leg.flags.store(s.mode, std::memory_order_relaxed);
  leg.port = s.port;
  c.last_rx_ms = now_ms;
  c.rtp.clock_khz = s.clock_khz ? s.clock_khz : 8;
}

// The index's rows: each configured address once.
std::vector<uint32_t> local_addresses(const std::vector<std::vector<uint32_t>>& port_ips) {
  std::vector<uint32_t> out;
  for (const auto& ips : port_ips) {
    for (uint32_t ip : ips) {
      if (ip != 0 && std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(ip);
    }
  }
  return out;
}

unsigned address_count(const std::vector<std::vector<uint32_t>>& port_ips) {
  size_t n = 0;
  for (const auto& ips : port_ips) n += ips.size();
  return static_cast<unsigned>(n);
}

}  // namespace

SessionTable::SessionTable(uint32_t capacity, const SessionTableParams& p)
    : capacity_(capacity),
      port_ips_(p.port_ips),
      rcu_(p.rcu),
      ports_(address_count(p.port_ips), p.relay_port_min, p.relay_port_max) {
  unsigned number = 0;
  for (size_t port = 0; port < port_ips_.size(); ++port) {
    first_address_.push_back(number);
    for (uint32_t ip : port_ips_[port]) address_numbers_[(uint64_t{port} << 32) | ip] = number++;
  }
  next_address_.assign(port_ips_.size(), 0);
}

std::unique_ptr<SessionTable> SessionTable::create(const SessionTableParams& p, std::string& err) {
  std::unique_ptr<SessionTable> t(new SessionTable(p.max_sessions, p));
  const size_t heap_before = heap_allocated(p.socket_id);

  const std::vector<uint32_t> addresses = local_addresses(p.port_ips);
  const size_t entries = SessionIndex::entries_for(addresses.size(), p.relay_port_min, p.relay_port_max);
  t->index_entries_ = static_cast<uint32_t*>(
      rte_zmalloc_socket("tandem_index", sizeof(uint32_t) * std::max<size_t>(entries, 1), RTE_CACHE_LINE_SIZE,
                         p.socket_id));
  t->sessions_ = static_cast<Session*>(
      rte_zmalloc_socket("tandem_sessions", sizeof(Session) * p.max_sessions, RTE_CACHE_LINE_SIZE, p.socket_id));
  if (!t->index_entries_ || !t->sessions_) {
    err = "cannot allocate " + std::to_string(sizeof(Session) * p.max_sessions + sizeof(uint32_t) * entries) +
          " bytes for sessions and their index";
    return nullptr;
  }
  t->index_.emplace(addresses, p.relay_port_min, p.relay_port_max, std::span(t->index_entries_, entries));
  t->meta_.resize(p.max_sessions);
  for (uint32_t i = 0; i < p.max_sessions; ++i) t->meta_[i] = Meta{0, i + 1 < p.max_sessions ? i + 1 : kNoSlot};
  t->free_head_ = 0;

  const size_t table_bytes = heap_allocated(p.socket_id) - heap_before + sizeof(Meta) * p.max_sessions;
  t->memory_per_session_ = static_cast<uint32_t>(table_bytes / p.max_sessions);
  return t;
}

SessionTable::~SessionTable() {
  rte_free(index_entries_);
  rte_free(sessions_);
}

std::optional<uint32_t> SessionTable::live_slot(uint64_t id) const {
  const uint32_t slot = proto::session_slot(id);
  if (slot >= capacity_ || meta_[slot].generation != proto::session_generation(id) || !(meta_[slot].generation & 1)) {
    return std::nullopt;
  }
  return slot;
}

SessionTable::Created SessionTable::create(const proto::CreateRequest& r, uint32_t now_ms) {
  Created c;
  if (free_head_ == kNoSlot) {
    c.error = error(proto::ErrorCode::table_full, "all " + std::to_string(capacity_) + " sessions in use");
    return c;
  }
  std::optional<Local> local[2];
  for (unsigned i = 0; i < 2; ++i) {
    local[i] = take_local(r.legs[i], i, c.error);
    if (!local[i]) {
      if (i == 1) ports_.give_back(local[0]->address, local[0]->port);
      return c;
    }
  }
  const uint32_t slot = free_head_;
  Session& s = sessions_[slot];
  for (unsigned i = 0; i < 2; ++i) {
    init_leg(s.paths[i], s.counters[i], r.legs[i], local[i]->ip, local[i]->port, now_ms);
  }

  // Publishing the index entries is what makes the session visible to workers:
  // everything above is written before (insert() has release semantics). An
  // entry is taken only when two ports share an address and a relay port.
  for (unsigned i = 0; i < 2; ++i) {
    if (index_->insert(local[i]->ip, local[i]->port, leg_ref(slot, i))) continue;
    if (i == 1) {
      index_->remove(local[0]->ip, local[0]->port);
      rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
      index_->release(local[0]->ip, local[0]->port);
    }
    for (const auto& l : local) ports_.give_back(l->address, l->port);
    c.error = error(proto::ErrorCode::table_full,
                    "leg " + std::to_string(i) + ": its address and port are indexed already");
    return c;
  }
  Meta& m = meta_[slot];
  free_head_ = m.created_s_or_next_free;
  m.generation += 1;  // odd: live
  m.created_s_or_next_free = now_ms / 1000;
  ++live_;
  c.id = proto::make_session_id(slot, m.generation);
  return c;
}

std::optional<SessionTable::Local> SessionTable::take_local(const proto::LegSpec& s, unsigned leg,
                                                            std::optional<proto::Error>& err) {
  const std::string which = "leg " + std::to_string(leg) + ": ";
  const std::vector<uint32_t>& ips = port_ips_[s.port];
  if (s.local_ip || s.local_port) {
    // Asked for: where a restarted call server or a transfer had the leg.
    const uint32_t ip = s.local_ip ? s.local_ip : ips.front();
    const auto it = address_numbers_.find((uint64_t{s.port} << 32) | ip);
    if (it == address_numbers_.end()) {
      err = error(proto::ErrorCode::port_unavailable,
                  which + proto::format_ipv4(ip) + " is not an address of port " + std::to_string(s.port));
      return std::nullopt;
    }
    if (const uint16_t port = ports_.take(it->second, s.local_port)) return Local{it->second, ip, port};
    err = s.local_port ? error(proto::ErrorCode::port_unavailable,
                               which + "port " + std::to_string(s.local_port) + " in use on " + proto::format_ipv4(ip))
                       : error(proto::ErrorCode::no_free_port, which + "relay port range of " + proto::format_ipv4(ip) +
                                                                   " exhausted");
    return std::nullopt;
  }
  // Legs go round the port's addresses, so that each address's range lasts.
  unsigned& next = next_address_[s.port];
  for (size_t k = 0; k < ips.size(); ++k) {
    const unsigned a = static_cast<unsigned>((next + k) % ips.size());
    if (const uint16_t port = ports_.take(first_address_[s.port] + a, 0)) {
      next = static_cast<unsigned>((a + 1) % ips.size());
      return Local{first_address_[s.port] + a, ips[a], port};
    }
  }
  err = error(proto::ErrorCode::no_free_port, which + "relay port range exhausted on every address of port " +
                                                  std::to_string(s.port));
  return std::nullopt;
}

std::optional<proto::Error> SessionTable::update(const proto::UpdateLegRequest& r, uint32_t now_ms) {
  const auto slot = live_slot(r.session_id);
  if (!slot) return error(proto::ErrorCode::no_such_session, "no session " + std::to_string(r.session_id));
  LegPath& leg = sessions_[*slot].paths[r.leg];
  Remote remote{};
  if (r.remote_port) {
    remote = {r.remote_ip, htons(r.remote_port),
              htons(r.remote_rtcp_port ? r.remote_rtcp_port : static_cast<uint16_t>(r.remote_port + 1))};
  }
  if (r.clock_khz) counter_set(sessions_[*slot].counters[r.leg].rtp.clock_khz, r.clock_khz);
  // A new remote from control (an SDP answer, a re-INVITE) starts latching over, and has the
  // whole --idle-timeout to send its first packet: the answer is when media becomes due.
  leg.remote.store(remote.pack(), std::memory_order_release);
  if (remote.known()) counter_set(sessions_[*slot].counters[r.leg].last_rx_ms, now_ms);
  leg.flags.store(r.mode, std::memory_order_release);
  return std::nullopt;
}

std::optional<proto::Error> SessionTable::info(uint64_t id, uint32_t now_ms, proto::SessionInfo& out) const {
  const auto slot = live_slot(id);
  if (!slot) return error(proto::ErrorCode::no_such_session, "no session " + std::to_string(id));
  fill_info(*slot, now_ms, out);
  return std::nullopt;
}

void SessionTable::fill_info(uint32_t slot, uint32_t now_ms, proto::SessionInfo& out) const {
  out = proto::SessionInfo{};
  out.session_id = proto::make_session_id(slot, meta_[slot].generation);
  out.age_s = now_ms / 1000 - meta_[slot].created_s_or_next_free;
  for (unsigned i = 0; i < 2; ++i) read_leg_info(sessions_[slot], i, now_ms, out.legs[i]);
}

SessionTable::Retirement SessionTable::retire(std::span<const uint64_t> ids) {
  Retirement r;
  r.slots.reserve(ids.size());
  for (uint64_t id : ids) {
    const auto slot = live_slot(id);
    if (!slot) continue;
    unindex(*slot, &SessionIndex::remove);
    meta_[*slot].generation += 1;  // even: dead, so the id is refused from now on
    r.slots.push_back(*slot);
  }
  if (!r.slots.empty()) r.token = rte_rcu_qsbr_start(rcu_);
  return r;
}

bool SessionTable::settled(const Retirement& r) const { return rte_rcu_qsbr_check(rcu_, r.token, false) == 1; }

void SessionTable::finish(const Retirement& r, uint32_t now_ms,
                          const std::function<void(const proto::SessionInfo&)>& done) {
  for (uint32_t slot : r.slots) {
    unindex(slot, &SessionIndex::release);
    proto::SessionInfo info;
    fill_info(slot, now_ms, info);
    info.session_id = proto::make_session_id(slot, meta_[slot].generation - 1);
    release_ports(slot);
    meta_[slot].created_s_or_next_free = free_head_;
    free_head_ = slot;
    --live_;
    done(info);
  }
}

void SessionTable::unindex(uint32_t slot, void (SessionIndex::*step)(uint32_t, uint16_t)) {
  for (const LegPath& leg : sessions_[slot].paths) ((*index_).*step)(leg.local_ip, ntohs(leg.local_port));
}

void SessionTable::release_ports(uint32_t slot) {
  for (const LegPath& leg : sessions_[slot].paths) ports_.give_back(address_of(leg.port, leg.local_ip), ntohs(leg.local_port));
}

uint64_t SessionTable::list(uint64_t cursor, uint32_t max, uint32_t now_ms,
                            std::vector<proto::SessionInfo>& out) const {
  for (uint64_t slot = cursor; slot < capacity_; ++slot) {
    if (!(meta_[slot].generation & 1)) continue;
    if (out.size() == max) return slot;
    out.emplace_back();
    fill_info(static_cast<uint32_t>(slot), now_ms, out.back());
  }
  return 0;
}

std::vector<uint64_t> SessionTable::idle(uint32_t now_ms, uint32_t idle_ms, uint32_t offer_ms) const {
  // A leg towards the node (the attendant) has no remote of its own and needs none.
  auto known = [](const LegPath& p) {
    return (p.flags.load(std::memory_order_relaxed) & kLegNode) ||
           Remote::unpack(p.remote.load(std::memory_order_relaxed)).known();
  };
  // Signed: a worker may stamp a leg after `now_ms` was read.
  auto idle_for = [now_ms](const LegCounters& c) { return static_cast<int32_t>(now_ms - counter_read(c.last_rx_ms)); };
  std::vector<uint64_t> ids;
  for (uint32_t slot = 0; slot < capacity_; ++slot) {
    if (!(meta_[slot].generation & 1)) continue;
    const Session& s = sessions_[slot];
    const uint32_t limit = known(s.paths[0]) && known(s.paths[1]) ? idle_ms : offer_ms;
    if (limit == 0) continue;
    const bool quiet = idle_for(s.counters[0]) >= static_cast<int32_t>(limit) &&
                       idle_for(s.counters[1]) >= static_cast<int32_t>(limit);
    if (quiet) ids.push_back(proto::make_session_id(slot, meta_[slot].generation));
  }
  return ids;
}

}  // namespace tandem::dp
