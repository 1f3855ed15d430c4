#include "dataplane/control_handlers.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "dataplane/config.h"

namespace tandem::dp {

using namespace proto;

void ControlHandlers::handle(ControlClient& c, const Header& h, const uint8_t* body) {
  if (auto e = check_body(h)) return reply_error(c, h.seq, *e);
  switch (static_cast<MsgType>(h.type)) {
#define TANDEM_X(name, num, req, rep)      \
  case MsgType::name: {                    \
    req r;                                 \
    std::memcpy(&r, body, sizeof r);       \
    on_##name(c, h.seq, r);                \
    break;                                 \
  }
    TANDEM_CONTROL_MESSAGES(TANDEM_X)
#undef TANDEM_X
    default:
      break;  // check_body refused it
  }
}

void ControlHandlers::reply_error(ControlClient& c, uint32_t seq, const Error& e) {
  server_->count_error();
  spdlog::debug("control: client {}: {} ({})", c.id, e.message, error_name(e.code));
  ControlServer::send(c, encode_error(seq, e));
}

template <typename T>
void ControlHandlers::reply(ControlClient& c, MsgType t, uint32_t seq, const T& body) {
  ControlServer::send(c, encode(reply_type(t), seq, body));
}

// A remote known from signalling gets its next hop resolved now, so that the
// first media packet towards it does not wait for ARP.
void ControlHandlers::resolve_early(const LegInfo& leg) {
  if (leg.remote_ip == 0) return;
  const uint32_t hop = rt_.ports.views()[leg.port].next_hop(leg.remote_ip);
  if (hop == 0 || rt_.neighbors->lookup(leg.port, hop)) return;
  const uintptr_t req = (uintptr_t{leg.port} << 32) | hop;
  rte_ring_mp_enqueue(rt_.resolve_ring, reinterpret_cast<void*>(req));
}

Limits ControlHandlers::limits() const {
  uint32_t mask = 0;
  for (const PortConfig& p : rt_.config.ports) mask |= 1u << p.port_id;
  return {mask, rt_.config.relay_port_min, rt_.config.relay_port_max};
}

void ControlHandlers::on_hello(ControlClient& c, uint32_t seq, const HelloRequest& r) {
  char name[sizeof r.client + 1] = {};
  std::memcpy(name, r.client, sizeof r.client);
  spdlog::info("control: client {} says hello: '{}'", c.id, name);
  HelloReply out{};
  out.version = kVersion;
  out.workers = static_cast<uint16_t>(rt_.workers.size());
  out.max_sessions = rt_.sessions->capacity();
  out.port_count = static_cast<uint16_t>(rt_.config.ports.size());
  out.relay_port_min = rt_.config.relay_port_min;
  out.relay_port_max = rt_.config.relay_port_max;
  for (const PortConfig& p : rt_.config.ports) {
    out.port_ip[p.port_id] = p.ip;
    std::strncpy(out.port_role[p.port_id], p.role.c_str(), sizeof out.port_role[p.port_id] - 1);
  }
  reply(c, MsgType::hello, seq, out);
}

void ControlHandlers::on_create_session(ControlClient& c, uint32_t seq, const CreateRequest& r) {
  if (auto e = validate(r, limits())) return reply_error(c, seq, *e);
  const uint32_t now = rt_.clock.now_ms();
  const auto created = rt_.sessions->create(r, now);
  if (created.error) return reply_error(c, seq, *created.error);
  ++rt_.counters.sessions_created;
  SessionInfo info;
  rt_.sessions->info(created.id, now, info);
  for (const LegInfo& leg : info.legs) resolve_early(leg);
  reply(c, MsgType::create_session, seq, info);
}

void ControlHandlers::on_update_leg(ControlClient& c, uint32_t seq, const UpdateLegRequest& r) {
  if (auto e = validate(r, limits())) return reply_error(c, seq, *e);
  if (auto e = rt_.sessions->update(r, rt_.clock.now_ms())) return reply_error(c, seq, *e);
  SessionInfo info;
  rt_.sessions->info(r.session_id, rt_.clock.now_ms(), info);
  resolve_early(info.legs[r.leg]);
  reply(c, MsgType::update_leg, seq, info);
}

// The reply carries the final counters, known once the workers let go of the
// session: it waits for that, and so do this client's later replies, not the
// other clients (settle()).
void ControlHandlers::on_delete_session(ControlClient& c, uint32_t seq, const SessionRequest& r) {
  auto retired = rt_.sessions->retire({&r.session_id, 1});
  if (retired.slots.empty()) {
    return reply_error(c, seq, {ErrorCode::no_such_session, "no session " + std::to_string(r.session_id)});
  }
  retiring_.push_back({std::move(retired), c.id, ControlServer::defer(c), seq});
}

void ControlHandlers::on_query_session(ControlClient& c, uint32_t seq, const SessionRequest& r) {
  SessionInfo info;
  if (auto e = rt_.sessions->info(r.session_id, rt_.clock.now_ms(), info)) return reply_error(c, seq, *e);
  reply(c, MsgType::query_session, seq, info);
}

void ControlHandlers::on_list_sessions(ControlClient& c, uint32_t seq, const ListRequest& r) {
  if (auto e = validate(r)) return reply_error(c, seq, *e);
  std::vector<SessionInfo> items;
  items.reserve(r.max_items);
  ListReply head{};
  head.next_cursor = rt_.sessions->list(r.cursor, r.max_items, rt_.clock.now_ms(), items);
  head.count = static_cast<uint32_t>(items.size());
  head.total_sessions = rt_.sessions->size();
  std::vector<uint8_t> body(sizeof head + items.size() * sizeof(SessionInfo));
  std::memcpy(body.data(), &head, sizeof head);
  if (!items.empty()) std::memcpy(body.data() + sizeof head, items.data(), items.size() * sizeof(SessionInfo));
  ControlServer::send(c, encode(reply_type(MsgType::list_sessions), seq, body.data(), body.size()));
}

void ControlHandlers::on_subscribe(ControlClient& c, uint32_t seq, const SubscribeRequest& r) {
  if (auto e = validate(r)) return reply_error(c, seq, *e);
  c.events = r.events;
  reply(c, MsgType::subscribe, seq, r);
}

void ControlHandlers::on_health(ControlClient& c, uint32_t seq, const HealthRequest& r) {
  if (auto e = validate(r)) return reply_error(c, seq, *e);
  HealthReply out;
  fill_health(out);
  reply(c, MsgType::health, seq, out);
}

void ControlHandlers::on_punt_offenders(ControlClient& c, uint32_t seq, const OffendersRequest& r) {
  if (auto e = validate(r)) return reply_error(c, seq, *e);
  const auto all = policers(rt_);
  const PuntTableUse use = table_use(all);
  OffendersReply out{};
  out.sources = static_cast<uint32_t>(use.sources);
  out.evictions = use.evictions;
  const auto top = top_offenders(all, rte_rdtsc(), r.max_items);
  out.count = static_cast<uint32_t>(top.size());
  std::copy(top.begin(), top.end(), out.offenders);
  reply(c, MsgType::punt_offenders, seq, out);
}

void ControlHandlers::fill_health(HealthReply& out) const {
  out = HealthReply{};
  out.uptime_s = rt_.clock.now_ms() / 1000;
  out.sessions = rt_.sessions->size();
  out.max_sessions = rt_.sessions->capacity();
  out.session_memory_bytes = rt_.sessions->memory_per_session();
  out.workers = static_cast<uint16_t>(rt_.workers.size());
  out.ports = static_cast<uint16_t>(rt_.config.ports.size());
  out.clients = server_ ? server_->clients() : 0;
  for (const rte_mempool* mp : rt_.ports.pools()) {
    out.mbufs_in_use += rte_mempool_in_use_count(mp);
    out.mbufs_total += mp->size;
  }
  out.neighbors = rt_.neighbors->size();
  out.timeouts = rt_.counters.timeouts;
  out.control_errors = server_ ? server_->errors() : 0;
  out.sessions_created = rt_.counters.sessions_created;
  out.sessions_deleted = rt_.counters.sessions_deleted;
  for (size_t w = 0; w < rt_.workers.size(); ++w) {
    const WorkerCounters& wc = rt_.workers[w]->counters;
    for (size_t d = 0; d < kDropReasonCount && d < kMaxDropReasons; ++d) out.drops[d] += counter_read(wc.drops[d]);
    if (w >= kMaxWorkers) continue;
    WorkerHealth& h = out.worker[w];
    h.rx = counter_read(wc.rx);
    h.relayed = counter_read(wc.relayed);
    h.tx = h.relayed + counter_read(wc.punted);
    h.busy_polls = counter_read(wc.busy_polls);
    h.idle_polls = counter_read(wc.idle_polls);
    h.sleeps = counter_read(wc.sleeps);
    h.handed_off = counter_read(wc.handed_off);
    h.sleep_us = counter_read(wc.sleep_cycles) / std::max<uint64_t>(1, rte_get_tsc_hz() / 1'000'000);
  }
  for (size_t i = 0; i < rt_.config.ports.size() && i < kMaxPorts; ++i) {
    const uint16_t id = rt_.config.ports[i].port_id;
    PortHealth& p = out.port[i];
    rte_eth_stats s{};
    rte_eth_stats_get(id, &s);
    p.rx_packets = s.ipackets;
    p.tx_packets = s.opackets;
    p.rx_missed = s.imissed;
    p.rx_nombuf = s.rx_nombuf;
    p.rx_errors = s.ierrors;
    p.tx_errors = s.oerrors;
    const uint16_t tap = rt_.ports.views()[id].tap;
    if (tap != kNoPort) {
      rte_eth_stats ts{};
      rte_eth_stats_get(tap, &ts);
      p.punted = ts.opackets;
    }
    p.injected = rt_.counters.injected[id];
    p.ip = rt_.config.ports[i].ip;
    p.port_id = static_cast<uint8_t>(id);
    rte_eth_link link{};
    rte_eth_link_get_nowait(id, &link);
    p.link_up = link.link_status;
  }
}

void ControlHandlers::expire(std::span<const uint64_t> ids) {
  auto retired = rt_.sessions->retire(ids);
  if (!retired.slots.empty()) retiring_.push_back({std::move(retired), 0, 0, 0});
}

bool ControlHandlers::settle() {
  bool any = false;
  const uint32_t now = rt_.clock.now_ms();
  // Grace periods end in the order they started: the first unsettled one
  // means the rest are not settled either.
  while (!retiring_.empty() && rt_.sessions->settled(retiring_.front().sessions)) {
    const Retiring r = std::move(retiring_.front());
    retiring_.pop_front();
    any = true;
    rt_.sessions->finish(r.sessions, now, [&](const SessionInfo& info) {
      ++rt_.counters.sessions_deleted;
      if (r.client) {
        if (server_) server_->deliver(r.client, r.ticket, encode(reply_type(MsgType::delete_session), r.seq, info));
        return;
      }
      ++rt_.counters.timeouts;
      spdlog::info("session {} timed out after {} s idle", info.session_id,
                   std::min(info.legs[0].idle_ms, info.legs[1].idle_ms) / 1000);
      if (server_) {
        server_->broadcast(kEventTimeouts,
                           encode(static_cast<uint16_t>(MsgType::event_session_timeout), 0, TimeoutEvent{info}));
      }
    });
  }
  if (any && server_) server_->flush_delivered();
  return any;
}

}  // namespace tandem::dp
