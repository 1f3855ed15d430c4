// E.164 numbers on the call path: "+DIGITS" taken as it is, without
// normalize_number, and the digits as an integer, the form in which the
// compiled index (compiled_index.h) keeps numbers and caller patterns.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rules/number.h"

namespace tandem::rules {

inline constexpr std::array<uint64_t, 16> kPow10 = [] {
  std::array<uint64_t, 16> p{};
  p[0] = 1;
  for (size_t i = 1; i < p.size(); ++i) p[i] = p[i - 1] * 10;
  return p;
}();

// "+DIGITS" already in E.164 (what the SIP layer usually passes): no need to normalise.
inline bool plain_e164(std::string_view s) {
  if (s.size() < 7 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

inline bool to_e164(std::string_view in, const NumberPlan& plan, std::string& out, std::string& error) {
  if (plain_e164(in)) {
    out.assign(in);
    return true;
  }
  return normalize_number(in, plan, out, error);
}

// "+DIGITS" (as normalised) -> the digits as a number and their count.
inline void digits_value(std::string_view e164, uint64_t& value, uint8_t& len) {
  value = 0;
  for (size_t i = 1; i < e164.size(); ++i) value = value * 10 + static_cast<uint64_t>(e164[i] - '0');
  len = static_cast<uint8_t>(e164.size() - 1);
}

}  // namespace tandem::rules
