#include "control/server/media.h"

#include <algorithm>
#include <cstring>

#include "dataplane_protocol/address.h"
#include "dataplane_protocol/codec.h"

namespace tandem::control {

namespace {


}  // namespace

bool Media::reopen(std::string& error) { return open(socket_, external_role_, internal_role_, error); }

bool Media::open(const std::string& socket, const std::string& external_role, const std::string& internal_role,
                 std::string& error) {
  fail_awaited("the dataplane connection was reopened");
  requests_.on_queued_reply(
      [this](const proto::Header& h, const uint8_t* body, size_t size) { on_reply(h, body, size); });
  socket_ = socket;
  external_role_ = external_role;
  internal_role_ = internal_role;
  if (!requests_.connect(socket, error, 1000) || !events_.connect(socket, error, 1000) ||
      !samples_.connect(socket, error, 1000)) {
    error = "dataplane " + socket + ": " + error;
    return false;
  }
  auto hello = requests_.hello("tandem-control");
  if (!hello) {
    error = "dataplane hello: " + hello.error;
    return false;
  }
  if (!events_.hello("tandem-control events") || !events_.subscribe(proto::kEventTimeouts)) {
    error = "dataplane: cannot subscribe to its events";
    return false;
  }
  auto find = [&](const std::string& role, uint8_t& port) {
    for (uint32_t p = 0; p < proto::kMaxPorts; ++p) {
      if (hello->port_ip[p] == 0) continue;
      if (role.empty() || role == hello->port_role[p]) {
        port = static_cast<uint8_t>(p);
        return true;
      }
    }
    error = role.empty() ? "the dataplane has no port" : "the dataplane has no port with role '" + role + "'";
    return false;
  };
  if (!find(external_role, external_port_)) return false;
  if (internal_role.empty())
    internal_port_ = external_port_;
  else if (!find(internal_role, internal_port_))
    return false;
  side_ip_[static_cast<int>(Side::external)] = proto::format_ipv4(hello->port_ip[external_port_]);
  side_ip_[static_cast<int>(Side::internal)] = proto::format_ipv4(hello->port_ip[internal_port_]);
  return true;
}

bool Media::create(const MediaEndpoint& caller, Side caller_side, Side callee_side, MediaAnchor& anchor,
                   std::string& error, const CreateOptions& options) {
  proto::CreateRequest r{};
  r.legs[0] = leg_spec(caller, port_of(caller_side));
  r.legs[0].local_ip = options.caller_ip;
  r.legs[0].local_port = options.caller_port;
  r.legs[1] = leg_spec(MediaEndpoint{}, port_of(callee_side));
  r.legs[1].clock_khz = caller.clock_khz;
  if (options.callee_is_node) r.legs[1].mode |= proto::kModeNode;
  auto info = requests_.create(r);
  if (!info) {
    if (info.error_code == 0) fail_awaited("the dataplane connection broke");
    error = "dataplane create: " + info.error;
    return false;
  }
  anchor.session = info->session_id;
  for (int leg = 0; leg < 2; ++leg) {
    anchor.local_port[leg] = info->legs[leg].local_port;
    anchor.local_ip[leg] = proto::format_ipv4(info->legs[leg].local_ip);
    r.legs[leg].local_ip = info->legs[leg].local_ip;  // a restore asks for the same addresses and ports
    r.legs[leg].local_port = info->legs[leg].local_port;
  }
  sessions_[anchor.session] = Tracked{r, {}, {}};
  return true;
}

// The leg's remote as the dataplane takes it: where to send, and whether to
// learn the source from the first packet (NAT) but then hold to it; who may
// latch is the operator's --media-latch.
proto::LegSpec Media::leg_spec(const MediaEndpoint& e, uint8_t port) const {
  proto::LegSpec l{};
  l.remote_ip = e.ip;
  l.remote_port = e.ip ? e.rtp_port : 0;
  l.remote_rtcp_port = e.ip ? e.rtcp_port : 0;
  l.port = port;
  l.mode = mode_;
  l.clock_khz = e.clock_khz;
  return l;
}

bool Media::update(uint64_t session, int leg, const MediaEndpoint& remote, std::string& error) {
  proto::UpdateLegRequest r{};
  r.session_id = session;
  r.leg = static_cast<uint8_t>(leg);
  r.mode = mode_;
  r.clock_khz = remote.clock_khz;
  r.remote_ip = remote.ip;
  r.remote_port = remote.ip ? remote.rtp_port : 0;
  r.remote_rtcp_port = remote.ip ? remote.rtcp_port : 0;
  // What the dataplane would refuse is refused now, while the SIP message can still be answered.
  if (auto e = proto::validate(r, proto::Limits{})) {
    error = "dataplane update: " + e->message;
    return false;
  }
  awaited_.push_back({requests_.enqueue(proto::MsgType::update_leg, r), session, false});
  if (auto it = sessions_.find(session); it != sessions_.end()) {
    proto::LegSpec& l = it->second.spec.legs[leg];
    l.remote_ip = r.remote_ip;
    l.remote_port = r.remote_port;
    l.remote_rtcp_port = r.remote_rtcp_port;
    if (r.clock_khz) l.clock_khz = r.clock_khz;
  }
  return true;
}

std::optional<MediaEndpoint> Media::remote(uint64_t session, int leg) const {
  const auto it = sessions_.find(session);
  if (it == sessions_.end()) return std::nullopt;
  const proto::LegSpec& l = it->second.spec.legs[leg];
  MediaEndpoint e;
  e.ip = l.remote_ip;
  e.rtp_port = l.remote_port;
  e.rtcp_port = l.remote_rtcp_port;
  if (l.clock_khz) e.clock_khz = l.clock_khz;
  return e;
}

void Media::finish(uint64_t session) {
  awaited_.push_back({requests_.enqueue(proto::MsgType::delete_session, proto::SessionRequest{session}), session, true});
}

void Media::flush() {
  if (!requests_.flush() || !requests_.drain()) fail_awaited("the dataplane connection broke");
}

void Media::settle() {
  if (awaited_.empty()) return;
  // Answered after everything sent before it: its reply settles them all.
  if (!requests_.health()) fail_awaited("no reply from the dataplane");
}

void Media::on_reply(const proto::Header& h, const uint8_t* body, size_t size) {
  // Replies come in request order; anything before this one got no reply.
  while (!awaited_.empty() && awaited_.front().seq != h.seq) {
    fail_one(awaited_.front(), "no reply from the dataplane");
    awaited_.pop_front();
  }
  if (awaited_.empty()) return;
  Outcome o{awaited_.front().session, awaited_.front().deleted, {}, {}};
  awaited_.pop_front();
  if (h.type == static_cast<uint16_t>(proto::MsgType::error)) {
    o.error = std::string("dataplane ") + (o.deleted ? "delete: " : "update: ") + proto::decode_error(body, size).message;
    if (o.deleted) o.quality = forget(o.session);
  } else if (size == sizeof(proto::SessionInfo)) {
    proto::SessionInfo info;
    std::memcpy(&info, body, sizeof info);
    if (o.deleted) o.quality = settle_counters(o.session, quality_of(info));
  } else {
    o.error = "unexpected reply from the dataplane";
  }
  outcomes_.push_back(std::move(o));
}

// A delete without its reply: the counters known so far go into the record.
void Media::fail_one(const Awaited& a, const std::string& why) {
  outcomes_.push_back({a.session, a.deleted, a.deleted ? forget(a.session) : std::array<cdr::LegQuality, 2>{}, why});
}

void Media::fail_awaited(const std::string& why) {
  for (const Awaited& a : awaited_) fail_one(a, why);
  awaited_.clear();
}

std::array<cdr::LegQuality, 2> Media::combined(const std::array<cdr::LegQuality, 2>& before,
                                               const std::array<cdr::LegQuality, 2>& after) {
  std::array<cdr::LegQuality, 2> out{};
  for (int leg = 0; leg < 2; ++leg) {
    const cdr::LegQuality& a = before[leg];
    const cdr::LegQuality& b = after[leg];
    cdr::LegQuality& o = out[leg];
    o.packets = a.packets + b.packets;
    o.bytes = a.bytes + b.bytes;
    o.lost = a.lost + b.lost;
    o.jitter_max_us = std::max(a.jitter_max_us, b.jitter_max_us);
    o.jitter_mean_us = o.packets ? static_cast<uint32_t>((uint64_t{a.jitter_mean_us} * a.packets +
                                                          uint64_t{b.jitter_mean_us} * b.packets) / o.packets)
                                 : 0;
  }
  return out;
}

std::array<cdr::LegQuality, 2> Media::settle_counters(uint64_t session, const std::array<cdr::LegQuality, 2>& last) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return last;
  const auto total = combined(it->second.before, last);
  sessions_.erase(it);
  return total;
}

std::array<cdr::LegQuality, 2> Media::forget(uint64_t session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return {};
  const auto known = combined(it->second.before, it->second.sampled);
  sessions_.erase(it);
  return known;
}

bool Media::sample(std::string& error) {
  auto all = samples_.list_all();
  if (!all) {
    error = "dataplane list: " + all.error;
    return false;
  }
  for (const proto::SessionInfo& info : *all) {
    if (auto it = sessions_.find(info.session_id); it != sessions_.end()) it->second.sampled = quality_of(info);
  }
  return true;
}

std::vector<Media::Restored> Media::restore() {
  std::vector<Restored> out;
  std::unordered_map<uint64_t, Tracked> restored;
  for (auto& [old_session, t] : sessions_) {
    auto info = requests_.create(t.spec);
    if (!info) {
      out.push_back({old_session, 0, "dataplane create: " + info.error});
      restored.emplace(old_session, t);  // for forget()
      continue;
    }
    t.before = combined(t.before, t.sampled);
    t.sampled = {};
    out.push_back({old_session, info->session_id, {}});
    restored.emplace(info->session_id, std::move(t));
  }
  sessions_ = std::move(restored);
  return out;
}

std::array<cdr::LegQuality, 2> Media::quality_of(const proto::SessionInfo& info) {
  std::array<cdr::LegQuality, 2> q{};
  for (int leg = 0; leg < 2; ++leg) {
    const proto::LegInfo& l = info.legs[leg];
    // What this leg received from its side: the quality of that side's audio.
    q[leg] = cdr::LegQuality{l.packets, l.bytes, l.rtp_lost, l.jitter_max_us, l.jitter_mean_us};
  }
  return q;
}

int Media::event_fd() const { return events_.fd(); }

std::vector<Media::Expired> Media::expired() {
  std::vector<Expired> out;
  while (auto e = events_.next_event(0)) {
    out.push_back(Expired{e->info.session_id, settle_counters(e->info.session_id, quality_of(e->info))});
  }
  return out;
}

}  // namespace tandem::control
