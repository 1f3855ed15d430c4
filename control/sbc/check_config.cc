// tandem-sbc --check-config (config_check/config_check.h).
#include <string>

#include "config_check/config_check.h"
#include "control/process_flags.h"
#include "control/sbc/config.h"

namespace tandem::control::sbc {

int check_sbc_config(const SbcConfig& c) {
  ConfigCheck check;
  check.ok("flags and --config parsed: " + std::to_string(c.servers.size()) + " servers");
  check.bindable("SIP", c.sip.address, c.sip.port, true);
  check_process_flags(c, check);
  check_not_sip_port(check, c, c.sip);
  for (const ServerSpec& s : c.servers)
    if (same_socket(s.host, s.port, c.sip.address, c.sip.port))
      check.error("--server " + s.name + " is this SBC's own --sip " + s.host + ":" + std::to_string(s.port) +
                  ": its calls would come back to it");
  if (!c.rules) {
    check.ok("providers: --peer only (no --rules-db)");
    return check.exit_code();
  }
  if (c.rules_saved.empty())
    check.warning("--rules-saved is empty: a start without the Rules DB would refuse every provider");
  else
    check.parent_directory("saved rules", c.rules_saved, true);
  check_db(check, "Rules DB", c.rules_db, c.check_db);
  return check.exit_code();
}

}  // namespace tandem::control::sbc
