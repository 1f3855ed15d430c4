// What every tandemctl command shares: the global options, the exit codes,
// and how a failure is told.
#pragma once

#include <string>

namespace tandem::ctl {

struct GlobalOptions {
  std::string socket = "/run/tandem/dataplane.sock";
  std::string control_socket = "/run/tandem/control.sock";  // tandem-control's
  std::string sbc_socket = "/run/tandem/sbc.sock";          // tandem-sbc's
  bool json = false;
};

// Exit codes: 0 done; 1 refused: the dataplane, the call server or a DB said
// no, cannot be reached or has no such thing; 2 bad usage.
inline constexpr int kRefused = 1;
inline constexpr int kUsage = 2;

// "tandemctl: why" on stderr; with --json, {"error": why, "code": code} on
// stdout instead, so that a script reads one format whatever happened.
// Sets exit_code to `code`.
void fail(const GlobalOptions& g, int& exit_code, const std::string& error, int code = kRefused);
// {"error": why, "code": code} on stdout: also for a command line that CLI11
// refuses, before the options are known (main.cc).
void print_json_error(const std::string& error, int code);

}  // namespace tandem::ctl
