#include "tools/tandemctl/cli.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

namespace tandem::ctl {

void print_json_error(const std::string& error, int code) {
  std::cout << nlohmann::json{{"error", error}, {"code", code}}.dump(2) << "\n";
}

void fail(const GlobalOptions& g, int& exit_code, const std::string& error, int code) {
  if (g.json) {
    print_json_error(error, code);
  } else {
    std::fprintf(stderr, "tandemctl: %s\n", error.c_str());
  }
  exit_code = code;
}

}  // namespace tandem::ctl
