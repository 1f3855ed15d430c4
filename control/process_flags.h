// The flags every control-plane process has: its operator socket, log level,
// the names its logs (and CDRs) give it, where its metrics are served. tandem-control's and
// tandem-sbc's configurations derive from it.
#pragma once

#include <cstdint>
#include <string>

#include "db/connection.h"

namespace CLI {
class App;
}

namespace tandem::control {

struct ProcessFlags {
  std::string control_socket;   // what tandemctl talks to
  std::string log_level = "info";
  std::string dc = "dc1";
  std::string node;
  std::string metrics_listen;   // ADDR:PORT of /metrics (Prometheus); empty: none
  bool check_config = false;    // check what can be checked, print it, exit (config_check/config_check.h)
  bool check_db = false;        // and connect to the DBs
};

}  // namespace tandem::control

namespace tandem {
class ConfigCheck;
}

namespace tandem::control {

struct SipSettings;

// The checks of these flags (the operator socket's directory, the metrics address).
void check_process_flags(const ProcessFlags& f, ConfigCheck& check);
// Whether two IPV4:PORT are one socket (0.0.0.0 is every address).
bool same_socket(const std::string& a, uint16_t a_port, const std::string& b, uint16_t b_port);
// The metrics address must not be SIP's TCP port: one of the two would not start.
void check_not_sip_port(ConfigCheck& check, const ProcessFlags& f, const SipSettings& sip);
// With `connect` (--check-db), a connection to the DB; else a line that it was not tried.
void check_db(ConfigCheck& check, const std::string& what, const db::Config& config, bool connect);

// --control-socket, --log-level, --dc, --node, --metrics-listen; `what`: "server" or "SBC", for the help.
void add_process_flags(CLI::App& app, ProcessFlags& f, const std::string& what);

}  // namespace tandem::control
