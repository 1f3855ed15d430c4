// The latch modes by name, as operators give them (tandemctl, tandem-control):
// who may latch a leg when control gave its remote.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dataplane_protocol/protocol.h"

namespace tandem::dp::proto {

// Every name latch_mode_bits() takes, for the flags' checks.
inline constexpr std::array<std::string_view, 3> kLatchModeNames = {"address", "address-port", "any"};

// "address" (its address, any port: NAT), "address-port", "any"; the lock bits.
inline std::optional<uint8_t> latch_mode_bits(std::string_view name) {
  if (name == "address") return kModeLockAddress;
  if (name == "address-port") return static_cast<uint8_t>(kModeLockAddress | kModeLockPort);
  if (name == "any") return uint8_t{0};
  return std::nullopt;
}

// The name of a leg's mode or flags.
inline const char* latch_mode_name(uint8_t flags) {
  if (flags & kModeLockPort) return "address-port";
  return (flags & kModeLockAddress) ? "address" : "any";
}

}  // namespace tandem::dp::proto
