#include "control/process_flags.h"

#include <CLI/CLI.hpp>
#include <cppconn/connection.h>

#include "config_check/config_check.h"
#include "control/metrics.h"
#include "control/sip/settings.h"

namespace tandem::control {

void add_process_flags(CLI::App& app, ProcessFlags& f, const std::string& what) {
  app.add_option("--control-socket", f.control_socket, "socket tandemctl talks to")->capture_default_str();
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))->capture_default_str();
  app.add_option("--dc", f.dc, "this DC's name (logs" + std::string(what == "server" ? ", CDRs" : "") + ")")
      ->capture_default_str();
  app.add_option("--node", f.node, "this " + what + "'s name (logs" + (what == "server" ? ", CDRs" : "") + ")")
      ->capture_default_str();
  app.add_option("--metrics-listen", f.metrics_listen,
                 "IPV4:PORT where Prometheus scrapes /metrics (e.g. 127.0.0.1:9110; none by default)")
      ->check(metrics::listen_problem);
  app.add_flag("--check-config", f.check_config,
               "check the flags and --config file, the addresses, directories and files, print each check "
               "and exit: 0 when none is an error, else 2");
  app.add_flag("--check-db", f.check_db, "with --check-config: connect to the DBs too");
}

void check_process_flags(const ProcessFlags& f, ConfigCheck& check) {
  check.parent_directory("operator socket", f.control_socket, true);
  std::string address;
  uint16_t port = 0;
  if (!f.metrics_listen.empty() && metrics::parse_listen(f.metrics_listen, address, port))
    check.bindable("metrics", address, port, false);
}

bool same_socket(const std::string& a, uint16_t a_port, const std::string& b, uint16_t b_port) {
  return a_port == b_port && (a == b || a == "0.0.0.0" || b == "0.0.0.0");
}

void check_not_sip_port(ConfigCheck& check, const ProcessFlags& f, const SipSettings& sip) {
  std::string address;
  uint16_t port = 0;
  if (!f.metrics_listen.empty() && metrics::parse_listen(f.metrics_listen, address, port) &&
      same_socket(address, port, sip.address, sip.port))
    check.error("--metrics-listen " + f.metrics_listen + " is SIP's TCP port too (--sip " + sip.address + ":" +
                std::to_string(sip.port) + "): one of them would not start");
}

void check_db(ConfigCheck& check, const std::string& what, const db::Config& config, bool connect) {
  std::string addresses;
  for (const auto& a : config.addresses) addresses += (addresses.empty() ? "" : ",") + a;
  const std::string where = what + " " + addresses + " (" + config.database + ")";
  if (!connect) return check.ok(where + ": addresses well-formed (--check-db to connect)");
  std::string why;
  if (db::connect(config, true, why)) return check.ok(where + ": answers");
  check.error(where + ": " + why);
}

}  // namespace tandem::control
