#include "tools/tandemctl/sbc_commands.h"

#include <fmt/format.h>

#include <iostream>

#include "tools/tandemctl/call_commands.h"

namespace tandem::ctl {

namespace {

std::string text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

void print_servers(const GlobalOptions& g, const nlohmann::json& servers) {
  if (g.json) {
    std::cout << servers.dump(2) << "\n";
    return;
  }
  const char* row = "{:<12} {:<21} {:<6} {:<9} {:>10} {:>9} {:>7} {:>6} {:>10} {:>9}\n";
  std::cout << fmt::format(fmt::runtime(row), "NAME", "ADDRESS", "DC", "STATE", "LOAD", "IN_FLIGHT", "MISSED",
                           "RTT_MS", "CALLS_SENT", "FAILOVERS");
  for (const auto& s : servers) {
    const std::string load = text(s["load"]) + "/" + (s["capacity"] == 0 ? "?" : text(s["capacity"]));
    std::string state = text(s["state"]);
    if (!text(s["draining"]).empty()) state = "draining";
    std::cout << fmt::format(fmt::runtime(row), text(s["name"]), text(s["address"]), text(s["dc"]), state, load,
                             text(s["in_flight"]), text(s["probes_missed"]), text(s["rtt_ms"]),
                             text(s["calls_sent"]), text(s["failovers"]));
  }
}

}  // namespace

void add_sbc_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  auto* servers = app.add_subcommand("servers", "an SBC's call servers: DC, state, load, probes, calls, failovers "
                                                "(tandem-sbc at --sbc-socket)");
  auto list = [&g, &exit_code] {
    std::string e;
    auto r = control_request(g.sbc_socket, {{"cmd", "servers"}}, e);
    if (!r) return (void)fail(g, exit_code, e);
    print_servers(g, (*r)["servers"]);
  };
  servers->add_subcommand("list", "every server (the default)")->callback(list);
  static std::string name;
  for (const bool drain : {true, false}) {
    auto* sub = servers->add_subcommand(drain ? "drain" : "undrain",
                                        drain ? "send NAME no new calls; its calls in progress go on"
                                              : "send NAME new calls again");
    sub->add_option("NAME", name, "the server's name (--server NAME=...)")->required();
    sub->callback([&g, &exit_code, drain] {
      std::string e;
      auto r = control_request(g.sbc_socket, {{"cmd", drain ? "drain" : "undrain"}, {"server", name}}, e);
      if (!r) return (void)fail(g, exit_code, e);
      print_servers(g, nlohmann::json::array({*r}));
    });
  }
  servers->callback([servers, list] {
    if (servers->get_subcommands().empty()) list();
  });

  static bool exit_after = false;
  static uint32_t deadline_s = 600;
  for (const bool drain : {true, false}) {
    auto* sub = app.add_subcommand(drain ? "drain" : "undrain",
                                   drain ? "this call server takes no new calls from the SBCs (its OPTIONS answers "
                                           "say so); its calls go on: a restart without dropping one"
                                         : "this call server takes new calls again (and does not exit)");
    if (drain) {
      sub->add_flag("--exit", exit_after, "and exit (status 0) once its last call has ended: a graceful restart");
      sub->add_option("--deadline", deadline_s, "with --exit: seconds after which the calls still up are ended")
          ->check(CLI::Range(1u, 86400u))->capture_default_str();
    }
    sub->callback([&g, &exit_code, drain] {
      nlohmann::json request = {{"cmd", drain ? "drain" : "undrain"}};
      if (drain && exit_after) request.update({{"exit", true}, {"deadline_s", deadline_s}});
      std::string e;
      auto r = control_request(g.control_socket, request, e);
      if (!r) return (void)fail(g, exit_code, e);
      print_object(g, *r);
    });
  }
}

}  // namespace tandem::ctl
