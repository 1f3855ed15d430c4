// A session id as operators read and type it: SLOT:GENERATION ("0:1" is the id
// 4294967296, slot 0 of generation 1), like Kamailio's dialog ids (h_entry:h_id).
// The raw number (what JSON carries) is accepted too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::dp::proto {

std::string session_id_text(uint64_t id);
// "SLOT:GEN" or a decimal id; false when it is neither (or out of range).
bool parse_session_id(std::string_view text, uint64_t& id);

}  // namespace tandem::dp::proto
