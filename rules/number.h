// E.164 numbers: what a DID, a caller ID, a forward target or a dialled
// number is turned into before it is stored or looked up.
//
// Accepted, for the plan {country "49", national prefix "0", international "00"}:
//   "+49 30 1234567", "+49 (0)30 1234567"  the international form; "(0)" dropped
//   "0049301234567"                         the international prefix
//   "030/123-45.67"                         the national form: +49 added
//   "tel:+49301234567"                      a tel: URI's number
// Separators (space, '-', '.', '/', parentheses) are removed. Everything else
// is refused with the reason: letters or other characters, a '+' not in front,
// a number without a national or international prefix (a local number: its
// area code is unknown), a country code starting with 0, fewer than 6 or more
// than 15 digits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::rules {

struct NumberPlan {
  std::string country_code = "49";         // digits
  std::string national_prefix = "0";       // trunk prefix; empty: none
  std::string international_prefix = "00";
};

// Checks a plan's fields (digits only, country code 1-3 digits not starting with 0).
bool validate_plan(const NumberPlan& plan, std::string& error);

// `in` -> "+DIGITS". On failure `out` is unchanged and `error` says why.
bool normalize_number(std::string_view in, const NumberPlan& plan, std::string& out,
                      std::string& error);

// The same, for the leading digits of a number (caller prefix patterns):
// any length from 1 digit after the country code; "030" -> "+4930", "+1" -> "+1".
bool normalize_prefix(std::string_view in, const NumberPlan& plan, std::string& out,
                      std::string& error);

// "+DIGITS" as produced above, or "DIGITS" (1-15 digits) -> a 64-bit key
// (length in the top byte, value below); unique per digit string.
bool digits_key(std::string_view digits, uint64_t& key);

}  // namespace tandem::rules
