#include "dataplane_protocol/session_id.h"

#include <charconv>

#include "dataplane_protocol/protocol.h"

namespace tandem::dp::proto {

namespace {

template <typename T>
bool whole_number(std::string_view s, T& out) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::string session_id_text(uint64_t id) {
  return std::to_string(session_slot(id)) + ":" + std::to_string(session_generation(id));
}

bool parse_session_id(std::string_view text, uint64_t& id) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return whole_number(text, id);
  uint32_t slot = 0, generation = 0;
  if (!whole_number(text.substr(0, colon), slot) || !whole_number(text.substr(colon + 1), generation)) return false;
  id = make_session_id(slot, generation);
  return true;
}

}  // namespace tandem::dp::proto
