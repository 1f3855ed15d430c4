// A process's counters as one X-macro list (name, meaning), so that a counter
// cannot be added without its name and what it counts: tandemctl stats shows
// both. TANDEM_COUNTER_TABLE(LIST) declares `enum class Counter` and
// `kCounterInfo` from it in the namespace where it is used.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tandem::control {

struct CounterInfo {
  std::string_view name;
  std::string_view help;
};

}  // namespace tandem::control

#define TANDEM_COUNTER_ENUM_ITEM(name, help) name,
#define TANDEM_COUNTER_INFO_ITEM(name, help) ::tandem::control::CounterInfo{#name, help},
#define TANDEM_COUNTER_TABLE(LIST)                                                          \
  enum class Counter : uint8_t { LIST(TANDEM_COUNTER_ENUM_ITEM) count };                    \
  inline constexpr std::array<::tandem::control::CounterInfo, static_cast<size_t>(Counter::count)> \
      kCounterInfo = {LIST(TANDEM_COUNTER_INFO_ITEM)};
