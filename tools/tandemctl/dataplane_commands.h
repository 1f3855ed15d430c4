// `tandemctl dataplane ...`: status, sessions, show, create, update, delete,
// and watch (timeout events), over the dataplane's control socket.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "tools/tandemctl/cli.h"

namespace tandem::ctl {

void add_dataplane_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
