// The dataplane's own settings (the flags after EAL's `--`), validated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tandem::dp {

enum class PollMode : uint8_t { busy, adaptive };

struct PortConfig {
  uint16_t port_id = 0;  // DPDK port, in probe order of the EAL's devices
  uint32_t ip = 0;       // network order: the node's address on this port (ARP, next hop), a relay address
  std::vector<uint32_t> more_ips;  // further relay addresses, network order (1M sessions need ~62)
  uint8_t prefix_len = 0;
  uint32_t gateway = 0;  // network order, 0 = none (only the connected subnet)
  uint16_t vlan = 0;     // 802.1Q id to send with, 0 = untagged
  std::string role;      // operator's label: public, private...
  std::string tap_name;  // kernel interface of the exception path
};

// What the exception path lets through to the node's kernel (punt_policer.h):
// per source address, all sources together, and ARP and ICMP apart (each its
// own bucket, of the same size). Rates in packets a second, 0 = unlimited; the
// global, ARP and ICMP budgets are shared out among the workers, the
// per-source one applies in each.
struct PuntLimits {
  uint32_t source_rate = 2000;
  uint32_t source_burst = 400;
  uint32_t global_rate = 50000;
  uint32_t global_burst = 5000;
  uint32_t arp_icmp_rate = 1000;
  uint32_t arp_icmp_burst = 200;
  uint32_t sources = 4096;  // sources each worker keeps a bucket for (power of two)
};

struct Config {
  std::vector<PortConfig> ports;
  uint16_t rx_queues = 0;        // per port; 0 = one per worker
  uint16_t burst = 32;
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint32_t mbufs = 0;            // 0 = sized from ports, queues and descriptors
  uint32_t max_sessions = 65536;
  uint16_t relay_port_min = 30000;
  uint16_t relay_port_max = 39999;
  uint32_t idle_timeout_s = 60;  // 0 = never
  // A session with a leg whose remote control has not given yet (a call not answered: no
  // media is due) is removed after this long without media instead; 0 = never.
  uint32_t offer_timeout_s = 3600;
  PollMode poll_mode = PollMode::busy;
  uint32_t idle_max_delay_us = 200;  // adaptive mode: how long a packet may wait for a fuller burst (idle_policy.h)
  std::string control_socket = "/run/tandem/dataplane.sock";
  uint32_t stats_interval_s = 0; // 0 = no periodic stats line
  std::string metrics_listen;    // IPV4:PORT of /metrics (Prometheus); empty: none
  bool exception_path = true;
  PuntLimits punt;
  std::string log_level = "info";
  bool check_config = false;     // check what can be checked before EAL starts, print it, exit
};

// A port's relay addresses: `ip` first, then `more_ips`.
std::vector<uint32_t> relay_addresses(const PortConfig& p);
inline constexpr size_t kMaxAddressesPerPort = 1024;

struct FlagsResult {
  Config config;
  int exit_code = -1;   // >= 0: stop now with this code (help printed, or an error)
};

// Parses our flags (argv[0] is the program name). Prints help or the error.
FlagsResult parse_flags(int argc, char** argv);

}  // namespace tandem::dp
