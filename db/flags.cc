#include "db/flags.h"

#include <CLI/CLI.hpp>
#include <fstream>

namespace tandem::db {

void add_db_flags(CLI::App& app, Config& config, DbFlags& flags) {
  const std::string p = "--" + flags.name;
  app.add_option(p + "-db", config.addresses,
                 flags.what + " addresses HOST[:PORT] or unix:/PATH, first that answers (repeat, or comma-separated)")
      ->delimiter(',');
  app.add_option(p + "-db-user", config.user, flags.what + " user")->capture_default_str();
  app.add_option(p + "-db-password-file", flags.password_file, "file holding the " + flags.what + " password");
  app.add_option(p + "-database", config.database, flags.what + " database name")->capture_default_str();
}

bool finish_db_flags(Config& config, const DbFlags& flags, std::string& error) {
  const std::string p = "--" + flags.name;
  if (config.addresses.empty()) {
    error = p + "-db: at least one address";
    return false;
  }
  for (const auto& text : config.addresses) {
    Address parsed;
    if (!parse_address(text, parsed, error)) {
      error = p + "-db: " + error;
      return false;
    }
  }
  if (!flags.password_file.empty()) {
    std::ifstream in(flags.password_file);
    if (!in) {
      error = p + "-db-password-file " + flags.password_file + ": cannot read it";
      return false;
    }
    std::getline(in, config.password);
  }
  return true;
}

}  // namespace tandem::db
