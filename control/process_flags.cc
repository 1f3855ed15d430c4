#include "control/process_flags.h"

#include <CLI/CLI.hpp>

namespace tandem::control {

void add_process_flags(CLI::App& app, ProcessFlags& f, const std::string& what) {
  app.add_option("--control-socket", f.control_socket, "socket tandemctl talks to")->capture_default_str();
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))->capture_default_str();
  app.add_option("--dc", f.dc, "this DC's name (logs" + std::string(what == "server" ? ", CDRs" : "") + ")")
      ->capture_default_str();
  app.add_option("--node", f.node, "this " + what + "'s name (logs" + (what == "server" ? ", CDRs" : "") + ")")
      ->capture_default_str();
}

}  // namespace tandem::control
