#include "rules/number.h"

namespace tandem::rules {

namespace {

constexpr size_t kMinDigits = 6;
constexpr size_t kMaxDigits = 15;

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool is_separator(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')';
}

// Shared by normalize_number (partial = false) and normalize_prefix (true).
bool normalize(std::string_view in, const NumberPlan& plan, bool partial, std::string& out,
               std::string& error) {
  // Already E.164 (what the DB holds and SIP usually carries): as it is.
  if (in.size() >= (partial ? 2 : 1 + kMinDigits) && in.size() <= 1 + kMaxDigits && in[0] == '+' &&
      in[1] != '0' && all_digits(in.substr(1))) {
    out.assign(in);
    return true;
  }
  // Built only on failure: lookups of good numbers allocate nothing but `out`.
  auto what = [&] { return std::string(partial ? "number prefix \"" : "number \"") + std::string(in) + "\""; };
  std::string_view s = in;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.substr(0, 4) == "tel:") s.remove_prefix(4);
  if (s.empty()) {
    error = what() + ": empty";
    return false;
  }
  bool plus = false;
  std::string digits;
  digits.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      if (i != 0) {
        error = what() + ": '+' is only allowed in front";
        return false;
      }
      plus = true;
    } else if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == '(' && plus && s.substr(i, 3) == "(0)") {
      i += 2;  // "+49 (0)30...": the trunk prefix shown for national callers
    } else if (!is_separator(c)) {
      error = what() + ": character '" + std::string(1, c) + "' at " +
              std::to_string(i + 1) + " is not a digit or separator";
      return false;
    }
  }
  if (digits.empty()) {
    error = what() + ": no digits";
    return false;
  }
  std::string e164;
  if (plus) {
    e164 = digits;
  } else if (!plan.international_prefix.empty() &&
             digits.compare(0, plan.international_prefix.size(), plan.international_prefix) == 0 &&
             digits.size() > plan.international_prefix.size()) {
    e164 = digits.substr(plan.international_prefix.size());
  } else if (!plan.national_prefix.empty() &&
             digits.compare(0, plan.national_prefix.size(), plan.national_prefix) == 0 &&
             digits.size() > plan.national_prefix.size()) {
    e164 = plan.country_code + digits.substr(plan.national_prefix.size());
  } else {
    error = what() + ": neither international (+" + plan.country_code + "..." +
            (plan.international_prefix.empty() ? "" : ", " + plan.international_prefix + "...") +
            ") nor national (" + plan.national_prefix + "...): a local number cannot be placed";
    return false;
  }
  if (e164[0] == '0') {
    error = what() + ": a country code cannot start with 0";
    return false;
  }
  if (e164.size() > kMaxDigits) {
    error = what() + ": " + std::to_string(e164.size()) +
            " digits, more than E.164's 15";
    return false;
  }
  if (!partial && e164.size() < kMinDigits) {
    error = what() + ": " + std::to_string(e164.size()) +
            " digits, too short for an E.164 number (at least " + std::to_string(kMinDigits) + ")";
    return false;
  }
  out = "+" + e164;
  return true;
}

}  // namespace

bool validate_plan(const NumberPlan& plan, std::string& error) {
  if (plan.country_code.empty() || plan.country_code.size() > 3 || !all_digits(plan.country_code) ||
      plan.country_code[0] == '0') {
    error = "number plan: country code \"" + plan.country_code + "\" is not 1-3 digits from 1";
    return false;
  }
  if (!all_digits(plan.national_prefix) || !all_digits(plan.international_prefix)) {
    error = "number plan: prefixes must be digits";
    return false;
  }
  if (!plan.national_prefix.empty() && plan.national_prefix == plan.international_prefix) {
    error = "number plan: national and international prefixes are the same";
    return false;
  }
  return true;
}

bool normalize_number(std::string_view in, const NumberPlan& plan, std::string& out,
                      std::string& error) {
  return normalize(in, plan, false, out, error);
}

bool normalize_prefix(std::string_view in, const NumberPlan& plan, std::string& out,
                      std::string& error) {
  return normalize(in, plan, true, out, error);
}

bool digits_key(std::string_view digits, uint64_t& key) {
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty() || digits.size() > kMaxDigits) return false;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  key = (uint64_t{digits.size()} << 56) | v;
  return true;
}

}  // namespace tandem::rules
