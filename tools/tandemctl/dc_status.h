// tandemctl dc status: the two-DC system at a glance. Per DC its SBC (what it
// knows of the call servers, scraped from its --metrics-listen), its DB hosts'
// roles and replication (as tandemctl db status), who holds the virtual IP, and
// the lag of the replication from the other DC.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tools/tandemctl/cli.h"

namespace tandem::ctl {

// One --dc: "NAME,sbc=IPV4:PORT,vip=HOST[:PORT],db=HOST[:PORT]+HOST[:PORT]" (sbc: the SBC's metrics).
struct DcSpec {
  std::string name, sbc, vip;
  std::vector<std::string> db;
};
bool parse_dc_spec(const std::string& text, DcSpec& out, std::string& error);

void add_dc_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace tandem::ctl
