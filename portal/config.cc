#include "portal/config.h"

#include <CLI/CLI.hpp>
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>

#include <iostream>

#include "config_check/command_line.h"
#include "config_check/config_check.h"
#include "metrics/exposition.h"
#include "portal/db_user.h"

namespace tandem::portal {

namespace {

int fail(const std::string& what) {
  std::cerr << "tandem-portal: " << what << "\n";
  return 2;
}

// Whether the portal's DB user can read `table` on `config`'s server.
bool can_read(const db::Config& config, const std::string& table, std::string& error) {
  auto c = db::connect(config, true, error);
  if (!c) return false;
  try {
    db::query(*c, "SELECT 1 FROM " + table + " LIMIT 1");
    return true;
  } catch (const sql::SQLException& e) {
    error = db::error_text(e);
    return false;
  }
}

}  // namespace

int parse_portal_flags(int argc, char** argv, PortalConfig& c) {
  CLI::App app{
      "tandem-portal: call usage on the web for each customer (its own calls only) and for the\n"
      "operator (every customer): the month's figures and chart, the calls with their media quality,\n"
      "CSV downloads. Reads the CDR DB and the Rules DB (accounts: tandemctl portal users) with a\n"
      "user that may only read (tandemctl db init creates it)."};
  app.set_config("--config", "", "file with these flags (TOML or INI: name = value, lists as [..])");
  app.get_formatter()->column_width(40);
  c.rules_db.user = c.cdr_db.user = kDefaultDbUser;
  c.rules_db.database = "tandem_rules";
  c.cdr_db.database = "tandem_cdr";
  app.add_option("--listen", c.listen, "IPV4:PORT to serve on")->capture_default_str()->check(
      [](const std::string& v) { return metrics::listen_problem(v); });
  app.add_option("--tls-cert", c.tls_cert, "PEM certificate (chain): HTTPS, and cookies marked Secure");
  app.add_option("--tls-key", c.tls_key, "PEM private key of --tls-cert");
  app.add_flag("--behind-tls-proxy", c.behind_tls_proxy,
               "plain HTTP for a reverse proxy that serves HTTPS: cookies marked Secure all the same");
  db::add_db_flags(app, c.rules_db, c.rules_db_flags);
  db::add_db_flags(app, c.cdr_db, c.cdr_db_flags);
  app.add_option("--session-idle", c.session_idle_s, "s without a request before a login session ends")
      ->check(CLI::Range(1u, 86400u))->capture_default_str();
  app.add_option("--session-max", c.session_max_s, "s after the login when a session ends however busy")
      ->check(CLI::Range(1u, 30u * 86400u))->capture_default_str();
  app.add_option("--login-max-failures", c.login_max_failures,
                 "failed logins of one account or one address within --login-window before it is locked")
      ->check(CLI::Range(1u, 1000u))->capture_default_str();
  app.add_option("--login-window", c.login_window_s, "s over which failed logins count")
      ->check(CLI::Range(1u, 86400u))->capture_default_str();
  app.add_option("--login-lockout", c.login_lockout_s, "s a locked account or address is refused")
      ->check(CLI::Range(1u, 86400u))->capture_default_str();
  app.add_option("--csv-max-rows", c.csv_max_rows, "calls in one CSV download at most")
      ->check(CLI::Range(1u, 10000000u))->capture_default_str();
  app.add_option("--metrics-listen", c.metrics_listen, "IPV4:PORT for Prometheus' /metrics (none by default)")
      ->check([](const std::string& v) { return metrics::listen_problem(v); });
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")->capture_default_str()->check(
      CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_flag("--check-config", c.check_config, "check the flags and the TLS files, then exit (0: fine, 2: not)");
  app.add_flag("--check-db", c.check_db, "with --check-config: read what the portal reads in both DBs");
  standard_flags(app);
  if (const int rc = parse_command_line(app, argc, argv, "tandem-portal"); rc >= 0) return rc;
  if (c.tls_cert.empty() != c.tls_key.empty()) return fail("--tls-cert and --tls-key go together");
  std::string error;
  if (!db::finish_db_flags(c.rules_db, c.rules_db_flags, error)) return fail(error);
  if (!db::finish_db_flags(c.cdr_db, c.cdr_db_flags, error)) return fail(error);
  return -1;
}

int check_portal_config(const PortalConfig& c) {
  ConfigCheck check;
  check.ok("flags and --config parsed");
  std::string address;
  uint16_t port = 0;
  if (metrics::parse_listen(c.listen, address, port)) check.bindable("listen", address, port, false);
  if (!c.metrics_listen.empty() && metrics::parse_listen(c.metrics_listen, address, port))
    check.bindable("metrics", address, port, false);
  if (c.tls()) {
    check.readable("--tls-cert", c.tls_cert);
    check.readable("--tls-key", c.tls_key);
  }
  if (!c.check_db) {
    check.ok("Rules DB and CDR DB: addresses well-formed (--check-db to read them)");
    return check.exit_code();
  }
  std::string error;
  for (const auto& t : rules_db_tables(c.rules_db.database)) {
    if (can_read(c.rules_db, t, error))
      check.ok("Rules DB: " + t);
    else
      check.error("Rules DB: " + t + ": " + error);
  }
  for (const auto& t : cdr_db_tables(c.cdr_db.database)) {
    if (can_read(c.cdr_db, t, error))
      check.ok("CDR DB: " + t);
    else
      check.error("CDR DB: " + t + ": " + error);
  }
  return check.exit_code();
}

}  // namespace tandem::portal
