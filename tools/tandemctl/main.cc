// tandemctl: the operator's command line for a Tandem node.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string_view>

#include "config_check/command_line.h"
#include "tools/tandemctl/call_commands.h"
#include "tools/tandemctl/cdr_commands.h"
#include "tools/tandemctl/dataplane_commands.h"
#include "tools/tandemctl/db_commands.h"
#include "tools/tandemctl/dc_status.h"
#include "tools/tandemctl/portal_commands.h"
#include "tools/tandemctl/rules_commands.h"
#include "tools/tandemctl/sbc_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"tandemctl: operate a Tandem node (live calls and counters, dataplane sessions, routing rules, call records, DB schemas, portal accounts)", "tandemctl"};
  tandem::ctl::GlobalOptions g;
  int exit_code = 0;
  app.add_option("--socket", g.socket, "dataplane control socket")->capture_default_str();
  app.add_option("--control-socket", g.control_socket,
                 "tandem-control's operator socket (or tandem-sbc's, for stats)")->capture_default_str();
  app.add_option("--sbc-socket", g.sbc_socket, "tandem-sbc's operator socket (servers)")->capture_default_str();
  app.add_flag("--json", g.json, "machine-readable output");
  app.require_subcommand(1);
  tandem::standard_flags(app);
  app.fallthrough();
  tandem::ctl::add_dataplane_commands(app, g, exit_code);
  tandem::ctl::add_rules_commands(app, g, exit_code);
  tandem::ctl::add_cdr_commands(app, g, exit_code);
  tandem::ctl::add_db_commands(app, g, exit_code);
  tandem::ctl::add_dc_commands(app, g, exit_code);
  tandem::ctl::add_call_commands(app, g, exit_code);
  tandem::ctl::add_sbc_commands(app, g, exit_code);
  tandem::ctl::add_portal_commands(app, g, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and friends are "errors" that exit 0: CLI11 prints them.
    if (e.get_exit_code() == 0) return app.exit(e);
    const bool json = std::any_of(argv + 1, argv + argc, [](const char* a) { return std::string_view(a) == "--json"; });
    const std::string what = tandem::usage_error(app, e);
    if (!json) {
      std::fprintf(stderr, "tandemctl: %s\nRun with --help for the commands.\n", what.c_str());
      return tandem::ctl::kUsage;
    }
    tandem::ctl::print_json_error(what, tandem::ctl::kUsage);
    return tandem::ctl::kUsage;
  }
  return exit_code;
}
