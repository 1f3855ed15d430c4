#include "control/sbc/dispatcher.h"

#include <arpa/inet.h>

#include <charconv>

namespace tandem::control::sbc {

namespace {

// A server whose capacity nobody told us is compared by its calls alone.
constexpr uint64_t kUnknownCapacity = 1'000'000;

bool to_number(std::string_view s, uint32_t& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

bool parse_address(std::string_view addr, ServerSpec& out) {
  std::string host(addr);
  if (const auto colon = addr.rfind(':'); colon != std::string_view::npos) {
    uint32_t port = 0;
    if (!to_number(addr.substr(colon + 1), port) || port == 0 || port > 65535) return false;
    out.port = static_cast<uint16_t>(port);
    host = std::string(addr.substr(0, colon));
  }
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1 || a.s_addr == 0) return false;
  out.host = host;
  return true;
}

bool parse_option(std::string_view opt, ServerSpec& out) {
  const auto eq = opt.find('=');
  if (eq == std::string_view::npos) return false;
  const std::string_view key = opt.substr(0, eq), value = opt.substr(eq + 1);
  if (key == "dc" && (value == "local" || value == "remote")) {
    out.dc = value == "local" ? Dc::local : Dc::remote;
    return true;
  }
  if (key == "transport" && (value == "udp" || value == "tcp")) {
    out.tcp = value == "tcp";
    return true;
  }
  return key == "capacity" && to_number(value, out.capacity) && out.capacity > 0;
}

}  // namespace

std::string ServerSpec::url() const {
  return "sip:" + host + ":" + std::to_string(port) + (tcp ? ";transport=tcp" : "");
}

std::string_view name(Dc dc) { return dc == Dc::local ? "local" : "remote"; }

std::string_view name(State s) {
  switch (s) {
    case State::up: return "up";
    case State::suspect: return "suspect";
    case State::down: return "down";
    case State::draining: return "draining";
  }
  return "?";
}

bool parse_server(const std::string& text, ServerSpec& out, std::string& error) {
  error = "'" + text + "': expected NAME=IPV4[:PORT][,dc=local|remote][,capacity=N][,transport=udp|tcp]";
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  out = ServerSpec{};
  out.name = text.substr(0, eq);
  std::string_view rest(text);
  rest.remove_prefix(eq + 1);
  const auto comma = rest.find(',');
  if (!parse_address(rest.substr(0, comma), out)) {
    error = "'" + text + "': '" + std::string(rest.substr(0, comma)) + "' is not IPV4[:PORT]";
    return false;
  }
  while (rest.find(',') != std::string_view::npos) {
    rest.remove_prefix(rest.find(',') + 1);
    const std::string_view opt = rest.substr(0, rest.find(','));
    if (!parse_option(opt, out)) {
      error = "'" + text + "': '" + std::string(opt) +
              "': options are dc=local|remote, capacity=N (N > 0), transport=udp|tcp";
      return false;
    }
  }
  error.clear();
  return true;
}

uint64_t ServerStatus::load() const {
  const uint64_t since = sent_total - sent_at_probe;
  return probe_calls + (since > failed_since_probe ? since - failed_since_probe : 0);
}

State ServerStatus::state(uint32_t misses_down) const {
  if (missed >= misses_down) return State::down;
  if (admin_draining || self_draining) return State::draining;
  if (failed_call) return State::suspect;
  return State::up;
}

Dispatcher::Dispatcher(std::vector<ServerSpec> servers, uint32_t misses_down) : misses_down_(misses_down) {
  for (auto& spec : servers) servers_.push_back(ServerStatus{.spec = std::move(spec)});
}

bool Dispatcher::eligible(const ServerStatus& s) const {
  if (s.state(misses_down_) != State::up) return false;
  const uint32_t cap = s.capacity();
  return cap == 0 || s.load() < cap;
}

std::optional<size_t> Dispatcher::choose(const std::vector<size_t>& tried) {
  for (const Dc dc : {Dc::local, Dc::remote}) {
    const size_t n = servers_.size();
    size_t& next = next_[static_cast<size_t>(dc)];
    std::optional<size_t> best;
    // Walking from the round-robin position, the first of the least loaded wins the tie.
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (next + k) % n;
      const ServerStatus& s = servers_[i];
      if (s.spec.dc != dc || !eligible(s)) continue;
      bool excluded = false;
      for (size_t t : tried) excluded |= t == i;
      if (excluded) continue;
      if (!best) {
        best = i;
        continue;
      }
      const ServerStatus& b = servers_[*best];
      const uint64_t cap_s = s.capacity() ? s.capacity() : kUnknownCapacity;
      const uint64_t cap_b = b.capacity() ? b.capacity() : kUnknownCapacity;
      if (s.load() * cap_b < b.load() * cap_s) best = i;
    }
    if (best) {
      next = (*best + 1) % n;
      return best;
    }
  }
  return std::nullopt;
}

bool Dispatcher::any_available() const {
  for (const ServerStatus& s : servers_)
    if (eligible(s)) return true;
  return false;
}

void Dispatcher::sent(size_t i) {
  ++servers_[i].sent_total;
  ++servers_[i].in_flight;
}

void Dispatcher::answered(size_t i) {
  ServerStatus& s = servers_[i];
  if (s.in_flight) --s.in_flight;
  ++s.answered;
}

void Dispatcher::refused(size_t i) {
  ServerStatus& s = servers_[i];
  if (s.in_flight) --s.in_flight;
  ++s.failed_since_probe;
}

void Dispatcher::failed(size_t i) {
  ServerStatus& s = servers_[i];
  if (s.in_flight) --s.in_flight;
  ++s.failed_since_probe;
  ++s.failovers;
  s.failed_call = true;
}

void Dispatcher::probe_answered(size_t i, uint32_t calls, uint32_t capacity, bool draining, double rtt_ms,
                                uint64_t sent_mark) {
  ServerStatus& s = servers_[i];
  // The answer counts the calls sent before the probe left; those sent since stay ours to count.
  s.failed_since_probe = 0;
  s.sent_at_probe = sent_mark;
  s.probe_calls = calls;
  s.probe_capacity = capacity;
  s.self_draining = draining;
  s.missed = 0;
  s.failed_call = false;
  s.rtt_ms = s.probe_answered ? 0.8 * s.rtt_ms + 0.2 * rtt_ms : rtt_ms;
  s.probe_answered = true;
}

void Dispatcher::probe_missed(size_t i) { ++servers_[i].missed; }

bool Dispatcher::set_draining(const std::string& name, bool on) {
  for (ServerStatus& s : servers_)
    if (s.spec.name == name) {
      s.admin_draining = on;
      return true;
    }
  return false;
}

}  // namespace tandem::control::sbc
