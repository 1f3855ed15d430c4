// The flags every control-plane process has: its operator socket, log level,
// and the names its logs (and CDRs) give it. tandem-control's and
// tandem-sbc's configurations derive from it.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace tandem::control {

struct ProcessFlags {
  std::string control_socket;   // what tandemctl talks to
  std::string log_level = "info";
  std::string dc = "dc1";
  std::string node;
};

// --control-socket, --log-level, --dc, --node; `what`: "server" or "SBC", for the help.
void add_process_flags(CLI::App& app, ProcessFlags& f, const std::string& what);

}  // namespace tandem::control
