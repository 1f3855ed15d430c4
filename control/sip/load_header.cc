#include "control/sip/load_header.h"

#include <charconv>

#include <fmt/format.h>

namespace tandem::control {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool number(std::string_view s, uint32_t& out) {
  s = trim(s);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string load_header(Load load) { return fmt::format("{}: {}/{}", kLoadHeader, load.calls, load.capacity); }

std::optional<Load> parse_load(std::string_view value) {
  const auto slash = value.find('/');
  Load load;
  if (slash == std::string_view::npos || !number(value.substr(0, slash), load.calls) ||
      !number(value.substr(slash + 1), load.capacity) || load.capacity == 0)
    return std::nullopt;
  return load;
}

}  // namespace tandem::control
