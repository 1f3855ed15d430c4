// What tandemctl stats shows of a process's rules: their version, where they
// came from (the DB, or the saved file when the DB could not be reached at
// start), the reloader's loads, failures and saves.
#pragma once

#include <nlohmann/json.hpp>

#include "rules/reloader.h"

namespace tandem::control {

nlohmann::json rules_status(const rules::ReloaderStats& s);

}  // namespace tandem::control
