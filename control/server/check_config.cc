// tandem-control --check-config (config_check/config_check.h).
#include <filesystem>

#include "config_check/config_check.h"
#include "control/process_flags.h"
#include "control/server/config.h"

namespace tandem::control {

int check_server_config(const ServerConfig& c) {
  ConfigCheck check;
  check.ok("flags and --config parsed");
  check.bindable("SIP", c.sip.address, c.sip.port, true);
  check_process_flags(c, check);
  check_not_sip_port(check, c, c.sip);
  std::error_code ec;
  if (std::filesystem::exists(c.dataplane_socket, ec))
    check.ok("dataplane socket " + c.dataplane_socket);
  else
    check.warning("dataplane socket " + c.dataplane_socket + ": not there (yet): tandem-control waits for it");
  check.directory("CDR spool", c.cdr.writer.spool.dir, true);
  if (c.rules_saved.empty())
    check.warning("--rules-saved is empty: a start without the Rules DB would refuse every call");
  else
    check.parent_directory("saved rules", c.rules_saved, true);
  check_db(check, "Rules DB", c.rules_db, c.check_db);
  check_db(check, "CDR DB", c.cdr.db, c.check_db);
  return check.exit_code();
}

}  // namespace tandem::control
