// tandemctl's view of the call server (tandem-control's operator socket):
// calls, call ID, stats; and the requests other command groups send it
// (rules reload, cdr stats).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tools/tandemctl/dataplane_commands.h"

namespace tandem::ctl {

void add_call_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

// One request to tandem-control; nullopt and `error` when it cannot be asked
// or answers with an error.
std::optional<nlohmann::json> control_request(const std::string& socket, const nlohmann::json& request,
                                              std::string& error, int timeout_ms = 120000);

// Prints a flat JSON object as "key: value" lines (or the JSON with --json).
void print_object(const GlobalOptions& g, const nlohmann::json& j);

}  // namespace tandem::ctl
