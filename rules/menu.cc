#include "rules/menu.h"

#include <algorithm>
#include <array>

#include "rules/snapshot.h"

namespace tandem::rules {

namespace {

#define TANDEM_RULES_NAME(n) #n,
constexpr std::array kOutcomeNames{TANDEM_RULES_MENU_OUTCOMES(TANDEM_RULES_NAME)};
#undef TANDEM_RULES_NAME

bool is_key(char c) { return (c >= '0' && c <= '9') || c == '*' || c == '#'; }

// Keys one entry into `entry`: `ignored` gets the keys after it was decided.
EntryMatch key_entry(Entry& entry, std::string_view keys, std::string& ignored) {
  for (size_t i = 0; i < keys.size(); ++i) {
    const EntryMatch m = entry.key(keys[i]);
    if (m != EntryMatch::more) {
      // A '#' out of habit after an entry decided at its last key is no surprise.
      if (keys.substr(i + 1) != "#") ignored = std::string(keys.substr(i + 1));
      return m;
    }
  }
  return entry.ended();
}

}  // namespace

std::string_view name(MenuOutcome o) { return kOutcomeNames.at(static_cast<size_t>(o)); }

bool valid_entry(std::string_view digits, std::string& why) {
  if (digits == "#") return true;
  if (digits.empty() || digits.size() > kMaxEntryDigits) {
    why = "\"" + std::string(digits) + "\" is not 1-" + std::to_string(kMaxEntryDigits) + " keys";
    return false;
  }
  for (char c : digits) {
    if (!is_key(c) || c == '#') {
      why = "\"" + std::string(digits) + "\": '" + std::string(1, c) +
            "' is not 0-9 or * (# ends an entry, or is an option alone)";
      return false;
    }
  }
  return true;
}

EntryMatch Entry::key(char k) {
  if (k == '#' && !digits_.empty()) return lookup(true);
  digits_ += k;
  if (k == '#') return lookup(true);
  if (digits_.size() > kMaxEntryDigits) return EntryMatch::invalid;
  return lookup(false);
}

EntryMatch Entry::ended() { return lookup(true); }

// Options sorted by digits: those that start with digits_ follow the first
// one not below it.
EntryMatch Entry::lookup(bool final) {
  const auto& opts = menu_.options;
  auto it = std::lower_bound(opts.begin(), opts.end(), digits_,
                             [](const MenuOption& o, const std::string& d) { return o.digits < d; });
  const bool exact = it != opts.end() && it->digits == digits_;
  if (exact) option_ = &*it;
  const auto next = exact ? it + 1 : it;
  const bool longer = !final && next != opts.end() && next->digits.starts_with(digits_);
  if (longer) {
    option_ = nullptr;
    return EntryMatch::more;
  }
  return exact ? EntryMatch::option : EntryMatch::invalid;
}

MenuPath follow_menus(const Snapshot& s, Id menu_id, const std::vector<std::string>& entries) {
  MenuPath path;
  for (const std::string& e : entries) {
    if (e == "timeout") continue;
    if (e.empty() || !std::all_of(e.begin(), e.end(), is_key)) {
      path.error = "entry \"" + e + "\": keys are 0-9, * and #, or \"timeout\"";
      return path;
    }
  }
  const Menu* menu = s.menu(menu_id);
  uint8_t failures = 0;
  for (size_t i = 0; i < entries.size() && menu; ++i) {
    MenuStep step;
    step.menu = menu;
    step.entry = entries[i];
    const Action* failed = nullptr;
    if (entries[i] == "timeout") {
      step.outcome = MenuOutcome::timeout;
      failed = &menu->timeout_action;
    } else {
      Entry entry(*menu);
      if (key_entry(entry, entries[i], step.ignored) == EntryMatch::option) {
        step.option = entry.option();
        step.action = &step.option->action;
      } else {
        step.outcome = MenuOutcome::invalid;
        failed = &menu->invalid_action;
      }
    }
    if (failed) {
      if (failures < menu->retries) {
        step.retry = ++failures;
      } else {
        step.action = failed;
      }
    }
    path.steps.push_back(step);
    if (!step.action) continue;
    failures = 0;
    if (step.action->kind == ActionKind::repeat) continue;
    if (step.action->kind != ActionKind::menu) {
      path.action = step.action;
      path.unused = entries.size() - i - 1;
      return path;
    }
    menu = s.menu(step.action->menu_id);
  }
  path.waiting = menu;
  return path;
}

}  // namespace tandem::rules
