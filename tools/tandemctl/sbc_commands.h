// tandemctl's view of an SBC (tandem-sbc's operator socket, --sbc-socket):
// its call servers and their state, drain and undrain; and drain/undrain of
// a call server itself (tandem-control's operator socket).
#pragma once

#include <CLI/CLI.hpp>

#include "tools/tandemctl/cli.h"

namespace tandem::ctl {

void add_sbc_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
