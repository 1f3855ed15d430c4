#include "config_check/command_line.h"

#include <cstdio>
#include <string_view>

namespace tandem {

const char* version() { return TANDEM_VERSION; }

void standard_flags(CLI::App& app) {
  app.set_version_flag("--version", std::string(version()));
  app.allow_config_extras(CLI::config_extras_mode::error);
}

std::string usage_error(const CLI::App& app, const CLI::ParseError& e) {
  // CLI11 says "INI was not able to parse NAME" of a --config key that no option takes.
  constexpr std::string_view kExtra = "INI was not able to parse ";
  if (const std::string_view what = e.what(); dynamic_cast<const CLI::ConfigError*>(&e) && what.starts_with(kExtra)) {
    const std::string name(what.substr(kExtra.size()));
    // CLI11 names a [section] "NAME.++" (its start) or "NAME.--" (its end).
    if (name.ends_with(".++") || name.ends_with(".--"))
      return "the --config file has a section [" + name.substr(0, name.size() - 3) +
             "]: write its settings at the top, outside any section";
    return "the --config file sets '" + name + "', which is no option of this program (misspelt?)";
  }
  const auto unknown = app.remaining();
  if (!unknown.empty() && dynamic_cast<const CLI::RequiredError*>(&e)) {
    std::string list;
    for (const auto& a : unknown) list += (list.empty() ? "" : " ") + a;
    return "unknown option or argument: " + list;
  }
  return e.what();
}

int parse_command_line(CLI::App& app, int argc, char** argv, const std::string& program, const char* hint) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "%s: %s\n%s\n", program.c_str(), usage_error(app, e).c_str(), hint);
    return kUsageError;
  }
}

}  // namespace tandem
