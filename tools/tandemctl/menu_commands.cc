#include "tools/tandemctl/menu_commands.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "rules/explain.h"
#include "rules/prompt_wav.h"

namespace tandem::ctl {

namespace {

using namespace tandem::rules;

constexpr const char* kOptionHelp =
    "an option, KEYS=ACTION[:TARGET], repeatable; all the menu's options: 1=forward:+4930123, "
    "201=extension:201, 2=menu:8, 0=voicemail, *=repeat, #=hangup";

void print_menu(const Menu& m, bool json) {
  // The prompt as this machine sees it: saved menus were checked where they
  // were saved, and every call server must have the same file.
  PromptInfo info;
  std::string why;
  const bool usable = check_prompt_file(m.prompt, info, why);
  if (!json) {
    std::cout << describe(m) << "prompt here: " << (usable ? describe(info) : "NOT USABLE: " + why) << "\n";
    return;
  }
  nlohmann::json prompt{{"path", m.prompt}, {"usable", usable}};
  if (usable) {
    prompt["encoding"] = std::string(name(info.encoding));
    prompt["duration_ms"] = info.duration_ms;
  } else {
    prompt["error"] = why;
  }
  nlohmann::json options = nlohmann::json::array();
  for (const auto& o : m.options) {
    options.push_back({{"keys", o.digits}, {"action", std::string(name(o.action.kind))},
                       {"target", format_target(o.action)}, {"text", describe(o.action)}});
  }
  std::cout << nlohmann::json{{"id", m.id},
                              {"customer_id", m.customer_id},
                              {"name", m.name},
                              {"prompt", prompt},
                              {"timeout_s", m.timeout_s},
                              {"inter_digit_timeout_s", m.inter_digit_timeout_s},
                              {"retries", m.retries},
                              {"options", options},
                              {"timeout_action", describe(m.timeout_action)},
                              {"invalid_action", describe(m.invalid_action)}}
                   .dump(2)
            << "\n";
}

// What `add` and `edit` take besides the id.
struct SaveArgs {
  std::vector<std::string> fields, options;
  bool no_options = false;
};

void add_save_arguments(CLI::App* cmd, SaveArgs& a, bool edit) {
  auto* fields = cmd->add_option("COLUMN=VALUE", a.fields,
                                 "the menu's columns: customer (name), name, prompt (an absolute path to a WAV "
                                 "file: 8 kHz mono, 16-bit PCM or G.711), timeout_s, inter_digit_timeout_s, "
                                 "retries, timeout_action, timeout_target, invalid_action, invalid_target");
  if (!edit) fields->required();
  cmd->add_option("--option", a.options, kOptionHelp)->allow_extra_args(false);
  if (edit) cmd->add_flag("--no-options", a.no_options, "remove every option");
}

// Saves and reports; `id` 0: a new menu.
void save(const RulesDbOptions& db, GlobalOptions& g, int& exit_code, Id id, const SaveArgs& a) {
  MenuChange change;
  change.id = id;
  std::string e;
  if (!parse_fields(a.fields, change.fields, e)) return (void)fail(g, exit_code, e, kUsage);
  if (a.no_options && !a.options.empty()) {
    return (void)fail(g, exit_code, "--no-options and --option together", kUsage);
  }
  if (!a.options.empty() || a.no_options || id == 0) change.options = a.options;
  Store store(db.config(), db.plan);
  Id saved = 0;
  if (!store.save_menu(change, saved, e)) return (void)fail(g, exit_code, e);
  if (g.json) {
    std::cout << nlohmann::json{{"saved", saved}}.dump() << "\n";
  } else {
    std::cout << (id ? "saved menu " : "added menu ") << saved << "\n";
  }
}

}  // namespace

void add_menu_commands(CLI::App* rules, const RulesDbOptions& db, GlobalOptions& g, int& exit_code) {
  CLI::App* menus = rules->add_subcommand("menus", "the attendant's menus, each with its options");
  menus->require_subcommand(1);
  menus->fallthrough();

  menus->add_subcommand("list", "every menu (options: rules list menu_options)")
      ->fallthrough()
      ->callback([&db, &g, &exit_code] {
        Store store(db.config(), db.plan);
        std::string csv, e;
        if (!store.export_csv("menus", csv, e)) return (void)fail(g, exit_code, e);
        print_table(csv, g.json);
      });

  auto* show = menus->add_subcommand("show", "a menu, its options, and its prompt as this machine reads it");
  static Id show_id = 0;
  show->add_option("ID", show_id, "menu id")->required();
  show->fallthrough()->callback([&db, &g, &exit_code] {
    Store store(db.config(), db.plan);
    Menu m;
    bool found = false;
    std::string e;
    if (!store.load_menu(show_id, m, found, e)) return (void)fail(g, exit_code, e);
    if (!found) return (void)fail(g, exit_code, "no menu " + std::to_string(show_id));
    print_menu(m, g.json);
  });

  auto* add = menus->add_subcommand(
      "add", "add a menu: customer=Acme name=main prompt=/var/lib/tandem/prompts/main.wav --option 1=voicemail");
  static SaveArgs add_args;
  add_save_arguments(add, add_args, false);
  add->fallthrough()->callback([&db, &g, &exit_code] { save(db, g, exit_code, 0, add_args); });

  auto* edit = menus->add_subcommand(
      "edit", "change a menu: the columns given; with --option, all its options (without, they stay)");
  static Id edit_id = 0;
  static SaveArgs edit_args;
  edit->add_option("ID", edit_id, "menu id")->required();
  add_save_arguments(edit, edit_args, true);
  edit->fallthrough()->callback([&db, &g, &exit_code] { save(db, g, exit_code, edit_id, edit_args); });

  auto* del = menus->add_subcommand("delete", "delete a menu and its options (refused while a rule uses it)");
  static Id delete_id = 0;
  del->add_option("ID", delete_id, "menu id")->required();
  del->fallthrough()->callback([&db, &g, &exit_code] {
    Store store(db.config(), db.plan);
    bool found = false;
    std::string e;
    if (!store.remove("menus", delete_id, found, e)) return (void)fail(g, exit_code, e);
    if (!found) return (void)fail(g, exit_code, "no menu " + std::to_string(delete_id));
    std::cout << "deleted menu " << delete_id << "\n";
  });
}

}  // namespace tandem::ctl
