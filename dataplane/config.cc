#include "dataplane/config.h"

#include "config_check/command_line.h"
#include "metrics/exposition.h"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <set>

#include "dataplane/idle_policy.h"
#include "dataplane_protocol/address.h"

namespace tandem::dp {

using proto::parse_ipv4;

namespace {

template <typename T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

constexpr const char* kPortSyntax = "ID:IP[,IP|,FIRST-LAST...]/PREFIX[,gw=IP][,vlan=N][,role=NAME][,tap=NAME]";

// One address, or an inclusive range FIRST-LAST, appended to `out` (network order).
std::string parse_addresses(const std::string& text, std::vector<uint32_t>& out) {
  const auto dash = text.find('-');
  uint32_t first = 0, last = 0;
  if (!parse_ipv4(text.substr(0, dash), first) ||
      (dash != std::string::npos && !parse_ipv4(text.substr(dash + 1), last))) {
    return "'" + text + "' is not an IPv4 address or FIRST-LAST range";
  }
  if (dash == std::string::npos) last = first;
  if (ntohl(last) < ntohl(first)) return "range " + text + " ends before it starts";
  if (ntohl(last) - ntohl(first) >= kMaxAddressesPerPort) return "range " + text + " is too long";
  for (uint32_t a = ntohl(first);; ++a) {
    out.push_back(htonl(a));
    if (a == ntohl(last)) break;
  }
  return {};
}

// ID:IP[,IP|,FIRST-LAST...]/PREFIX[,gw=IP][,vlan=N][,role=NAME][,tap=NAME]
std::string parse_port(const std::string& spec, PortConfig& p) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos) return std::string("expected ") + kPortSyntax;
  if (!parse_number(std::string_view(spec).substr(0, colon), p.port_id) || p.port_id >= 8) {
    return "port id must be 0..7";
  }
  std::vector<std::string> parts;
  std::string rest = spec.substr(colon + 1);
  for (size_t pos = 0;;) {
    const auto comma = rest.find(',', pos);
    parts.push_back(rest.substr(pos, comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  // The addresses come first, the last of them carrying the prefix length.
  std::vector<uint32_t> addresses;
  size_t i = 0;
  for (bool prefixed = false; !prefixed; ++i) {
    if (i == parts.size() || parts[i].find('=') != std::string::npos) {
      return "addresses must be IPv4[,IPv4...]/PREFIX, e.g. 198.18.1.1/24 or 198.18.1.1,198.18.1.10-198.18.1.20/24";
    }
    const auto slash = parts[i].find('/');
    if (auto err = parse_addresses(parts[i].substr(0, slash), addresses); !err.empty()) return err;
    if (slash == std::string::npos) continue;
    prefixed = true;
    if (!parse_number(std::string_view(parts[i]).substr(slash + 1), p.prefix_len) || p.prefix_len < 1 ||
        p.prefix_len > 32) {
      return "prefix length must be 1..32";
    }
  }
  if (addresses.size() > kMaxAddressesPerPort) return "more than " + std::to_string(kMaxAddressesPerPort) + " addresses";
  if (std::set<uint32_t>(addresses.begin(), addresses.end()).size() != addresses.size()) return "an address given twice";
  p.ip = addresses.front();
  p.more_ips.assign(addresses.begin() + 1, addresses.end());
  p.tap_name = "tdp" + std::to_string(p.port_id);
  for (; i < parts.size(); ++i) {
    const auto eq = parts[i].find('=');
    const std::string key = parts[i].substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
    if (key == "gw") {
      if (!parse_ipv4(value, p.gateway)) return "gw must be an IPv4 address";
    } else if (key == "vlan") {
      if (!parse_number(std::string_view(value), p.vlan) || p.vlan < 1 || p.vlan > 4094) return "vlan must be 1..4094";
    } else if (key == "role") {
      if (value.empty() || value.size() > 15) return "role must be 1..15 characters";
      p.role = value;
    } else if (key == "tap") {
      if (value.empty() || value.size() > 15) return "tap must be an interface name of 1..15 characters";
      p.tap_name = value;
    } else {
      return "unknown port option '" + key + "'";
    }
  }
  return {};
}

bool is_power_of_two(uint32_t v) { return v && !(v & (v - 1)); }

// The exception path's policing (punt_policer.h). The defaults leave room for
// the signalling of thousands of calls from one SBC; a flood is cut at them.
void add_punt_flags(CLI::App& app, PuntLimits& p) {
  const auto rate = CLI::Range(0u, 10000000u);
  const auto burst = CLI::Range(1u, 10000000u);
  app.add_option("--punt-rate", p.source_rate,
                 "packets a second each source address may send to the node's kernel (SIP...); 0 = unlimited")
      ->check(rate);
  app.add_option("--punt-burst", p.source_burst, "packets a source may send to the kernel back to back")->check(burst);
  app.add_option("--punt-global-rate", p.global_rate,
                 "packets a second all sources together may send to the kernel, shared out among the workers; "
                 "0 = unlimited")
      ->check(rate);
  app.add_option("--punt-global-burst", p.global_burst, "packets all sources may send to the kernel back to back")
      ->check(burst);
  app.add_option("--punt-arp-icmp-rate", p.arp_icmp_rate,
                 "packets a second of ARP to the kernel, and as many of ICMP: budgets of their own, each "
                 "shared out among the workers; 0 = unlimited")
      ->check(rate);
  app.add_option("--punt-arp-icmp-burst", p.arp_icmp_burst, "ARP packets, and as many ICMP, to the kernel back to back")
      ->check(burst);
  app.add_option("--punt-sources", p.sources,
                 "source addresses each worker keeps a bucket for (power of two); when full, the one seen "
                 "longest ago is replaced")
      ->check(CLI::Range(64u, 1u << 22));
}

}  // namespace

std::vector<uint32_t> relay_addresses(const PortConfig& p) {
  std::vector<uint32_t> out{p.ip};
  out.insert(out.end(), p.more_ips.begin(), p.more_ips.end());
  return out;
}

FlagsResult parse_flags(int argc, char** argv) {
  FlagsResult r;
  Config& c = r.config;
  CLI::App app{
      "tandem-dataplane: relays RTP/RTCP media sessions at line rate, programmed by the control plane.\n"
      "Usage: tandem-dataplane [EAL options] -- [options]\n"
      "Workers run on every EAL lcore but the main one, which does housekeeping and the control socket.",
      "tandem-dataplane"};
  app.option_defaults()->always_capture_default();
  std::vector<std::string> port_specs;
  std::string relay_ports = "30000-39999";
  std::string poll_mode = "busy";
  std::string exception = "tap";
  app.add_option("--port", port_specs,
                 std::string("a port, its relay addresses and role: ") + kPortSyntax +
                     " (repeat per port; the first address is the port's own, for ARP and the next hop; "
                     "legs are spread over all of them, each with the whole --relay-ports range)")
      ->required();
  app.add_option("--rx-queues", c.rx_queues, "RX queues per port, shared out among workers (0 = one per worker)")
      ->check(CLI::Range(0, 64));
  app.add_option("--burst", c.burst, "packets per RX/TX burst")->check(CLI::Range(1, 256));
  app.add_option("--rx-desc", c.rx_desc, "RX descriptors per queue (power of two)")->check(CLI::Range(64, 16384));
  app.add_option("--tx-desc", c.tx_desc, "TX descriptors per queue (power of two)")->check(CLI::Range(64, 16384));
  app.add_option("--mbufs", c.mbufs, "mbufs in the pool (0 = sized from ports, queues and descriptors)")
      ->check(CLI::Range(0u, 16u << 20));
  app.add_option("--max-sessions", c.max_sessions, "media sessions the table holds")->check(CLI::Range(1u, 8u << 20));
  app.add_option("--relay-ports", relay_ports, "UDP port range for relay legs, MIN-MAX (RTP even, RTCP odd)");
  app.add_option("--idle-timeout", c.idle_timeout_s,
                 "seconds without media before a session whose legs both have their remote is removed (0 = never)")
      ->check(CLI::Range(0u, 86400u));
  app.add_option("--offer-timeout", c.offer_timeout_s,
                 "the same for a session with a leg whose remote is not known: a call that rings, or holds with "
                 "c=0.0.0.0, whose media is not due (0 = never)")
      ->check(CLI::Range(0u, 86400u));
  app.add_option("--poll-mode", poll_mode, "busy: poll without pause; adaptive: sleep when idle or lightly loaded")
      ->check(CLI::IsMember({"busy", "adaptive"}));
  app.add_option("--idle-max-delay-us", c.idle_max_delay_us,
                 "adaptive mode: microseconds a packet may wait so that a worker polls fuller bursts; its CPU then "
                 "follows the load (0 = sleep only after 256 empty polls, as before)")
      ->check(CLI::Range(0u, IdlePolicy::kMaxDelayLimitUs));
  app.add_option("--control-socket", c.control_socket, "Unix socket path of the control protocol");
  app.add_option("--stats-interval", c.stats_interval_s, "seconds between stats log lines (0 = none)")
      ->check(CLI::Range(0u, 86400u));
  app.add_option("--metrics-listen", c.metrics_listen,
                 "IPV4:PORT where Prometheus scrapes /metrics, served from a thread on the main lcore's core "
                 "(none by default)")
      ->check(metrics::listen_problem);
  app.add_option("--exception-path", exception,
                 "tap: non-media traffic goes to the kernel; none: dropped (ARP still teaches the neighbour table)")
      ->check(CLI::IsMember({"tap", "none"}));
  add_punt_flags(app, c.punt);
  app.set_config("--config", "", "file with these flags (TOML or INI: name = value, lists as [..])");
  app.add_flag("--check-config", c.check_config,
               "check these flags and EAL's (lcores, hugepages, devices), the addresses and directories, "
               "print each check, exit 0 (fine) or 2");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  auto fail = [&](const std::string& msg) {
    std::fprintf(stderr, "tandem-dataplane: %s\nRun with -- --help for the options.\n", msg.c_str());
    r.exit_code = 2;
    return r;
  };
  standard_flags(app);
  // Ours come after EAL's and a "--".
  if (const int rc = parse_command_line(app, argc, argv, "tandem-dataplane", "Run with -- --help for the options.");
      rc >= 0) {
    r.exit_code = rc;
    return r;
  }

  std::set<uint16_t> ids;
  for (const auto& spec : port_specs) {
    PortConfig p;
    if (auto err = parse_port(spec, p); !err.empty()) return fail("--port " + spec + ": " + err);
    if (!ids.insert(p.port_id).second) return fail("--port " + spec + ": port configured twice");
    c.ports.push_back(p);
  }
  const auto dash = relay_ports.find('-');
  if (dash == std::string::npos || !parse_number(std::string_view(relay_ports).substr(0, dash), c.relay_port_min) ||
      !parse_number(std::string_view(relay_ports).substr(dash + 1), c.relay_port_max) || c.relay_port_min < 1024 ||
      c.relay_port_min % 2 != 0 || c.relay_port_max % 2 != 1 || c.relay_port_max <= c.relay_port_min) {
    return fail("--relay-ports " + relay_ports + ": expected MIN-MAX with MIN even and >= 1024, MAX odd and > MIN");
  }
  if (!is_power_of_two(c.rx_desc) || !is_power_of_two(c.tx_desc)) {
    return fail("--rx-desc and --tx-desc must be powers of two");
  }
  if (!is_power_of_two(c.punt.sources)) return fail("--punt-sources must be a power of two");
  c.poll_mode = poll_mode == "busy" ? PollMode::busy : PollMode::adaptive;
  c.exception_path = exception == "tap";
  if (c.control_socket.empty() || c.control_socket.size() >= 108) {
    return fail("--control-socket must be a path of 1..107 characters");
  }
  return r;
}

}  // namespace tandem::dp
