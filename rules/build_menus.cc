// The menus of Snapshot::build: checked, their options sorted for Entry's
// lookups (rules/menu.h). The prompt is checked as a path only: the file is
// checked when the menu is saved (tandemctl, prompt_wav.h), and read by the
// attendant at run time, where a missing one is that menu's failure, not a
// reason to refuse every other rule.
#include <algorithm>
#include <string>
#include <vector>

#include "rules/menu.h"
#include "rules/snapshot_builder.h"

namespace tandem::rules {

namespace {

constexpr uint16_t kMaxTimeoutS = 600;
constexpr uint16_t kMaxInterDigitS = 60;
constexpr uint8_t kMaxRetries = 9;

std::string menu_name(const Menu& m) { return "menu " + std::to_string(m.id) + " (" + m.name + ")"; }

void check_settings(Builder& b, const Menu& m) {
  const auto who = [&] { return menu_name(m); };
  if (!b.ix.customers.contains(m.customer_id)) {
    b.err.add(who() + ": customer " + std::to_string(m.customer_id) + " does not exist");
  }
  if (m.name.empty()) b.err.add(who() + ": no name");
  if (m.prompt.empty() || m.prompt[0] != '/') {
    b.err.add(who() + ": prompt \"" + m.prompt + "\" is not an absolute path");
  }
  if (m.timeout_s == 0 || m.timeout_s > kMaxTimeoutS) {
    b.err.add(who() + ": timeout " + std::to_string(m.timeout_s) + " s is not 1-" + std::to_string(kMaxTimeoutS));
  }
  if (m.inter_digit_timeout_s == 0 || m.inter_digit_timeout_s > kMaxInterDigitS) {
    b.err.add(who() + ": inter-digit timeout " + std::to_string(m.inter_digit_timeout_s) + " s is not 1-" +
              std::to_string(kMaxInterDigitS));
  }
  if (m.retries > kMaxRetries) {
    b.err.add(who() + ": " + std::to_string(m.retries) + " retries, at most " + std::to_string(kMaxRetries));
  }
}

void check_options(Builder& b, Menu& m) {
  std::sort(m.options.begin(), m.options.end(),
            [](const MenuOption& x, const MenuOption& y) { return x.digits < y.digits; });
  for (size_t i = 0; i < m.options.size(); ++i) {
    MenuOption& o = m.options[i];
    const auto who = [&] { return menu_name(m) + " option " + o.digits; };
    std::string why;
    if (!valid_entry(o.digits, why)) b.err.add(menu_name(m) + ": option " + why);
    if (i > 0 && m.options[i - 1].digits == o.digits) b.err.add(who() + ": given twice");
    b.check_action(o.action, m.customer_id, true, who);
  }
  for (auto [a, what] : {std::pair{&m.timeout_action, "timeout action"}, {&m.invalid_action, "invalid action"}}) {
    const auto who = [&] { return menu_name(m) + " " + what; };
    b.check_action(*a, m.customer_id, true, who);
    if (a->kind == ActionKind::repeat) b.err.add(who() + ": repeat (the retries play the prompt again)");
  }
}

// A caller who keys nothing goes from menu to menu by their timeout actions;
// if those lead back to where they started, the call would never end.
void check_timeout_loops(Builder& b) {
  const std::vector<Menu>& menus = b.d.menus;
  for (const Menu& start : menus) {
    std::string path = std::to_string(start.id);
    const Menu* m = &start;
    for (size_t hops = 0; hops < menus.size() && m->timeout_action.kind == ActionKind::menu; ++hops) {
      const auto next = b.ix.menus.find(m->timeout_action.menu_id);
      if (next == b.ix.menus.end()) break;  // reported as a bad reference
      m = &menus[next->second];
      path += " -> " + std::to_string(m->id);
      if (m == &start) {
        b.err.add(menu_name(start) + ": its timeout actions lead back to it (" + path +
                  "): a caller who keys nothing would never leave");
        break;
      }
    }
  }
}

}  // namespace

void build_menus(Builder& b) {
  for (Menu& m : b.d.menus) {
    check_settings(b, m);
    check_options(b, m);
  }
  check_timeout_loops(b);
}

}  // namespace tandem::rules
