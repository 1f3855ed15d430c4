#include "control/sbc/config.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <set>

#include "config_check/command_line.h"
#include "rules/reloader.h"

namespace tandem::control::sbc {

namespace {

void add_dispatch_flags(CLI::App& app, SbcConfig& c, std::vector<std::string>& servers) {
  app.add_option("--server", servers,
                 "NAME=IPV4[:PORT][,dc=local|remote][,capacity=N][,transport=udp|tcp]: a call server "
                 "(repeatable); capacity: what its probes say when not given")
      ->required();
  app.add_option("--probe-interval", c.probe_interval_ms, "ms between OPTIONS probes to every server")
      ->check(CLI::Range(100u, 60000u))->capture_default_str();
  app.add_option("--probe-misses", c.probe_misses, "probes missed or failed in a row before a server is down")
      ->check(CLI::Range(1u, 100u))->capture_default_str();
  app.add_option("--server-timeout", c.server_timeout_ms,
                 "ms a server may leave a new INVITE without any answer (not even 100 Trying) before the "
                 "next server gets the call")
      ->check(CLI::Range(50u, 32000u))->capture_default_str();
  app.add_option("--invite-rate", c.invite_rate,
                 "new INVITEs a second from one source address; beyond: 503 (0: no limit)")
      ->check(CLI::Range(0u, 1000000u))->capture_default_str();
  app.add_option("--invite-burst", c.invite_burst, "INVITEs one source may send at once (0: --invite-rate)")
      ->check(CLI::Range(0u, 1000000u))->capture_default_str();
  app.add_option("--shed-delay", c.shed_delay_ms,
                 "ms the next datagram in the SIP socket may have waited unread before new INVITEs get 503 "
                 "at once: the SBC's core is full, and calls it cannot serve in time would only fail later "
                 "and retransmit; below T1 (500 ms), so that providers do not retransmit (0: never)")
      ->check(CLI::Range(0u, 60000u))->capture_default_str();
}

int fail(const std::string& what) {
  std::cerr << "tandem-sbc: " << what << "\n";
  return 2;
}

}  // namespace

int parse_sbc_flags(int argc, char** argv, SbcConfig& c) {
  CLI::App app{
      "tandem-sbc: the front door of a data center. A SIP proxy that sends each new call to the\n"
      "least-loaded call server of its DC (the other DC's only when none here can take it), probes\n"
      "them with OPTIONS, fails over when one does not answer, and stays in the dialogs (Record-Route)\n"
      "without keeping them: a restart breaks no call. Media never passes through it."};
  app.set_config("--config", "", "file with these flags (TOML or INI: name = value, lists as [..])");
  app.get_formatter()->column_width(40);
  SipFlagText sip;
  add_sip_flags(app, c.sip, sip, "allowed to send besides the servers and the Rules DB's providers");
  std::vector<std::string> servers;
  add_dispatch_flags(app, c, servers);
  add_process_flags(app, c, "SBC");
  db::add_db_flags(app, c.rules_db, c.rules_db_flags);
  rules::add_reloader_flags(app, c.rules_poll_ms, c.rules_saved);
  standard_flags(app);
  if (const int rc = parse_command_line(app, argc, argv, "tandem-sbc"); rc >= 0) return rc;
  std::string error;
  if (!finish_sip_flags(c.sip, sip, error)) return fail(error);
  std::set<std::string> names;
  for (const auto& text : servers) {
    ServerSpec s;
    if (!parse_server(text, s, error)) return fail("--server " + error);
    if (!names.insert(s.name).second) return fail("--server " + s.name + ": named twice");
    c.servers.push_back(s);
  }
  c.rules = !c.rules_db.addresses.empty();
  if (c.rules && !db::finish_db_flags(c.rules_db, c.rules_db_flags, error)) return fail(error);
  return -1;
}

}  // namespace tandem::control::sbc
