#include "rules/model.h"

#include <array>
#include <charconv>

namespace tandem::rules {

namespace {

#define TANDEM_RULES_NAME(n) #n,
constexpr std::array kActionNames{TANDEM_RULES_ACTION_KINDS(TANDEM_RULES_NAME)};
constexpr std::array kCallerMatchNames{TANDEM_RULES_CALLER_MATCHES(TANDEM_RULES_NAME)};
#undef TANDEM_RULES_NAME

constexpr std::array<std::string_view, 7> kDayNames{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

template <typename E, size_t N>
std::optional<E> parse_enum(const std::array<const char*, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (s == names[i]) return static_cast<E>(i);
  }
  return std::nullopt;
}

template <typename T>
bool parse_uint(std::string_view s, T& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool parse_ring_target(std::string_view item, const NumberPlan& plan, RingTarget& out,
                       std::string& error) {
  item = trim(item);
  const auto slash = item.rfind('/');
  if (slash == std::string_view::npos) {
    error = "ring target \"" + std::string(item) + "\": no /SECONDS timeout";
    return false;
  }
  const std::string_view target = trim(item.substr(0, slash));
  const std::string_view secs = trim(item.substr(slash + 1));
  if (!parse_uint(secs, out.timeout_s) || out.timeout_s < 1 || out.timeout_s > 600) {
    error = "ring target \"" + std::string(item) + "\": timeout must be 1-600 seconds";
    return false;
  }
  if (target.substr(0, 4) == "sip:" || target.substr(0, 5) == "sips:") {
    if (target.find('@') == std::string_view::npos && target.size() < 6) {
      error = "ring target \"" + std::string(item) + "\": incomplete SIP URI";
      return false;
    }
    out.target = std::string(target);
    return true;
  }
  return normalize_number(target, plan, out.target, error);
}

}  // namespace

std::string_view name(ActionKind k) { return kActionNames.at(static_cast<size_t>(k)); }
std::string_view name(CallerMatch m) { return kCallerMatchNames.at(static_cast<size_t>(m)); }
std::optional<ActionKind> parse_action_kind(std::string_view s) {
  return parse_enum<ActionKind>(kActionNames, s);
}
std::optional<CallerMatch> parse_caller_match(std::string_view s) {
  return parse_enum<CallerMatch>(kCallerMatchNames, s);
}

bool parse_action(std::string_view kind, std::string_view target, const NumberPlan& plan,
                  Action& out, std::string& error) {
  const auto k = parse_action_kind(kind);
  if (!k) {
    error = "unknown action \"" + std::string(kind) + "\"";
    return false;
  }
  Action a;
  a.kind = *k;
  target = trim(target);
  switch (*k) {
    case ActionKind::voicemail:
    case ActionKind::repeat:
    case ActionKind::hangup:
      if (!target.empty()) {
        error = std::string(kind) + " takes no target" +
                (*k == ActionKind::voicemail ? " (the customer's VM is used)" : "") + ", got \"" +
                std::string(target) + "\"";
        return false;
      }
      break;
    case ActionKind::extension:
      if (!valid_extension(target)) {
        error = "extension: target \"" + std::string(target) + "\" is not 1-16 digits";
        return false;
      }
      a.number = std::string(target);
      break;
    case ActionKind::forward:
      if (!normalize_number(target, plan, a.number, error)) {
        error = "forward: " + error;
        return false;
      }
      break;
    case ActionKind::ring: {
      if (target.empty()) {
        error = "ring: no target";
        return false;
      }
      size_t start = 0;
      while (start <= target.size()) {
        auto comma = target.find(',', start);
        if (comma == std::string_view::npos) comma = target.size();
        RingTarget t;
        if (!parse_ring_target(target.substr(start, comma - start), plan, t, error)) {
          error = "ring: " + error;
          return false;
        }
        a.ring.push_back(std::move(t));
        start = comma + 1;
      }
      break;
    }
    case ActionKind::menu:
      if (!parse_uint(target, a.menu_id) || a.menu_id == 0) {
        error = "menu: target \"" + std::string(target) + "\" is not a menu id";
        return false;
      }
      break;
    case ActionKind::reject:
      if (!parse_uint(target, a.sip_code) || a.sip_code < 400 || a.sip_code > 699) {
        error = "reject: target \"" + std::string(target) + "\" is not a SIP code 400-699";
        return false;
      }
      break;
  }
  out = std::move(a);
  return true;
}

std::string format_target(const Action& a) {
  switch (a.kind) {
    case ActionKind::voicemail:
    case ActionKind::repeat:
    case ActionKind::hangup:
      return "";
    case ActionKind::forward:
    case ActionKind::extension:
      return a.number;
    case ActionKind::ring: {
      std::string s;
      for (const auto& t : a.ring) {
        if (!s.empty()) s += ",";
        s += t.target + "/" + std::to_string(t.timeout_s);
      }
      return s;
    }
    case ActionKind::menu:
      return std::to_string(a.menu_id);
    case ActionKind::reject:
      return std::to_string(a.sip_code);
  }
  return "";
}

std::string describe(const Action& a) {
  switch (a.kind) {
    case ActionKind::voicemail:
      return "voicemail";
    case ActionKind::forward:
      return "forward to " + a.number;
    case ActionKind::ring: {
      std::string s = "ring";
      for (size_t i = 0; i < a.ring.size(); ++i) {
        s += (i ? ", then " : " ") + a.ring[i].target + " for " +
             std::to_string(a.ring[i].timeout_s) + " s";
      }
      return s;
    }
    case ActionKind::menu:
      return "menu " + std::to_string(a.menu_id);
    case ActionKind::reject:
      return "reject " + std::to_string(a.sip_code);
    case ActionKind::extension:
      return "extension " + a.number + " on the VM";
    case ActionKind::repeat:
      return "repeat the menu";
    case ActionKind::hangup:
      return "hang up";
  }
  return "";
}

bool valid_extension(std::string_view s) {
  if (s.empty() || s.size() > kMaxEntryDigits) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool parse_days(std::string_view s, DayMask& out) {
  DayMask d = 0;
  size_t start = 0;
  while (start < s.size()) {
    auto comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    const std::string_view item = trim(s.substr(start, comma - start));
    bool known = false;
    for (size_t i = 0; i < kDayNames.size(); ++i) {
      if (item == kDayNames[i]) {
        d = static_cast<DayMask>(d | (1u << i));
        known = true;
      }
    }
    if (!known) return false;
    start = comma + 1;
  }
  out = d;
  return true;
}

std::string format_days(DayMask d) {
  std::string s;
  for (size_t i = 0; i < kDayNames.size(); ++i) {
    if (d & (1u << i)) {
      if (!s.empty()) s += ",";
      s += kDayNames[i];
    }
  }
  return s;
}

}  // namespace tandem::rules
