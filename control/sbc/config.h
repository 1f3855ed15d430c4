// tandem-sbc's configuration: flags, or the same names in a file (--config,
// TOML or INI as CLI11 reads them) for the list of servers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/process_flags.h"
#include "control/sbc/dispatcher.h"
#include "control/sip/settings.h"
#include "db/flags.h"
#include "rules/store.h"

namespace tandem::control::sbc {

struct SbcConfig : ProcessFlags {
  SbcConfig() {
    control_socket = "/run/tandem/sbc.sock";
    node = "sbc1";
  }
  SipSettings sip;
  std::vector<ServerSpec> servers;
  uint32_t probe_interval_ms = 1000;  // OPTIONS to every server this often
  uint32_t probe_misses = 2;          // missed or failed in a row: down
  uint32_t server_timeout_ms = 1000;  // no answer at all (not even 100 Trying) this long: next server
  uint32_t invite_rate = 200;         // new INVITEs per second per source address (0: no limit)
  uint32_t invite_burst = 0;          // saved up at most (0: a second's worth)
  uint32_t shed_delay_ms = 300;       // new INVITEs get 503 while datagrams wait unread this long (0: never)
  // The providers that may send: the Rules DB's, when one is given.
  bool rules = false;
  rules::DbConfig rules_db;
  db::DbFlags rules_db_flags{.name = "rules", .what = "Rules DB (providers)", .password_file = {}};
  uint32_t rules_poll_ms = 1000;
  std::string rules_saved = "/var/lib/tandem/sbc-rules.saved";
};

// Parses argv (and the --config file it names). Returns -1 to go on, else the
// exit code: 0 after --help, 2 after a bad flag (the error is printed).
int parse_sbc_flags(int argc, char** argv, SbcConfig& config);

// --check-config: prints each check (config_check/config_check.h); the exit code.
int check_sbc_config(const SbcConfig& config);

}  // namespace tandem::control::sbc
