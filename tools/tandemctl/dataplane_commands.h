// `tandemctl dataplane ...`: status, sessions, show, create, update, delete,
// and watch (timeout events), over the dataplane's control socket.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace tandem::ctl {

struct GlobalOptions {
  std::string socket = "/run/tandem/dataplane.sock";
  std::string control_socket = "/run/tandem/control.sock";  // tandem-control's
  bool json = false;
};

void add_dataplane_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
