// Runs $TANDEMCTL as an operator would, for the C++ integration tests of
// the DB commands (rules, cdr).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tandem::testing {

struct CtlRun {
  int status = -1;   // exit status; -1: did not run or was killed
  std::string out;
};

// `args` are shell words. With merge_stderr, stderr is in `out` too; else it goes to the test's log.
inline CtlRun run_tandemctl(const std::string& args, bool merge_stderr) {
  CtlRun r;
  const std::string cmd = std::string(std::getenv("TANDEMCTL")) + " " + args + (merge_stderr ? " 2>&1" : "");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace tandem::testing
