// What a call server tells the SBCs in its answer to their OPTIONS probes:
//   X-Tandem-Load: CALLS/CAPACITY       its live calls and how many it takes
//   X-Tandem-State: draining            it takes no new calls (tandemctl drain)
// Written by tandem-control, read by tandem-sbc: one definition for both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::control {

inline constexpr std::string_view kLoadHeader = "X-Tandem-Load";
inline constexpr std::string_view kStateHeader = "X-Tandem-State";
inline constexpr std::string_view kDraining = "draining";

struct Load {
  uint32_t calls = 0;
  uint32_t capacity = 0;
};

// "X-Tandem-Load: 12/500" (the whole header line, for SIPTAG_HEADER_STR).
std::string load_header(Load load);
// The value "12/500" (whitespace around the numbers allowed); nullopt when it
// is anything else or the capacity is 0.
std::optional<Load> parse_load(std::string_view value);

}  // namespace tandem::control
