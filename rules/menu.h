// Menus as the attendant reads them: what an option's digits may be, how the
// digits a caller keys are matched against the options (the same at run time
// and in `tandemctl route --digits`), and where a list of entries leads
// through nested menus, retries and timeouts.
//
// An entry is decided as soon as it can be: when the digits keyed so far are
// an option and no longer option starts with them (so a menu of single
// digits acts on the first key), or when no option starts with them
// (invalid at once). Otherwise the caller keys on, and '#' or the
// inter-digit timeout ends the entry. '#' as the first key is the entry "#".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/model.h"

namespace tandem::rules {

class Snapshot;

// An option's digits: "#" alone, or 1-kMaxEntryDigits of 0-9 and *. False with why.
bool valid_entry(std::string_view digits, std::string& why);

enum class EntryMatch : uint8_t { more, option, invalid };

// One entry being keyed, in a menu whose options are sorted by digits (as a
// snapshot's are).
class Entry {
 public:
  explicit Entry(const Menu& m) : menu_(m) {}
  // A key: 0-9, * or #.
  EntryMatch key(char k);
  // The inter-digit timeout: the entry is what was keyed.
  EntryMatch ended();
  const MenuOption* option() const { return option_; }
  const std::string& digits() const { return digits_; }

 private:
  EntryMatch lookup(bool final);

  const Menu& menu_;
  std::string digits_;
  const MenuOption* option_ = nullptr;
};

#define TANDEM_RULES_MENU_OUTCOMES(X) X(option) X(invalid) X(timeout)
#define TANDEM_RULES_ENUM_ITEM(name) name,
enum class MenuOutcome : uint8_t { TANDEM_RULES_MENU_OUTCOMES(TANDEM_RULES_ENUM_ITEM) };
#undef TANDEM_RULES_ENUM_ITEM
std::string_view name(MenuOutcome o);

// One entry in one menu. Pointers point into the snapshot.
struct MenuStep {
  const Menu* menu = nullptr;
  std::string entry;              // as given: "201#", "timeout"
  MenuOutcome outcome = MenuOutcome::option;
  const MenuOption* option = nullptr;
  uint8_t retry = 0;              // >0: the prompt again, retry `retry` of menu->retries
  const Action* action = nullptr; // null on a retry
  std::string ignored;            // keys after the entry was decided
};

struct MenuPath {
  std::string error;              // an entry that is not keys: nothing else is set
  std::vector<MenuStep> steps;
  const Action* action = nullptr; // where the call goes; null: still in `waiting`
  const Menu* waiting = nullptr;  // the menu that waits for an entry when they ran out
  size_t unused = 0;              // entries after the call left the menus
};

// From menu `menu_id` of a snapshot, each entry in turn: keys ("1", "201#",
// "201": ended by the inter-digit timeout) or "timeout" (no key at all).
MenuPath follow_menus(const Snapshot& s, Id menu_id, const std::vector<std::string>& entries);

}  // namespace tandem::rules
