// The attendant's media engine as operators see it: `tandemctl stats`
// (JSON) and /metrics (Prometheus), from one list of its figures.
#pragma once

#include <nlohmann/json.hpp>

#include "attendant/prompt_engine.h"
#include "metrics/exposition.h"

namespace tandem::control {

nlohmann::json attendant_json(const attendant::EngineStats& s, size_t prompts_cached);
void add_attendant(metrics::Exposition& e, const attendant::EngineStats& s, size_t prompts_cached);

}  // namespace tandem::control
