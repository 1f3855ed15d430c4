#include "tools/tandemctl/db_options.h"

#include <cstdlib>

namespace tandem::ctl {

std::vector<std::string> DbOptions::resolved_addresses() const {
  if (!addresses.empty()) return addresses;
  const char* env = address_env.empty() ? nullptr : std::getenv(address_env.c_str());
  return {env ? env : "unix:/run/mysqld/mysqld.sock"};
}

std::string DbOptions::password() const {
  const char* pw = password_env.empty() ? nullptr : std::getenv(password_env.c_str());
  return pw ? pw : "";
}

DbOptions rules_db_options() {
  return DbOptions{.addresses = {}, .user = "tandem", .database = "tandem_rules",
                   .address_env = "TANDEM_RULES_DB", .password_env = "TANDEM_RULES_DB_PASSWORD"};
}

DbOptions cdr_db_options() {
  return DbOptions{.addresses = {}, .user = "tandem", .database = "tandem_cdr",
                   .address_env = "TANDEM_CDR_DB", .password_env = "TANDEM_CDR_DB_PASSWORD"};
}

void add_db_options(CLI::App* cmd, DbOptions& o, const std::string& prefix, const std::string& what) {
  cmd->add_option("--" + prefix + "db", o.addresses,
                  what + ": HOST:PORT or unix:/PATH, first that answers (default $" + o.address_env +
                      " or unix:/run/mysqld/mysqld.sock); password from $" + o.password_env);
  cmd->add_option("--" + prefix + "db-user", o.user, what + " user")->capture_default_str();
  cmd->add_option("--" + prefix + "db-name", o.database, what + " database")->capture_default_str();
}

}  // namespace tandem::ctl
