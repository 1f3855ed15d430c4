// The calls page's filter, from the query string to cdr::QueryFilter: every
// value checked here, then bound as a parameter of a prepared statement
// (cdr::records_sql), never spliced into SQL.
#pragma once

#include <cstdint>
#include <string>

#include "cdr/query.h"

namespace tandem::portal {

inline constexpr uint32_t kPageSize = 50;
inline constexpr uint32_t kMaxPage = 100000;

// As the form sends them; empty: not filtered.
struct CallParams {
  std::string from;          // YYYY-MM-DD, UTC, inclusive
  std::string to;            // YYYY-MM-DD, UTC, inclusive
  std::string number;        // caller or called, exactly
  std::string direction;     // inbound, outbound
  std::string disposition;   // answered, busy...
  std::string page;          // 1...
};

// Fills `f` (not its customer) and `page`; false and why (for the page's
// 400) when a value is not what the form offers.
bool parse_call_params(const CallParams& p, cdr::QueryFilter& f, uint32_t& page, std::string& error);

}  // namespace tandem::portal
