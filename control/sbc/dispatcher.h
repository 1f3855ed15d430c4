// Which call server gets the next call: the SBC's servers, what their probes
// and our own sending say about them, and the choice. Pure (no SIP, no clock
// of its own): the unit tests drive it with times and answers.
//
// The choice: the least-loaded eligible server of the local DC (load: the
// last probe's calls plus the calls we sent it since that probe left, less
// those that failed: a burst between two probes spreads instead of landing
// on one server), compared as a share of capacity; among equal loads the
// next in turn (round-robin: Kamailio's and OpenSIPS's dispatchers give ties
// to the first server); the remote DC only when no local server can take the
// call. Eligible: up, not draining, below capacity, not excluded for this
// call, and no failed call since its last good probe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::control::sbc {

enum class Dc : uint8_t { local, remote };
std::string_view name(Dc dc);

struct ServerSpec {
  std::string name;
  std::string host;           // IPv4
  uint16_t port = 5060;
  Dc dc = Dc::local;
  uint32_t capacity = 0;      // 0: what the server's probe answers say
  bool tcp = false;           // calls and probes over TCP (a connect failure fails over at once)

  // "sip:HOST:PORT", with ";transport=tcp" for a TCP server: where its requests go.
  std::string url() const;
};

// "NAME=IPV4[:PORT][,dc=local|remote][,capacity=N][,transport=udp|tcp]"; false and why otherwise.
bool parse_server(const std::string& text, ServerSpec& out, std::string& error);

enum class State : uint8_t { up, suspect, down, draining };
std::string_view name(State s);

struct ServerStatus {
  ServerSpec spec;
  // Probes.
  bool probe_answered = false;   // ever
  uint32_t missed = 0;           // probes missed or failed in a row
  bool self_draining = false;    // its OPTIONS answer says so
  bool admin_draining = false;   // tandemctl servers drain
  bool failed_call = false;      // failed a call since its last good probe
  uint32_t probe_calls = 0;      // the last probe's X-Tandem-Load
  uint32_t probe_capacity = 0;
  double rtt_ms = 0;             // EWMA of the probes' round trips
  // Our calls to it.
  uint64_t sent_total = 0;
  uint64_t sent_at_probe = 0;    // sent_total when the last answered probe left
  uint64_t failed_since_probe = 0;
  uint64_t in_flight = 0;        // INVITEs sent without a final answer yet
  uint64_t failovers = 0;        // calls it failed that went on to another server
  uint64_t answered = 0;

  uint32_t capacity() const { return spec.capacity ? spec.capacity : probe_capacity; }
  uint64_t load() const;
  State state(uint32_t misses_down) const;
};

class Dispatcher {
 public:
  Dispatcher(std::vector<ServerSpec> servers, uint32_t misses_down);

  // The server for a new call, not one of `tried` (indexes); nullopt: none can take it.
  std::optional<size_t> choose(const std::vector<size_t>& tried);
  // Whether any server could take a call now (our own OPTIONS answer, the 503s).
  bool any_available() const;

  void sent(size_t i);
  void answered(size_t i);
  // A final answer other than 2xx that ends the call there (4xx, 6xx): no failure of the server's.
  void refused(size_t i);
  // A timeout, transport error or 503 with Retry-After: the call goes on elsewhere; the server is
  // skipped until a good probe.
  void failed(size_t i);

  // A probe is sent to `i`: its answer will count the calls sent until now.
  void probe_sent(size_t i, uint64_t& sent_mark) const { sent_mark = servers_[i].sent_total; }
  // The probe answered: `load` from its header (calls/capacity; capacity 0: none), RTT in ms.
  void probe_answered(size_t i, uint32_t calls, uint32_t capacity, bool draining, double rtt_ms, uint64_t sent_mark);
  // No answer by the next round, or an error answer.
  void probe_missed(size_t i);

  // tandemctl servers drain/undrain NAME; false: no such server.
  bool set_draining(const std::string& name, bool on);

  const std::vector<ServerStatus>& servers() const { return servers_; }
  uint32_t misses_down() const { return misses_down_; }

 private:
  bool eligible(const ServerStatus& s) const;

  std::vector<ServerStatus> servers_;
  uint32_t misses_down_;
  size_t next_[2] = {0, 0};  // per DC: where the round-robin among equals starts
};

}  // namespace tandem::control::sbc
