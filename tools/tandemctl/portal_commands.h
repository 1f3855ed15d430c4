// `tandemctl portal users add|list|passwd|disable|enable`: the customer
// portal's accounts in the Rules DB (portal/accounts.h). Passwords come from
// stdin (a prompt without echo on a terminal), never from a flag that `ps`
// and shell histories show.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/tandemctl/cli.h"

namespace tandem::ctl {

void add_portal_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
