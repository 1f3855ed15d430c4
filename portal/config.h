// tandem-portal's flags: where it listens (TLS with a certificate and key,
// plain HTTP otherwise: loopback, tests, behind a reverse proxy), its two DBs
// (db/flags.h: --rules-db, --cdr-db and their users and password files),
// sessions and the login limit.
#pragma once

#include <cstdint>
#include <string>

#include "db/connection.h"
#include "db/flags.h"

namespace tandem::portal {

struct PortalConfig {
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert;
  std::string tls_key;
  db::Config rules_db;
  db::DbFlags rules_db_flags{"rules", "Rules DB", ""};
  db::Config cdr_db;
  db::DbFlags cdr_db_flags{"cdr", "CDR DB", ""};
  uint32_t session_idle_s = 1800;
  uint32_t session_max_s = 12 * 3600;
  uint32_t login_max_failures = 5;
  uint32_t login_window_s = 900;
  uint32_t login_lockout_s = 900;
  uint32_t csv_max_rows = 100000;
  std::string metrics_listen;
  std::string log_level = "info";
  bool check_config = false;
  bool check_db = false;
  bool behind_tls_proxy = false;   // plain HTTP here, HTTPS at the browser

  bool tls() const { return !tls_cert.empty(); }
  // Cookies the browser sends back over HTTPS only: whenever the browser speaks HTTPS.
  bool secure_cookies() const { return tls() || behind_tls_proxy; }
};

// Parses argv into `c`: -1 to go on; otherwise the exit code (0 after
// --help, 2 after a bad flag, said on stderr).
int parse_portal_flags(int argc, char** argv, PortalConfig& c);
// --check-config: one line per check (config_check/config_check.h): flags and
// --config, the addresses it serves on, the TLS files, with --check-db what
// the portal reads in both DBs; 0, or 2 when any failed.
int check_portal_config(const PortalConfig& c);

}  // namespace tandem::portal
