#include "tools/tandemctl/session_json.h"

#include <fmt/format.h>

#include <algorithm>

#include "dataplane_protocol/address.h"
#include "dataplane_protocol/drop_reasons.h"
#include "dataplane_protocol/latch_mode.h"
#include "dataplane_protocol/session_id.h"

namespace tandem::ctl {

using namespace tandem::dp;
using proto::format_ipv4;
using nlohmann::json;

namespace {

std::string address(uint32_t ip, uint16_t port) {
  if (ip == 0 && port == 0) return "-";
  return format_ipv4(ip) + ":" + std::to_string(port);
}

json leg_json(const proto::LegInfo& l) {
  return {
      {"port", l.port},
      {"local", address(l.local_ip, l.local_port)},
      {"remote", address(l.remote_ip, l.remote_port)},
      {"remote_rtcp_port", l.remote_rtcp_port},
      {"latched", (l.flags & (proto::kFlagLatchedRtp | proto::kFlagLatchedRtcp)) != 0},
      {"learn", (l.flags & proto::kModeLearn) != 0},
      {"strict", (l.flags & proto::kModeStrict) != 0},
      {"latch", proto::latch_mode_name(l.flags)},
      {"packets", l.packets},
      {"bytes", l.bytes},
      {"rtcp_packets", l.rtcp_packets},
      {"drop_source", l.drop_source},
      {"drop_bad_rtp", l.drop_bad_rtp},
      {"idle_ms", l.idle_ms},
      {"rtp_expected", l.rtp_expected},
      {"rtp_received", l.rtp_received},
      {"rtp_lost", l.rtp_lost},
      {"jitter_us", l.jitter_us},
      {"jitter_max_us", l.jitter_max_us},
      {"jitter_mean_us", l.jitter_mean_us},
      {"ssrc", l.ssrc},
      {"ssrc_changes", l.ssrc_changes},
      {"clock_khz", l.clock_khz},
      {"worker", l.worker ? json(l.worker - 1) : json(nullptr)},
  };
}

// RFC 3550's cumulative loss goes negative when a sender repeats packets: that
// is duplicates, not a negative percentage of loss.
std::string loss_text(const proto::LegInfo& l) {
  if (l.rtp_lost < 0) return fmt::format("duplicates {}", -l.rtp_lost);
  const double pct = l.rtp_expected ? 100.0 * static_cast<double>(l.rtp_lost) / static_cast<double>(l.rtp_expected) : 0.0;
  return fmt::format("lost {} ({:.2f}%)", l.rtp_lost, pct);
}

// The share of its core a worker used since the dataplane started: what the
// adaptive mode's sleeps left of the uptime (busy mode: 100).
double awake_pct(const proto::HealthReply& h, const proto::WorkerHealth& w) {
  if (h.uptime_s == 0) return 100.0;
  const double awake = 1.0 - static_cast<double>(w.sleep_us) / (static_cast<double>(h.uptime_s) * 1e6);
  return 100.0 * std::clamp(awake, 0.0, 1.0);
}

}  // namespace

json to_json(const proto::SessionInfo& s) {
  return {{"id", s.session_id}, {"id_text", proto::session_id_text(s.session_id)}, {"age_s", s.age_s}, {"legs", {leg_json(s.legs[0]), leg_json(s.legs[1])}}};
}

json to_json(const proto::HealthReply& h) {
  json drops = json::object();
  for (size_t i = 0; i < kDropReasonCount; ++i) drops[std::string(kDropReasonNames[i])] = h.drops[i];
  json ports = json::array();
  for (unsigned i = 0; i < h.ports && i < proto::kMaxPorts; ++i) {
    const auto& p = h.port[i];
    ports.push_back({{"port", p.port_id}, {"ip", format_ipv4(p.ip)}, {"link_up", p.link_up != 0},
                     {"rx_packets", p.rx_packets}, {"tx_packets", p.tx_packets}, {"rx_missed", p.rx_missed},
                     {"rx_nombuf", p.rx_nombuf}, {"rx_errors", p.rx_errors}, {"tx_errors", p.tx_errors},
                     {"punted", p.punted}, {"injected", p.injected}});
  }
  json workers = json::array();
  for (unsigned i = 0; i < h.workers && i < proto::kMaxWorkers; ++i) {
    const auto& w = h.worker[i];
    const uint64_t polls = w.busy_polls + w.idle_polls;
    workers.push_back({{"rx", w.rx}, {"tx", w.tx}, {"relayed", w.relayed}, {"busy_polls", w.busy_polls},
                       {"idle_polls", w.idle_polls}, {"sleeps", w.sleeps}, {"handed_off", w.handed_off},
                       {"sleep_s", static_cast<double>(w.sleep_us) / 1e6}, {"awake_pct", awake_pct(h, w)},
                       {"load_pct", polls ? 100.0 * static_cast<double>(w.busy_polls) / static_cast<double>(polls) : 0.0}});
  }
  return {{"uptime_s", h.uptime_s},
          {"sessions", h.sessions},
          {"max_sessions", h.max_sessions},
          {"session_memory_bytes", h.session_memory_bytes},
          {"sessions_created", h.sessions_created},
          {"sessions_deleted", h.sessions_deleted},
          {"timeouts", h.timeouts},
          {"clients", h.clients},
          {"control_errors", h.control_errors},
          {"mbufs_in_use", h.mbufs_in_use},
          {"mbufs_total", h.mbufs_total},
          {"neighbors", h.neighbors},
          {"drops", drops},
          {"ports", ports},
          {"workers", workers}};
}

std::string session_line(const proto::SessionInfo& s) {
  const auto& a = s.legs[0];
  const auto& b = s.legs[1];
  return fmt::format("{:<14} {:>6}s  {:>21} <- {:<21} {:>9} pkts  |  {:>21} <- {:<21} {:>9} pkts",
                     proto::session_id_text(s.session_id),
                     s.age_s, address(a.local_ip, a.local_port), address(a.remote_ip, a.remote_port), a.packets,
                     address(b.local_ip, b.local_port), address(b.remote_ip, b.remote_port), b.packets);
}

std::string session_detail(const proto::SessionInfo& s) {
  std::string out = fmt::format("session {} (id {})  age {} s\n", proto::session_id_text(s.session_id),
                                s.session_id, s.age_s);
  for (int i = 0; i < 2; ++i) {
    const auto& l = s.legs[i];
    out += fmt::format(
        "  leg {}: port {}  local {}  remote {} (rtcp {}){}{}\n"
        "         packets {}  bytes {}  rtcp {}  idle {} ms\n"
        "         rtp expected {}  received {}  {}  jitter {:.2f} ms (max {:.2f}, mean {:.2f})\n"
        "         ssrc {:#010x}  ssrc changes {}  drops: source {}  bad rtp {}\n",
        i == 0 ? 'a' : 'b', l.port, address(l.local_ip, l.local_port), address(l.remote_ip, l.remote_port),
        l.remote_rtcp_port, (l.flags & (proto::kFlagLatchedRtp | proto::kFlagLatchedRtcp)) ? "  latched" : "",
        l.worker ? fmt::format("  worker {}", l.worker - 1) : "", l.packets, l.bytes,
        l.rtcp_packets, l.idle_ms, l.rtp_expected, l.rtp_received, loss_text(l), l.jitter_us / 1000.0,
        l.jitter_max_us / 1000.0, l.jitter_mean_us / 1000.0, l.ssrc, l.ssrc_changes, l.drop_source, l.drop_bad_rtp);
  }
  return out;
}

std::string health_text(const proto::HealthReply& h) {
  std::string out = fmt::format(
      "uptime {} s   sessions {}/{} ({} bytes each)   created {}  deleted {}  timed out {}\n"
      "control clients {}  control errors {}   mbufs in use {}/{}   neighbours {}\n",
      h.uptime_s, h.sessions, h.max_sessions, h.session_memory_bytes, h.sessions_created, h.sessions_deleted,
      h.timeouts, h.clients, h.control_errors, h.mbufs_in_use, h.mbufs_total, h.neighbors);
  for (unsigned i = 0; i < h.ports && i < proto::kMaxPorts; ++i) {
    const auto& p = h.port[i];
    out += fmt::format("port {} {:<15} link {}  rx {}  tx {}  missed {}  no mbuf {}  rx errors {}  tx errors {}  to kernel {}  from kernel {}\n",
                       p.port_id, format_ipv4(p.ip), p.link_up ? "up" : "down", p.rx_packets, p.tx_packets,
                       p.rx_missed, p.rx_nombuf, p.rx_errors, p.tx_errors, p.punted, p.injected);
  }
  for (unsigned i = 0; i < h.workers && i < proto::kMaxWorkers; ++i) {
    const auto& w = h.worker[i];
    const uint64_t polls = w.busy_polls + w.idle_polls;
    out += fmt::format("worker {}  rx {}  relayed {}  load {:.1f}%  awake {:.1f}% since start  sleeps {}  handed off {}\n",
                       i, w.rx, w.relayed,
                       polls ? 100.0 * static_cast<double>(w.busy_polls) / static_cast<double>(polls) : 0.0,
                       awake_pct(h, w), w.sleeps, w.handed_off);
  }
  out += "drops:";
  bool any = false;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    if (!h.drops[i]) continue;
    out += fmt::format(" {} {}", kDropReasonNames[i], h.drops[i]);
    any = true;
  }
  out += any ? "\n" : " none\n";
  return out;
}

json to_json(const proto::OffendersReply& r) {
  json offenders = json::array();
  for (uint32_t i = 0; i < r.count && i < proto::kMaxOffenders; ++i) {
    const auto& o = r.offenders[i];
    offenders.push_back({{"source", format_ipv4(o.ip)}, {"dropped", o.dropped}, {"passed", o.passed},
                         {"last_drop_ms", o.last_drop_ms}});
  }
  return {{"sources", r.sources}, {"evictions", r.evictions}, {"offenders", offenders}};
}

// 0.0.0.0 stands for the frames that are not IPv4 (they share one bucket).
std::string offenders_text(const proto::OffendersReply& r) {
  std::string out = fmt::format("to the kernel: {} sources tracked, {} evicted; top offenders:", r.sources, r.evictions);
  if (r.count == 0) return out + " none\n";
  out += "\n";
  for (uint32_t i = 0; i < r.count && i < proto::kMaxOffenders; ++i) {
    const auto& o = r.offenders[i];
    out += fmt::format("  {:<15} dropped {}  passed {}  last drop {:.1f} s ago\n", o.ip ? format_ipv4(o.ip) : "(not IPv4)",
                       o.dropped, o.passed, o.last_drop_ms / 1000.0);
  }
  return out;
}

}  // namespace tandem::ctl
